"""The import shim of the official tests: ``taskcluster`` is tcdyn (tests/official/README.md).

``import taskcluster`` (found first on ``sys.path`` in the harness's pytest process) puts in
``sys.modules`` every official import path, each mapped to tcdyn's as a user moving over
rewrites it (``harness.IMPORTS``): ``taskcluster.exceptions`` is ``tcdyn.exceptions``, the
service modules ``taskcluster.queue`` / ``taskcluster.aio.queue`` hold ``tcdyn.Queue`` /
``tcdyn.aio.Queue``. What tcdyn has no name for (``createApiClient``, the global ``config``)
is ``harness.createApiClient`` and a dict tcdyn never reads. No behaviour is added here.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any

import harness

if os.environ.get(harness.TARGET_VARIABLE, "tcdyn") != "tcdyn":
    raise ImportError(f"the shim is for {harness.TARGET_VARIABLE}=tcdyn")


class _Proxy(types.ModuleType):
    """A module whose names are those of a tcdyn module (and the extras given)."""

    def __init__(self, name: str, target: str, extras: dict[str, Any]) -> None:
        super().__init__(name, f"{name} (the shim: {target})")
        self.__path__: list[str] = []  # a package, so that submodules can be imported
        self._target = target
        self.__dict__.update(extras)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._target), attr)


def _client_names(asynchronous: bool) -> dict[str, Any]:
    """What the official client module (``taskcluster.client``) offers besides classes and
    ``createSession`` (tcdyn's, or tcdyn.aio's, through ``_Proxy``)."""
    import tcdyn

    return {"createApiClient": harness.api_client_factory(asynchronous),
            "createTemporaryCredentials": tcdyn.createTemporaryCredentials,
            "config": harness.OFFICIAL_CONFIG, "_defaultConfig": harness.OFFICIAL_CONFIG}


def _install() -> None:
    import tcdyn

    here = sys.modules[__name__]
    sys.modules["taskcluster"] = _Proxy("taskcluster", "tcdyn", {})
    top = sys.modules["taskcluster"]
    top.__dict__["__shim__"] = here
    for official, target in harness.IMPORTS.items():
        if official == "taskcluster":
            continue
        if official == "taskcluster.aio":
            module: types.ModuleType = _Proxy(official, target, {})
        else:
            try:
                module = importlib.import_module(target)
            except ModuleNotFoundError:  # tcdyn has none: importing it fails as it would
                continue
        sys.modules[official] = module
    sys.modules["taskcluster.client"] = _Proxy("taskcluster.client", "tcdyn",
                                               _client_names(False))
    for module_name, class_name in harness.service_modules(tcdyn).items():
        for prefix, asynchronous in (("taskcluster", False), ("taskcluster.aio", True)):
            name = f"{prefix}.{module_name}"
            owner = "tcdyn.aio" if asynchronous else "tcdyn"
            extras = _client_names(asynchronous)
            extras[class_name] = getattr(importlib.import_module(owner), class_name)
            sys.modules[name] = _Proxy(name, owner, extras)
    for name, module in list(sys.modules.items()):  # parents know their children
        parent, _, child = name.rpartition(".")
        if name.startswith("taskcluster.") and parent in sys.modules and parent.startswith(
                "taskcluster"):
            sys.modules[parent].__dict__.setdefault(child, module)


_install()
