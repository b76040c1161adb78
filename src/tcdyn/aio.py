"""Asynchronous clients: ``tcdyn.aio.Queue`` has the methods of ``tcdyn.Queue``, awaitable,
on an ``httpx.AsyncClient``; ``async with tcdyn.aio.Queue(...) as q: await q.task(id)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the bundled classes, typed by the generated _services/aio.pyi
    from ._services import aio as _aio
    from ._services.aio import *  # noqa: F403

    __all__: list[str] = []
    __all__ += _aio.__all__
else:
    def __getattr__(name: str) -> Any:
        if not name[:1].isupper():
            raise AttributeError(f"module 'tcdyn.aio' has no attribute {name!r}")
        from .deployment import default_class

        value = default_class(name, asynchronous=True)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    from .deployment import default

    return sorted({*globals(), *default().references.names()})
