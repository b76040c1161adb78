"""``tcdyn.aio.download``: the async form of ``tcdyn.download`` (as
``taskcluster.aio.download``): writer factories, writers' ``write`` and service clients may be
sync or async."""

from __future__ import annotations

from ..transfer import download as _download
from ..transfer.flavours import awaiting
from ..transfer.hashing import verifyHashes as verifyHashes

__all__ = ["download", "downloadArtifact", "downloadArtifactToBuf", "downloadArtifactToFile",
           "downloadToBuf", "downloadToFile", "verifyHashes"]

download = awaiting(_download.download)
downloadToBuf = awaiting(_download.downloadToBuf)
downloadToFile = awaiting(_download.downloadToFile)
downloadArtifact = awaiting(_download.downloadArtifact)
downloadArtifactToBuf = awaiting(_download.downloadArtifactToBuf)
downloadArtifactToFile = awaiting(_download.downloadArtifactToFile)
