"""``tcdyn.aio.artifacts``: the async form of ``tcdyn.artifacts`` (code:
``tcdyn.transfer.aio_artifacts``)."""

from __future__ import annotations

from ..transfer.aio_artifacts import ProgressBar as ProgressBar
from ..transfer.aio_artifacts import guess_content_type as guess_content_type
from ..transfer.aio_artifacts import progress_bar as progress_bar
from ..transfer.aio_artifacts import publish as publish

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]
