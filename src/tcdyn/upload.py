"""``tcdyn.upload``: uploads to the object service (as ``taskcluster.upload``); the code is
``tcdyn.transfer.upload``, the async form ``tcdyn.aio.upload``."""

from __future__ import annotations

from .transfer.upload import DATA_INLINE_MAX_SIZE as DATA_INLINE_MAX_SIZE
from .transfer.upload import upload as upload
from .transfer.upload import uploadFromBuf as uploadFromBuf
from .transfer.upload import uploadFromFile as uploadFromFile

__all__ = ["DATA_INLINE_MAX_SIZE", "upload", "uploadFromBuf", "uploadFromFile"]
