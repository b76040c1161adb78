"""``tcdyn.aio.upload``: the async form of ``tcdyn.upload`` (as ``taskcluster.aio.upload``): the
reader factory, the reader's ``read`` and the object client may be sync or async.
``HashingReader`` is the official one (a reader that hashes what it gives)."""

from __future__ import annotations

import builtins
from typing import Any

from ..transfer import upload as _upload
from ..transfer.flavours import awaiting
from ..transfer.hashing import Hashes
from ..transfer.upload import DATA_INLINE_MAX_SIZE as DATA_INLINE_MAX_SIZE

__all__ = ["DATA_INLINE_MAX_SIZE", "HashingReader", "upload", "uploadFromBuf",
           "uploadFromFile"]

upload = awaiting(_upload.upload)
uploadFromBuf = awaiting(_upload.uploadFromBuf)
uploadFromFile = awaiting(_upload.uploadFromFile)


class HashingReader:
    """A reader (async ``read(max_size)``) that hashes what ``inner`` gives, as the official
    ``taskcluster.aio.upload.HashingReader``: ``hashes(contentLength)`` are its sha256 and
    sha512, after checking that ``contentLength`` bytes were read (else ``RuntimeError``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._hashes = Hashes()

    @property
    def bytes(self) -> int:
        """How many bytes were read so far."""
        return self._hashes.count

    async def read(self, max_size: int) -> builtins.bytes:  # (``bytes`` is the count here)
        chunk: builtins.bytes = await self.inner.read(max_size)
        self.update(chunk)
        return chunk

    def update(self, chunk: builtins.bytes) -> None:
        self._hashes.update(builtins.bytes(chunk))

    def hashes(self, contentLength: int) -> dict[str, str]:
        if contentLength != self.bytes:
            raise RuntimeError(f"hashed {self.bytes} bytes but content length is "
                               f"{contentLength}")
        return self._hashes.hexdigests()
