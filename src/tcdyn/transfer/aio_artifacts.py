"""``tcdyn.aio.artifacts``: ``tcdyn.artifacts.publish`` for ``tcdyn.aio.Queue``."""

from __future__ import annotations

import os
from typing import Any

from . import common as tr
from .artifacts import ProgressBar, _Publish, adrive, guess_content_type, progress_bar
from .common import aw

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]


async def publish(queue: Any, taskId: str, runId: int, name: str,
                  path: str | os.PathLike[str], contentType: str | None = None,
                  expires: Any = None, *, maxRetries: int = 5,
                  progress: tr.Progress | None = None, deadline: float | None = None
                  ) -> dict[str, Any]:
    """Publish the file at ``path`` as an ``object`` artifact (see
    ``tcdyn.artifacts.publish``: the same steps, awaited)."""
    from .aio_upload import uploadFromFile

    job = _Publish(queue, taskId, runId, name, path, contentType, expires, maxRetries)

    async def perform(method: str, args: tuple[Any, ...]) -> Any:
        if method != "upload":
            return await aw(getattr(queue, method)(*args))
        answer = args[0]
        service = tr.object_client(queue, (answer or {}).get("credentials"), job.maxRetries,
                                   asynchronous=True)
        async with service:
            with open(job.path, "rb") as file:
                await uploadFromFile(file=file,
                                     **job.upload_kwargs(answer, service, progress, deadline))
        return None

    result: dict[str, Any] = await adrive(job.steps(), perform)
    return result
