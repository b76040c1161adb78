"""Queue artifacts in one call, and a ready progress bar.

``publish(queue, taskId, runId, name, path)`` is what a worker does to publish a file as an
artifact of its run: a check that the run has no artifact of that name yet, ``createArtifact``
(storage type ``object``), the upload with the object credentials the queue returns
(``tcdyn.upload``), then ``finishArtifact``. Its steps are one sans-IO flow
(``PublishPlan.steps``), driven once for the sync ``tcdyn.artifacts.publish`` and the async
``tcdyn.aio.artifacts.publish`` (``flavours``). ``progress_bar()`` returns a ``progress``
callback drawing a ``tqdm`` bar (``pip install 'tcdyn[progress]'``).

Once ``createArtifact`` succeeded, the name is taken: the v106 queue lists the artifact,
answers 404 to a download until ``finishArtifact``, and answers 500 to a second
``createArtifact`` of it (it asks the object service for a second upload of the same
object), so an interrupted publish can be neither resumed nor replaced. An exception leaving
``publish`` after that point carries a note saying so, and ``publish`` refuses such a name
(``RequestConflict``) before creating anything.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import slugid

from ..errors import (
    InputError,
    InsufficientScopes,
    RequestConflict,
    ResourceNotFound,
    TaskclusterArgumentError,
)
from . import checks, leftovers
from .flavours import Flavour, aw
from .hashing import Progress

__all__ = ["ProgressBar", "guess_content_type", "progress_bar", "publish"]

DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: A step of ``PublishPlan.steps``: a queue method (or ``"upload"``) and its arguments.
Step = tuple[str, tuple[Any, ...]]
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


class PublishPlan:
    """The checked arguments of ``publish`` and the requests it makes."""

    def __init__(self, queue: Any, taskId: Any, runId: Any, name: Any, path: Any,
                 contentType: Any, expires: Any, maxRetries: Any) -> None:
        func = "publish"
        checks.check_service(func, "queue", queue, ("createArtifact", "finishArtifact", "task",
                                                "artifactInfo"))
        self.taskId = checks.check_str(func, "taskId", taskId)
        if isinstance(runId, bool) or not isinstance(runId, (int, str)) or str(runId) == "":
            raise TaskclusterArgumentError(f"publish() argument 'runId' must be an int, got "
                                           f"{runId!r:.60}")
        self.runId = runId
        self.name = checks.check_str(func, "name", name)
        if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
            raise TaskclusterArgumentError(f"publish() argument 'path' must name a file, got "
                                           f"{path!r:.200}")
        self.path = path
        self.size = os.path.getsize(path)
        if contentType is not None:
            checks.check_str(func, "contentType", contentType)
        self.contentType = contentType or guess_content_type(name)
        self.expires = expires
        self.maxRetries = checks.check_count(func, "maxRetries", maxRetries)
        #: The call in progress once the name may be taken (``left``), else None.
        self.phase: str | None = None

    def steps(self) -> Generator[Step, Any, dict[str, Any]]:
        """What ``publish`` does, without I/O: yields each queue call as ``(method, args)``
        and the upload as ``("upload", (answer,))``; is sent each call's value, or has the
        exception that prevented it thrown in; returns what was published."""
        expires = self.expires
        if expires is None:
            try:
                expires = (yield "task", (self.taskId,))["expires"]
            except InsufficientScopes:
                raise self.no_expiry() from None
        yield from self.absent()
        try:
            self.phase = "createArtifact"
            answer = yield "createArtifact", (self.taskId, self.runId, self.name,
                                              self.request(expires))
            self.phase = "upload"
            yield "upload", (answer,)
            self.phase = "finishArtifact"
            yield "finishArtifact", (self.taskId, self.runId, self.name,
                                     {"uploadId": answer["uploadId"]})
        except BaseException as exc:
            note = self.left(exc)
            if note is not None:
                exc.add_note(note)
            raise
        finally:
            self.phase = None
        return self.result(answer)

    def absent(self) -> Generator[Step, Any, None]:
        """Refuse a name the run already has, finished or not (``RequestConflict``),
        before anything is created.

        ``artifactInfo`` answers for a finished artifact (with ``queue:list-artifacts``,
        which a run's own credentials lack). Otherwise ``finishArtifact`` with a fresh
        uploadId, which needs only the scope ``createArtifact`` needs, tells the rest apart
        without changing anything (``services/queue/src/artifacts.js``): 404 for no
        artifact, 400 for an unfinished one (the uploadId does not match) or one of another
        storage type, 204 for a finished one (for which the queue sends its
        artifact-created message again, as it does for any repeated ``finishArtifact``).
        """
        try:
            yield "artifactInfo", (self.taskId, self.runId, self.name)
        except (ResourceNotFound, InsufficientScopes):
            pass  # not finished, or not ours to list
        else:
            raise self.exists()
        try:
            yield "finishArtifact", (self.taskId, self.runId, self.name,
                                     {"uploadId": slugid.nice()})
        except ResourceNotFound:
            return
        except InputError as exc:
            raise (self.unfinished() if "uploadId" in exc.message else self.exists()
                   ) from None
        raise self.exists()

    def _where(self) -> str:
        return f"run {self.runId} of task {self.taskId}"

    def exists(self) -> RequestConflict:
        return RequestConflict(f"{self._where()} already has an artifact {self.name!r}; a "
                               "published artifact cannot be replaced (nothing was sent)",
                               status_code=409, code="RequestConflict")

    def unfinished(self) -> RequestConflict:
        return RequestConflict(
            f"{self._where()} already has an unfinished artifact {self.name!r} (a publish "
            "that was interrupted or failed after createArtifact); the queue can neither "
            "resume nor replace it: publish under another name, or in a new run (nothing "
            "was sent)", status_code=409, code="RequestConflict")

    def left(self, error: BaseException | None = None) -> str | None:
        """What the publish leaves if ``error`` ends it now (None: if the process ends now),
        or None for nothing half-made. Once ``createArtifact`` may have been answered the
        name is used up; an interrupt (not an error: the queue did not refuse) while the
        queue answers ``createArtifact`` or ``finishArtifact`` may have come after it was
        done."""
        if self.phase is None or (self.phase == "createArtifact"
                                  and isinstance(error, Exception)):
            return None
        what = "the queue lists it, a download of it answers 404, and it cannot be published " \
               "again under this name in this run"
        where = f"artifact {self.name!r} of {self._where()}"
        interrupted = not isinstance(error, Exception)
        if self.phase == "createArtifact":
            return (f"{where} may have been created but not finished (interrupted while the "
                    f"queue answered createArtifact): if it was, {what}")
        if self.phase == "finishArtifact" and interrupted:
            return (f"{where} was created and may not be finished (interrupted while the "
                    f"queue answered finishArtifact): if it is not, {what}")
        return f"{where} was created but not finished: {what}"

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


async def publish(io: Flavour, /, queue: Any, taskId: str, runId: int, name: str,
                  path: str | os.PathLike[str], contentType: str | None = None,
                  expires: Any = None, *, maxRetries: int = 5, progress: Progress | None = None,
                  deadline: float | None = None) -> dict[str, Any]:
    """Publish the file at ``path`` as artifact ``name`` of run ``runId`` of ``taskId``.

    ``contentType`` defaults to a guess from ``name``; ``expires`` (a datetime or ISO
    string) to the task's own expiry (read with ``queue.task``: a run's own credentials may
    not hold ``queue:get-task``; then pass it). ``queue`` needs the run's credentials (or
    ``queue:create-artifact:<taskId>/<runId>``). Returns what was published (names, type,
    size, expiry).
    """
    from .upload import uploadFromFile

    job = PublishPlan(queue, taskId, runId, name, path, contentType, expires, maxRetries)

    async def perform(method: str, args: tuple[Any, ...]) -> Any:
        if method != "upload":
            return await aw(getattr(queue, method)(*args))
        answer = args[0]
        service = checks.object_client(queue, (answer or {}).get("credentials"),
                                       job.maxRetries, asynchronous=io.asynchronous)
        try:
            with open(job.path, "rb") as file:
                await uploadFromFile(io, file=file, **job.upload_kwargs(answer, service,
                                                                        progress, deadline))
        finally:
            await io.close(service)
        return None

    with leftovers.noting(job.left):
        result: dict[str, Any] = await drive_steps(job.steps(), perform)
    return result


async def drive_steps(steps: Generator[Step, Any, Any],
                      perform: Callable[[str, tuple[Any, ...]], Awaitable[Any]]) -> Any:
    """Run ``steps`` (``PublishPlan.steps``): each step's outcome sent back, or the
    exception that prevented it thrown in (the flow decides, then raises it or another);
    returns their result. An exception is thrown in while it is being handled, so a
    ``KeyboardInterrupt`` is never set aside where a signal handler would not see it."""
    try:
        step = next(steps)
        while True:
            try:
                outcome = await perform(*step)
            except BaseException as exc:
                step = steps.throw(exc)
            else:
                step = steps.send(outcome)
    except StopIteration as done:
        return done.value


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
