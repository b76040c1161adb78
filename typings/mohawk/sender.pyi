from collections.abc import Mapping
from typing import Any

from .base import HawkAuthority, HawkEmptyValue

class Sender(HawkAuthority):
    request_header: str
    def __init__(self, credentials: Mapping[str, Any], url: str, method: str,
                 content: bytes | str | HawkEmptyValue = ...,
                 content_type: str | HawkEmptyValue = ..., always_hash_content: bool = ...,
                 nonce: str | None = ..., ext: str | None = ..., app: str | None = ...,
                 dlg: str | None = ..., seen_nonce: Any = ..., _timestamp: int | None = ...
                 ) -> None: ...
