"""Typed payloads and responses of the bundled services: a ``TypedDict`` per input and
output schema (``QueueCreateTaskRequest``, ``QueueTask``, ``QueueTaskStatusResponse``,
...), the types the stubs give ``tcdyn.Queue`` & co.'s methods.

Generated from the references into ``tcdyn/_services/types.py`` (``tcdyn stubs`` writes a
deployment's own as ``types.pyi``); importing this module is what loads it.
"""

from typing import TYPE_CHECKING

from ._services.types import *  # noqa: F403

if not TYPE_CHECKING:  # type checkers take the star import's names as this module's
    from ._services import types as _generated

    __all__ = _generated.__all__
