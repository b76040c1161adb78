from collections.abc import Callable, Mapping
from typing import Any

from .base import HawkAuthority, HawkEmptyValue

class Receiver(HawkAuthority):
    response_header: str | None
    def __init__(self, credentials_map: Callable[[str], Mapping[str, Any]],
                 request_header: str, url: str, method: str,
                 content: bytes | str | HawkEmptyValue = ...,
                 content_type: str | HawkEmptyValue = ...,
                 seen_nonce: Callable[..., bool] | None = ...,
                 localtime_offset_in_seconds: float = ...,
                 accept_untrusted_content: bool = ...,
                 timestamp_skew_in_seconds: float = ..., **auth_kw: Any) -> None: ...
