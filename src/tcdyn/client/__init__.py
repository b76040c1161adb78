"""The base classes of every built class: ``ClientBase`` (``base``: every decision the sync
and async clients share), ``Client`` and ``AsyncClient`` (``clients``: their I/O only), and
``BaseEvents`` with the routing-key rules of exchanges (``events``, public as
``tcdyn.exchanges``).

``tcdyn.client.Client``, ``AsyncClient``, ``api_base_url``, ``LEGACY_ROOT_URL`` and
``SCOPES_TTL`` (the names generated typing stubs import) are imported on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clients import LEGACY_ROOT_URL as LEGACY_ROOT_URL
    from .clients import SCOPES_TTL as SCOPES_TTL
    from .clients import AsyncClient as AsyncClient
    from .clients import Client as Client
    from .clients import api_base_url as api_base_url

__all__ = ["LEGACY_ROOT_URL", "SCOPES_TTL", "AsyncClient", "Client", "api_base_url"]

if not TYPE_CHECKING:
    def __getattr__(name: str) -> Any:
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from . import clients

        value = getattr(clients, name)
        globals()[name] = value
        return value
