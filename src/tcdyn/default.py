"""The default deployment: the one behind ``tcdyn.Queue`` and ``tcdyn.aio.Queue``.

Its references are ``$TASKCLUSTER_REFERENCES`` (a directory) or the bundled ones, read when
the first class is asked for.
"""

from __future__ import annotations

from . import environment
from .deployment import Deployment, building
from .references.index import ReferenceSet

_default: Deployment | None = None


def default() -> Deployment:
    """The deployment behind ``tcdyn.Queue``: ``$TASKCLUSTER_REFERENCES`` or the bundle."""
    global _default
    if _default is None:
        env = environment.value(environment.REFERENCES)
        refs = ReferenceSet.from_directory(env) if env else ReferenceSet.bundled()
        if not env:
            refs.origin = "bundled"
        _default = Deployment(refs)
    return _default


def default_class(name: str, *, asynchronous: bool = False) -> type:
    """``tcdyn.<name>`` / ``tcdyn.aio.<name>``: a class of the default deployment."""
    module = "tcdyn.aio" if asynchronous else "tcdyn"
    source = environment.value(environment.REFERENCES) or "the bundled references"
    deployment = building(name, source, default)
    return deployment.service_class(name, asynchronous=asynchronous,
                                    owner=f"module {module!r}")
