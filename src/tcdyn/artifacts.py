"""``tcdyn.artifacts``: publishing a file as a task's artifact, and a progress bar; the code is
``tcdyn.transfer.artifacts``, the async form ``tcdyn.aio.artifacts``."""

from __future__ import annotations

from .transfer.artifacts import ProgressBar as ProgressBar
from .transfer.artifacts import guess_content_type as guess_content_type
from .transfer.artifacts import progress_bar as progress_bar
from .transfer.artifacts import publish as publish

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]
