"""Workflows over the API, the library side of the command's everyday tasks: following a
task's or a group's log (``logs``, ``reading``, ``follow``, ``group_logs``), retriggering
(``retrigger``) and the guarded actions that end or repeat work (``actions``), the views of
tasks, groups, queues and pools (``views``), and a task made in one line (``tasks``). Each
is a sans-IO flow (``flow``) that sync and async clients drive alike; ``tcdyn ...`` commands
are thin layers over them. The modules are imported on first access
(``tcdyn.workflow.retrigger.retrigger(queue, taskId)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_MODULES = ("actions", "flow", "follow", "group_logs", "logs", "reading", "retrigger",
            "tasks", "views")

if TYPE_CHECKING:
    from . import actions as actions
    from . import flow as flow
    from . import follow as follow
    from . import group_logs as group_logs
    from . import logs as logs
    from . import reading as reading
    from . import retrigger as retrigger
    from . import tasks as tasks
    from . import views as views
else:
    def __getattr__(name: str) -> Any:
        if name not in _MODULES:
            raise AttributeError(f"module 'tcdyn.workflow' has no attribute {name!r}")
        import importlib

        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES})
