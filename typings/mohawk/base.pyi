from collections.abc import Mapping
from typing import Any

class HawkEmptyValue: ...

EmptyValue: HawkEmptyValue

class HawkAuthority: ...

class Resource:
    credentials: dict[str, Any]
    method: str
    ext: str | None
    timestamp: str
    nonce: str | None
    def __init__(self, *, credentials: Mapping[str, Any], method: str, url: str,
                 content: bytes | str | HawkEmptyValue = ...,
                 content_type: str | HawkEmptyValue = ..., always_hash_content: bool = ...,
                 ext: str | None = ..., app: str | None = ..., dlg: str | None = ...,
                 timestamp: int | str | None = ..., nonce: str | None = ...,
                 seen_nonce: Any = ...) -> None: ...
