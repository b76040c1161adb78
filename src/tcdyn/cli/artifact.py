"""``tcdyn artifact get TASKID NAME [-o FILE]`` and ``tcdyn artifact put``.

``get`` is the library's ``downloadArtifact``: the storage type the queue answers (``object``
with its hashes checked, ``s3``, ``reference``; ``error`` exits 3), retries, every socket
wait bounded, a ceiling on the bytes (``--max-size``, after decompression). ``-o FILE`` is
``downloadArtifactToFile`` (a temporary file renamed into place once complete and verified;
a directory refused before anything is sent); stdout (the default, or ``-o -``) is streamed:
a retry skips the bytes already written once it has checked they are the same, a failure
says what was written, and binary data is not written to a terminal unless ``--binary``.
``put`` is ``tcdyn.artifacts.publish`` (which refuses a name the run already has), after
checking ``--expires``. Ctrl-C and SIGTERM end either at once, at any moment
(``interrupts.ending``): temporary files removed, exit 130; an interrupted ``put`` says
whether the name is used up.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import hashlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from .output import (
    FAILURE,
    HTTP_4XX,
    USAGE,
    CommandError,
    UsageError,
    emit,
    terminal_sink,
)

_UNITS = {"": 1, "k": 1024, "kib": 1024, "m": 1024 ** 2, "mib": 1024 ** 2, "g": 1024 ** 3,
          "gib": 1024 ** 3, "t": 1024 ** 4, "tib": 1024 ** 4}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    artifact = sub.add_parser("artifact", help="download or publish a task's artifacts")
    actions = artifact.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = actions.add_parser("get", parents=[common], help="download an artifact")
    get.add_argument("task_id", metavar="TASKID")
    get.add_argument("name", metavar="NAME", help="e.g. public/build/target.tar.gz")
    get.add_argument("-o", "--output", metavar="FILE",
                     help="write here, replacing FILE once complete and verified; '-' or "
                          "none: stdout")
    get.add_argument("--run-id", type=int, metavar="N", help="this run (default: the latest)")
    from ..workflow.logs import DEFAULT_MAX_SIZE  # the ceiling of what the command reads

    get.add_argument("--max-size", type=parse_size, default=DEFAULT_MAX_SIZE,
                     metavar="SIZE",
                     help="fail past this many bytes (after decompression): e.g. 500MiB, "
                          "2GiB, or 'none' (default: 16 GiB)")
    get.add_argument("--binary", action="store_true",
                     help="write to a terminal even what is not text (refused by default)")
    get.set_defaults(run=_get)
    put = actions.add_parser("put", parents=[common],
                             help="publish a file as an artifact of a run (object storage)")
    put.add_argument("task_id", metavar="TASKID")
    put.add_argument("run_id", type=int, metavar="RUNID")
    put.add_argument("name", metavar="NAME")
    put.add_argument("path", metavar="FILE")
    put.add_argument("--content-type", help="default: guessed from NAME")
    put.add_argument("--expires", metavar="DURATION",
                     help="e.g. '1 year' (default: the task's expiry)")
    put.set_defaults(run=_put)


def parse_size(text: str) -> int | None:
    """``--max-size``: bytes, with a binary unit (``K``/``KiB``, ``M``, ``G``, ``T``), or
    ``none``."""
    if text.strip().lower() == "none":
        return None
    match = re.fullmatch(r"(\d+)([a-zA-Z]*)", text.strip())
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: give bytes, e.g. 1000000, "
                                         "500MiB, 2GiB, or 'none'")
    return int(match.group(1)) * _UNITS[unit]


def _queue_and_settings(args: argparse.Namespace) -> tuple[Any, Any]:
    from .config import settings

    conf = settings(args.root_url, args.references)
    return conf, conf.client("Queue")


def _get(args: argparse.Namespace) -> int:
    from ..download import downloadArtifactToFile
    from .interrupts import ending

    with ending():
        _, queue = _queue_and_settings(args)
        with queue:
            if args.output and args.output != "-":
                with _said(args.name, args.task_id, args.max_size, lambda: "nothing written"):
                    downloadArtifactToFile(args.output, taskId=args.task_id, name=args.name,
                                           runId=args.run_id, queueService=queue,
                                           maxSize=args.max_size)
                return 0
            tty = sys.stdout.isatty()
            sink = terminal_sink(sys.stdout.buffer, tty and not args.binary)
            stream(queue, args.task_id, args.name, args.run_id, sink,
                   max_size=args.max_size, text_only=tty and not args.binary)
            sink.flush()
    return 0


def stream(queue: Any, task_id: str, name: str, run_id: int | None, out: IO[bytes], *,
           max_size: int | Literal["default"] | None = "default", text_only: bool = False
           ) -> None:
    """Artifact ``name`` of ``task_id`` streamed to ``out`` (stdout) by the library's
    ``downloadArtifact``; ``text_only`` refuses what is not UTF-8 text (a terminal);
    ``max_size`` "default": the command's ceiling (``workflow.logs.DEFAULT_MAX_SIZE``)."""
    from ..download import downloadArtifact

    if max_size == "default":
        from ..workflow.logs import DEFAULT_MAX_SIZE

        max_size = DEFAULT_MAX_SIZE

    sink = _Stdout(out, name, text_only)
    with _said(name, task_id, max_size, sink.told):
        downloadArtifact(taskId=task_id, name=name, runId=run_id, queueService=queue,
                         writerFactory=sink.writer, maxSize=max_size)
        sink.finish()


