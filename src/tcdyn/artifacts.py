"""Queue artifacts in one call, and a ready progress bar.

``publish(queue, taskId, runId, name, path)`` is what a worker does to publish a file as an
artifact of its run: ``createArtifact`` (storage type ``object``), the upload with the object
credentials the queue returns (``tcdyn.upload``), then ``finishArtifact``. ``progress_bar()``
returns a ``progress`` callback drawing a ``tqdm`` bar (``pip install 'tcdyn[progress]'``).
``tcdyn.aio.artifacts.publish`` is the async form.
"""

from __future__ import annotations

import mimetypes
import os
from typing import Any

from . import transfer as tr
from .errors import InsufficientScopes, TaskclusterArgumentError

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Names tasks publish that mimetypes does not know without a system mime.types: a task's
# log (public/logs/live.log) must open as text in a browser, as the workers serve it.
_KNOWN_SUFFIXES = {".log": "text/plain"}


def guess_content_type(name: str) -> str:
    """The content type ``mimetypes`` guesses from ``name`` (``text/plain`` for ``.log``,
    ``application/octet-stream`` when it cannot)."""
    guessed = mimetypes.guess_type(name, strict=False)[0]
    if guessed:
        return guessed
    suffix = name[name.rfind("."):].lower() if "." in name.rsplit("/", 1)[-1] else ""
    return _KNOWN_SUFFIXES.get(suffix, DEFAULT_CONTENT_TYPE)


class _Publish:
    """The checked arguments of ``publish`` and the requests it makes."""

    def __init__(self, queue: Any, taskId: Any, runId: Any, name: Any, path: Any,
                 contentType: Any, expires: Any, maxRetries: Any) -> None:
        func = "publish"
        tr.check_service(func, "queue", queue, ("createArtifact", "finishArtifact", "task"))
        self.taskId = tr.check_str(func, "taskId", taskId)
        if isinstance(runId, bool) or not isinstance(runId, (int, str)) or str(runId) == "":
            raise TaskclusterArgumentError(f"publish() argument 'runId' must be an int, got "
                                           f"{runId!r:.60}")
        self.runId = runId
        self.name = tr.check_str(func, "name", name)
        if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
            raise TaskclusterArgumentError(f"publish() argument 'path' must name a file, got "
                                           f"{path!r:.200}")
        self.path = path
        self.size = os.path.getsize(path)
        if contentType is not None:
            tr.check_str(func, "contentType", contentType)
        self.contentType = contentType or guess_content_type(name)
        self.expires = expires
        self.maxRetries: int = tr.check_count(func, "maxRetries", maxRetries)  # type: ignore[assignment]

    def no_expiry(self) -> TaskclusterArgumentError:
        return TaskclusterArgumentError(
            "publish() needs expires=...: these credentials cannot read the task's expiry "
            f"(queue:get-task:{self.taskId}); a worker has it in claimWork's task definition")

    def request(self, expires: Any) -> dict[str, Any]:
        return {"storageType": "object", "expires": expires, "contentType": self.contentType}

    def upload_kwargs(self, answer: Any, service: Any, progress: Any,
                      deadline: Any) -> dict[str, Any]:
        if not isinstance(answer, dict) or answer.get("storageType") != "object":
            raise TaskclusterArgumentError(
                f"createArtifact answered storage type {answer.get('storageType')!r} for an "
                "object artifact (an existing artifact of that name?)")
        return {"projectId": answer["projectId"], "name": answer["name"],
                "contentType": self.contentType, "contentLength": self.size,
                "expires": answer["expires"], "uploadId": answer["uploadId"],
                "maxRetries": self.maxRetries, "objectService": service,
                "progress": progress, "deadline": deadline}

    def result(self, answer: dict[str, Any]) -> dict[str, Any]:
        return {"taskId": self.taskId, "runId": self.runId, "name": self.name,
                "storageType": "object", "object": answer["name"],
                "contentType": self.contentType, "contentLength": self.size,
                "expires": answer["expires"]}


def publish(queue: Any, taskId: str, runId: int, name: str, path: str | os.PathLike[str],
            contentType: str | None = None, expires: Any = None, *, maxRetries: int = 5,
            progress: tr.Progress | None = None, deadline: float | None = None
            ) -> dict[str, Any]:
    """Publish the file at ``path`` as artifact ``name`` of run ``runId`` of ``taskId``.

    ``contentType`` defaults to a guess from ``name``; ``expires`` (a datetime or ISO
    string) to the task's own expiry (read with ``queue.task``: a run's own credentials may
    not hold ``queue:get-task``; then pass it). ``queue`` needs the run's credentials (or
    ``queue:create-artifact:<taskId>/<runId>``). Returns what was published (names, type,
    size, expiry).
    """
    from .upload import uploadFromFile

    job = _Publish(queue, taskId, runId, name, path, contentType, expires, maxRetries)
    expires = job.expires
    if expires is None:
        try:
            expires = queue.task(taskId)["expires"]
        except InsufficientScopes:
            raise job.no_expiry() from None
    answer = queue.createArtifact(taskId, runId, name, job.request(expires))
    service = tr.object_client(queue, (answer or {}).get("credentials"), job.maxRetries,
                               asynchronous=False)
    with service, open(job.path, "rb") as file:
        uploadFromFile(file=file, **job.upload_kwargs(answer, service, progress, deadline))
    queue.finishArtifact(taskId, runId, name, {"uploadId": answer["uploadId"]})
    return job.result(answer)


class ProgressBar:
    """A ``progress(done, total)`` callback drawing a ``tqdm`` bar; a new attempt (``done``
    back to 0) restarts it. Use it as a context manager, or ``close()`` it."""

    def __init__(self, description: str | None = None, **tqdm_options: Any) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("tcdyn.artifacts.progress_bar() needs tqdm: "
                              "pip install 'tcdyn[progress]'") from None
        options = {"unit": "B", "unit_scale": True, "unit_divisor": 1024, "leave": True,
                   "desc": description, **tqdm_options}
        self._bar = tqdm(total=None, **options)

    def __call__(self, done: int, total: int | None) -> None:
        bar = self._bar
        if done == 0 or total != bar.total:
            bar.reset(total=total)
        bar.update(done - bar.n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(description: str | None = None, **tqdm_options: Any) -> ProgressBar:
    """A ready ``progress`` callback for terminals (``tqdm``): ``with progress_bar("x") as
    bar: download.downloadToFile("x", ..., progress=bar)``."""
    return ProgressBar(description, **tqdm_options)
