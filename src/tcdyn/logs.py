"""``tcdyn.logs``: follow a task's log to its end (``follow``); the async form, and a whole
task group's logs, are ``tcdyn.aio.logs``. The code is ``tcdyn.workflow.logs`` (the flow)
and ``tcdyn.workflow.follow`` (its drivers)::

    follower = tcdyn.logs.follow(queue, taskId)
    for piece in follower:
        sys.stdout.buffer.write(piece.data)
    sys.exit(follower.outcome.exit_code)   # 0 completed, 10 failed, 11 exception, 12 deadline
"""

from __future__ import annotations

from .workflow.follow import Follower as Follower
from .workflow.follow import follow as follow
from .workflow.logs import BACKING_LOG as BACKING_LOG
from .workflow.logs import DEADLINE_EXCEEDED as DEADLINE_EXCEEDED
from .workflow.logs import EXCEPTION as EXCEPTION
from .workflow.logs import FAILED as FAILED
from .workflow.logs import LIVE_LOG as LIVE_LOG
from .workflow.logs import FollowOptions as FollowOptions
from .workflow.logs import LineSplitter as LineSplitter
from .workflow.logs import LogData as LogData
from .workflow.logs import Outcome as Outcome

__all__ = ["BACKING_LOG", "DEADLINE_EXCEEDED", "EXCEPTION", "FAILED", "LIVE_LOG", "FollowOptions",
           "Follower", "LineSplitter", "LogData", "Outcome", "follow"]
