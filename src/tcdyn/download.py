"""``tcdyn.download``: downloads of objects and artifacts (as ``taskcluster.download``); the
code, written once for this and the async form ``tcdyn.aio.download``, is
``tcdyn.transfer.download``."""

from __future__ import annotations

from .transfer import download as _download
from .transfer.flavours import blocking
from .transfer.hashing import verifyHashes as verifyHashes

__all__ = ["download", "downloadArtifact", "downloadArtifactToBuf", "downloadArtifactToFile",
           "downloadToBuf", "downloadToFile", "verifyHashes"]

download = blocking(_download.download)
downloadToBuf = blocking(_download.downloadToBuf)
downloadToFile = blocking(_download.downloadToFile)
downloadArtifact = blocking(_download.downloadArtifact)
downloadArtifactToBuf = blocking(_download.downloadArtifactToBuf)
downloadArtifactToFile = blocking(_download.downloadArtifactToFile)
