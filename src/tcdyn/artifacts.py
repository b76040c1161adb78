"""``tcdyn.artifacts``: publishing a file as a task's artifact, and a progress bar; the code,
written once for this and the async form ``tcdyn.aio.artifacts``, is
``tcdyn.transfer.artifacts``."""

from __future__ import annotations

from .transfer import artifacts as _artifacts
from .transfer.artifacts import ProgressBar as ProgressBar
from .transfer.artifacts import guess_content_type as guess_content_type
from .transfer.artifacts import progress_bar as progress_bar
from .transfer.flavours import blocking

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]

publish = blocking(_artifacts.publish)
