"""``tcdyn.aio.upload``: the async form of ``tcdyn.upload`` (as ``taskcluster.aio.upload``): the
reader factory, the reader's ``read`` and the object client may be sync or async."""

from __future__ import annotations

from ..transfer import upload as _upload
from ..transfer.flavours import awaiting
from ..transfer.upload import DATA_INLINE_MAX_SIZE as DATA_INLINE_MAX_SIZE

__all__ = ["DATA_INLINE_MAX_SIZE", "upload", "uploadFromBuf", "uploadFromFile"]

upload = awaiting(_upload.upload)
uploadFromBuf = awaiting(_upload.uploadFromBuf)
uploadFromFile = awaiting(_upload.uploadFromFile)
