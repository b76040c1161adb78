"""``tcdyn.aio.artifacts``: ``tcdyn.artifacts.publish`` for ``tcdyn.aio.Queue``."""

from __future__ import annotations

import os
from typing import Any

from . import transfer as tr
from .artifacts import ProgressBar, _Publish, guess_content_type, progress_bar
from .errors import InsufficientScopes
from .transfer import aw

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]


async def publish(queue: Any, taskId: str, runId: int, name: str,
                  path: str | os.PathLike[str], contentType: str | None = None,
                  expires: Any = None, *, maxRetries: int = 5,
                  progress: tr.Progress | None = None, deadline: float | None = None
                  ) -> dict[str, Any]:
    """Publish the file at ``path`` as an ``object`` artifact (see
    ``tcdyn.artifacts.publish``)."""
    from .aio_upload import uploadFromFile

    job = _Publish(queue, taskId, runId, name, path, contentType, expires, maxRetries)
    expires = job.expires
    if expires is None:
        try:
            expires = (await aw(queue.task(taskId)))["expires"]
        except InsufficientScopes:
            raise job.no_expiry() from None
    answer = await aw(queue.createArtifact(taskId, runId, name, job.request(expires)))
    service = tr.object_client(queue, (answer or {}).get("credentials"), job.maxRetries,
                               asynchronous=True)
    async with service:
        with open(job.path, "rb") as file:
            await uploadFromFile(file=file,
                                 **job.upload_kwargs(answer, service, progress, deadline))
    await aw(queue.finishArtifact(taskId, runId, name, {"uploadId": answer["uploadId"]}))
    return job.result(answer)
