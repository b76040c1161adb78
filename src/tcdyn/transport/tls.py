"""The one SSL context of every client tcdyn creates, made on the first TLS handshake (a
client that only talks http:// never loads a CA bundle); ``LAZY_TLS`` stands for it where a
pool is made before any handshake."""

from __future__ import annotations

import threading
from typing import Any

import httpx

_ssl_lock = threading.Lock()
_ssl: Any = None


def shared_ssl_context() -> Any:
    """httpx's default SSL context (its CA bundle, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``),
    created once per process and shared by every client tcdyn creates."""
    global _ssl
    if _ssl is None:
        with _ssl_lock:
            if _ssl is None:
                context = httpx.create_ssl_context()
                context.set_alpn_protocols(["http/1.1"])
                _ssl = context
    return _ssl


class _LazyTLS:
    """The ``ssl_context`` httpcore is given for a pool whose streams are ``_Stream``s: it
    stands for ``shared_ssl_context()``, which ``_Stream.start_tls`` takes only when a handshake
    happens (httpcore sets the ALPN protocols on it; tcdyn speaks HTTP/1.1 only)."""

    def set_alpn_protocols(self, protocols: Any) -> None:
        pass


LAZY_TLS: Any = _LazyTLS()
