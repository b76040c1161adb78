"""Asynchronous clients: ``tcdyn.aio.Queue`` has the methods of ``tcdyn.Queue``, awaitable;
``async with tcdyn.aio.Queue(...) as q: await q.task(id)``. A client tcdyn creates sends with
aiohttp (``tcdyn.transport.aiohttp_transport``); one given ``client=httpx.AsyncClient(...)``
or an ``auth=`` of the user's sends with httpx.

``tcdyn.aio.upload``, ``tcdyn.aio.download``, ``tcdyn.aio.artifacts`` and ``tcdyn.aio.logs``
(modules of this package, imported on first access) are the async forms of ``tcdyn.upload``,
``tcdyn.download``, ``tcdyn.artifacts`` and ``tcdyn.logs``; ``await tcdyn.aio.timeline(queue,
groupId)`` is ``tcdyn.timeline``'s. ``tcdyn.aio.reader_writer`` and ``createSession`` are the
official ``taskcluster.aio`` ones (the session: an ``httpx.AsyncClient``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

#: Lower-case names: the async helper modules, imported on first access.
_MODULES = ("artifacts", "download", "logs", "reader_writer", "upload")

if TYPE_CHECKING:  # the bundled classes, typed by the generated _services/aio.pyi
    from .._services import aio as _aio
    from .._services.aio import *  # noqa: F403
    from ..views.timeline import timeline_async as timeline
    from . import artifacts as artifacts
    from . import download as download
    from . import logs as logs
    from . import reader_writer as reader_writer
    from . import upload as upload

    __all__: list[str] = ["artifacts", "createSession", "download", "logs", "reader_writer",
                          "timeline", "upload"]
    __all__ += _aio.__all__
else:
    def __getattr__(name: str) -> Any:
        if name in _MODULES:
            import importlib

            value = importlib.import_module(f".{name}", __name__)
        elif name == "timeline":
            from ..views.timeline import timeline_async as value
        elif not name[:1].isupper():
            raise AttributeError(f"module 'tcdyn.aio' has no attribute {name!r}")
        else:
            from ..default import default_class

            value = default_class(name, asynchronous=True)
        globals()[name] = value
        return value


def createSession(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
    """A new ``httpx.AsyncClient`` (the official one gives an ``aiohttp.ClientSession``), to
    pass as ``session=`` to several async clients so that they share one pool; closing them
    leaves it open (``async with tcdyn.aio.createSession() as session: ...``)."""
    import httpx

    return httpx.AsyncClient(*args, **kwargs)


def __dir__() -> list[str]:
    from ..default import default

    return sorted({*globals(), *_MODULES, "timeline", *default().references.names()})
