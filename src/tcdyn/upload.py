"""``tcdyn.upload``: uploads to the object service (as ``taskcluster.upload``); the code, written
once for this and the async form ``tcdyn.aio.upload``, is ``tcdyn.transfer.upload``."""

from __future__ import annotations

from .transfer import upload as _upload
from .transfer.flavours import blocking
from .transfer.upload import DATA_INLINE_MAX_SIZE as DATA_INLINE_MAX_SIZE

__all__ = ["DATA_INLINE_MAX_SIZE", "upload", "uploadFromBuf", "uploadFromFile"]

upload = blocking(_upload.upload)
uploadFromBuf = blocking(_upload.uploadFromBuf)
uploadFromFile = blocking(_upload.uploadFromFile)
