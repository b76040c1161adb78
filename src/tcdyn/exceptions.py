"""The official client's ``taskcluster.exceptions`` names, for ``except`` clauses that move
over by changing the import: the very classes tcdyn raises (``tcdyn.errors`` holds them
all, with tcdyn's finer subclasses such as ``ResourceNotFound``)."""

from __future__ import annotations

from .errors import (
    ObjectHashVerificationError,
    TaskclusterArtifactError,
    TaskclusterAuthFailure,
    TaskclusterConnectionError,
    TaskclusterFailure,
    TaskclusterRestFailure,
    TaskclusterTopicExchangeFailure,
)

__all__ = ["ObjectHashVerificationError", "TaskclusterArtifactError", "TaskclusterAuthFailure",
           "TaskclusterConnectionError", "TaskclusterFailure", "TaskclusterRestFailure",
           "TaskclusterTopicExchangeFailure"]
