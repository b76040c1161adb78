"""``tcdyn.aio.download``: the async form of ``tcdyn.download`` (code:
``tcdyn.transfer.aio_download``)."""

from __future__ import annotations

from ..transfer.aio_download import download as download
from ..transfer.aio_download import downloadArtifact as downloadArtifact
from ..transfer.aio_download import downloadArtifactToBuf as downloadArtifactToBuf
from ..transfer.aio_download import downloadArtifactToFile as downloadArtifactToFile
from ..transfer.aio_download import downloadToBuf as downloadToBuf
from ..transfer.aio_download import downloadToFile as downloadToFile
from ..transfer.aio_download import verifyHashes as verifyHashes

__all__ = ["download", "downloadArtifact", "downloadArtifactToBuf", "downloadArtifactToFile",
           "downloadToBuf", "downloadToFile", "verifyHashes"]
