"""``tcdyn.download``: downloads of objects and artifacts (as ``taskcluster.download``); the
code is ``tcdyn.transfer.download``, the async form ``tcdyn.aio.download``."""

from __future__ import annotations

from .transfer.download import download as download
from .transfer.download import downloadArtifact as downloadArtifact
from .transfer.download import downloadArtifactToBuf as downloadArtifactToBuf
from .transfer.download import downloadArtifactToFile as downloadArtifactToFile
from .transfer.download import downloadToBuf as downloadToBuf
from .transfer.download import downloadToFile as downloadToFile
from .transfer.download import verifyHashes as verifyHashes

__all__ = ["download", "downloadArtifact", "downloadArtifactToBuf", "downloadArtifactToFile",
           "downloadToBuf", "downloadToFile", "verifyHashes"]
