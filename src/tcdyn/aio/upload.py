"""``tcdyn.aio.upload``: the async form of ``tcdyn.upload`` (code:
``tcdyn.transfer.aio_upload``)."""

from __future__ import annotations

from ..transfer.aio_upload import DATA_INLINE_MAX_SIZE as DATA_INLINE_MAX_SIZE
from ..transfer.aio_upload import upload as upload
from ..transfer.aio_upload import uploadFromBuf as uploadFromBuf
from ..transfer.aio_upload import uploadFromFile as uploadFromFile

__all__ = ["DATA_INLINE_MAX_SIZE", "upload", "uploadFromBuf", "uploadFromFile"]
