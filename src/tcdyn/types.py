"""Typed payloads and responses of the bundled services: a ``TypedDict`` per input and
output schema (``QueueCreateTaskRequest``, ``QueueTask``, ``QueueTaskStatusResponse``,
...), the types the stubs give ``tcdyn.Queue`` & co.'s methods.

Generated from the references into ``tcdyn/_services/types.py`` (``tcdyn stubs`` writes a
deployment's own as ``types.pyi``); importing this module is what loads it.
"""

from __future__ import annotations

from . import _services
from ._services.types import *  # noqa: F403

__all__: list[str] = []
__all__ += _services.types.__all__
