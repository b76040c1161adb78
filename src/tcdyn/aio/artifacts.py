"""``tcdyn.aio.artifacts``: the async form of ``tcdyn.artifacts`` (``publish`` for
``tcdyn.aio.Queue``)."""

from __future__ import annotations

from ..transfer import artifacts as _artifacts
from ..transfer.artifacts import ProgressBar as ProgressBar
from ..transfer.artifacts import guess_content_type as guess_content_type
from ..transfer.artifacts import progress_bar as progress_bar
from ..transfer.flavours import awaiting

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]

publish = awaiting(_artifacts.publish)
