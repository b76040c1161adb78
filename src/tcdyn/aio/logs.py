"""``tcdyn.aio.logs``: the async form of ``tcdyn.logs`` (``async for piece in
follow(queue, taskId)``), and ``follow_group``, every task of a task group with each line
marked by its task (code: ``tcdyn.workflow.follow``, ``tcdyn.workflow.group_logs``)."""

from __future__ import annotations

from ..workflow.follow import AsyncFollower as AsyncFollower
from ..workflow.follow import afollow as follow
from ..workflow.group_logs import GroupFollower as GroupFollower
from ..workflow.group_logs import GroupLine as GroupLine
from ..workflow.group_logs import afollow_group as follow_group
from ..workflow.logs import FollowOptions as FollowOptions
from ..workflow.logs import LogData as LogData
from ..workflow.logs import Outcome as Outcome

__all__ = ["AsyncFollower", "FollowOptions", "GroupFollower", "GroupLine", "LogData", "Outcome",
           "follow", "follow_group"]