@contextlib.contextmanager
def _said(name: str, task_id: str, limit: int | None, told: Any) -> Iterator[None]:
    """The library's refusals of an artifact in the command's words, with what was
    written (``told()``)."""
    from ..call.response import size_text
    from ..errors import ObjectHashVerificationError, ResponseTooLarge, TaskclusterArtifactError

    try:
        yield
    except TaskclusterArtifactError as exc:
        raise CommandError(f"artifact {name} of {task_id} is an error artifact: "
                           f"{exc.reason}: {exc}", HTTP_4XX) from None
    except ResponseTooLarge:
        raise CommandError(f"artifact {name} is larger than the --max-size of "
                           f"{size_text(limit or 0)}; {told()}", FAILURE) from None
    except ObjectHashVerificationError as exc:
        raise CommandError(f"artifact {name}: {exc}; {told()}", FAILURE) from None


class _Stdout:
    """stdout as a download's ``writerFactory`` (``writer``): what is written cannot be
    taken back, so a retry's writer skips that many bytes, checking (sha256) that they are
    the same, and writes the rest."""

    def __init__(self, out: IO[bytes], name: str, text_only: bool) -> None:
        self.out, self.name = out, name
        self.written = 0
        self._digest = hashlib.sha256()
        self._text = codecs.getincrementaldecoder("utf-8")() if text_only else None
        self._attempt: _Attempt | None = None

    def writer(self) -> _Attempt:
        self._attempt = _Attempt(self)
        return self._attempt

    def write(self, chunk: bytes) -> None:
        if self._text is not None:
            try:
                self._text.decode(chunk)
                if b"\0" in chunk:
                    raise ValueError("NUL")
            except ValueError:
                after = f" (after {self.written} bytes)" if self.written else ""
                raise CommandError(
                    f"artifact {self.name} is binary (not UTF-8 text): not written to the "
                    f"terminal{after}; use -o FILE, a pipe, or --binary", USAGE) from None
        self.out.write(chunk)
        self._digest.update(chunk)
        self.written += len(chunk)

    def digest(self) -> bytes:
        return self._digest.copy().digest()

    def finish(self) -> None:
        self.out.flush()
        if self._attempt is not None and self._attempt.skip:
            raise self.changed()

    def changed(self) -> CommandError:
        return CommandError(f"artifact {self.name} changed between attempts: {self.told()}",
                            FAILURE)

    def told(self) -> str:
        """What a failure leaves on stdout, in words."""
        with contextlib.suppress(OSError, ValueError):
            self.out.flush()
        if not self.written:
            return "nothing written"
        return f"the {self.written} bytes written to stdout are not the artifact (discard them)"


class _Attempt:
    """One attempt's writer to :class:`_Stdout`."""

    def __init__(self, sink: _Stdout) -> None:
        self.sink = sink
        self.skip = sink.written
        self._check = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        if self.skip:
            head, chunk = chunk[:self.skip], chunk[self.skip:]
            self._check.update(head)
            self.skip -= len(head)
            if not self.skip and self._check.digest() != self.sink.digest():
                raise self.sink.changed()
            if not chunk:
                return
        self.sink.write(chunk)


def _put(args: argparse.Namespace) -> int:
    try:
        from ..artifacts import publish
    except ImportError:
        raise CommandError("artifact put needs the artifacts helpers (tcdyn.artifacts."
                           "publish), which this tcdyn does not have") from None
    from ..errors import TaskclusterFailure
    from .output import classify

    if not Path(args.path).is_file():
        raise UsageError(f"artifact put: {args.path}: no such file")
    kwargs: dict[str, Any] = {"contentType": args.content_type}
    if args.expires:
        from ..utils import fromNow

        try:
            kwargs["expires"] = fromNow(args.expires)
        except ValueError as exc:
            raise UsageError(f"artifact put: --expires {args.expires!r}: {exc}") from None
    from .interrupts import ending

    with ending():
        _, queue = _queue_and_settings(args)
        with queue:
            if "expires" not in kwargs:
                kwargs["expires"] = _task_expiry(queue, args.task_id)
            try:
                published = publish(queue, args.task_id, args.run_id, args.name, args.path,
                                    **kwargs)
            except TaskclusterFailure as exc:
                if not getattr(exc, "__notes__", None):
                    raise
                raise CommandError(f"{exc}; {'; '.join(exc.__notes__)}", classify(exc)[0]
                                   ) from None
    emit(published)
    return 0


def _task_expiry(queue: Any, task_id: str) -> Any:
    """The task's own expiry, the default of an artifact's; a run's credentials cannot read
    it (no ``queue:get-task``), so then ``--expires`` is needed."""
    from ..errors import InsufficientScopes

    try:
        return queue.task(task_id)["expires"]
    except InsufficientScopes:
        raise UsageError(f"artifact put: these credentials cannot read the expiry of task "
                         f"{task_id} (queue:get-task:{task_id}); give --expires, e.g. "
                         "--expires '1 day'") from None
