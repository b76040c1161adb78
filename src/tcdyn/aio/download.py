"""``tcdyn.aio.download``: the async form of ``tcdyn.download`` (as
``taskcluster.aio.download``): writer factories, writers' ``write`` and service clients may be
sync or async. ``HashingWriter`` is the official one (a writer that hashes what it writes)."""

from __future__ import annotations

from typing import Any

from ..transfer import download as _download
from ..transfer.flavours import awaiting
from ..transfer.hashing import Hashes
from ..transfer.hashing import verifyHashes as verifyHashes

__all__ = ["HashingWriter", "download", "downloadArtifact", "downloadArtifactToBuf",
           "downloadArtifactToFile", "downloadToBuf", "downloadToFile", "verifyHashes"]

download = awaiting(_download.download)
downloadToBuf = awaiting(_download.downloadToBuf)
downloadToFile = awaiting(_download.downloadToFile)
downloadArtifact = awaiting(_download.downloadArtifact)
downloadArtifactToBuf = awaiting(_download.downloadArtifactToBuf)
downloadArtifactToFile = awaiting(_download.downloadArtifactToFile)


class HashingWriter:
    """A writer (async ``write(chunk)``) that hashes what it passes on to ``inner``, as the
    official ``taskcluster.aio.download.HashingWriter``: ``hashes()`` are its sha256 and
    sha512, in the form the object service records them (``verifyHashes`` compares them)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._hashes = Hashes()

    async def write(self, chunk: bytes) -> None:
        await self.inner.write(chunk)
        self.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._hashes.update(bytes(chunk))

    def hashes(self) -> dict[str, str]:
        return self._hashes.hexdigests()
