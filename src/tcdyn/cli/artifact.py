"""``tcdyn artifact get TASKID NAME [-o FILE]`` and ``tcdyn artifact put``.

``get`` asks the queue where the artifact is (``latestArtifact``, or ``artifact`` with
``--run-id``) and streams it from there with the library's httpx client, never sending Taskcluster
credentials to the storage host; ``-o FILE`` is written beside FILE and renamed into place
once complete (and, for object artifacts, once its hashes match). ``put`` is
``tcdyn.artifacts.publish``, after checking ``--expires`` and that the run has no artifact of
that name yet.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from .output import AUTH, HTTP_4XX, HTTP_5XX, CommandError, UsageError, emit


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    artifact = sub.add_parser("artifact", help="download or publish a task's artifacts")
    actions = artifact.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = actions.add_parser("get", parents=[common], help="download an artifact")
    get.add_argument("task_id", metavar="TASKID")
    get.add_argument("name", metavar="NAME", help="e.g. public/build/target.tar.gz")
    get.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    get.add_argument("--run-id", type=int, metavar="N", help="this run (default: the latest)")
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


def _queue_and_settings(args: argparse.Namespace) -> tuple[Any, Any]:
    from .config import settings

    conf = settings(args.root_url, args.references)
    return conf, conf.client("Queue")


def _get(args: argparse.Namespace) -> int:
    conf, queue = _queue_and_settings(args)
    with queue:
        if args.run_id is None:
            where = queue.latestArtifact(args.task_id, args.name)
        else:
            where = queue.artifact(args.task_id, args.run_id, args.name)
    kind = where.get("storageType") if isinstance(where, dict) else None
    hashes: dict[str, str] = {}
    if kind in ("s3", "reference", "link"):
        url = where["url"]
    elif kind == "error":
        raise CommandError(f"artifact {args.name} of {args.task_id} is an error artifact: "
                           f"{where.get('reason')}: {where.get('message')}", HTTP_4XX)
    elif kind == "object":
        cls = conf.deployment().build("Object")
        with cls(rootUrl=conf.require_root_url(), credentials=where["credentials"]) as obj:
            started = obj.startDownload(where["name"],
                                        {"acceptDownloadMethods": {"getUrl": True}})
        url, hashes = started["url"], dict(started.get("hashes") or {})
    else:
        raise CommandError(f"artifact {args.name}: unknown storageType {kind!r}")
    if not args.output or args.output == "-":
        got = stream_url(url, sys.stdout.buffer, hashes)
        _verify(hashes, got, args.name)
        return 0
    target = Path(args.output)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                               dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as f:
            got = stream_url(url, f, hashes)
            _verify(hashes, got, args.name)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _verify(expected: dict[str, str], got: dict[str, str], name: str) -> None:
    for algo, value in expected.items():
        if algo in got and got[algo] != value:
            raise CommandError(f"artifact {name}: {algo} mismatch (expected {value}, got "
                               f"{got[algo]}); nothing written")


def public_url(url: str) -> str:
    """``url`` without its query (which may carry a signature)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?..." if parts.query else "")


def stream_url(url: str, sink: IO[bytes], hashes: dict[str, str] | None = None
               ) -> dict[str, str]:
    """GET ``url`` (following redirects, no credentials) into ``sink``; return the sha256 and
    sha512 of what was written when ``hashes`` asks for them."""
    import httpx

    from ..deadline import sync_client  # the library's client: its proxy rule, its TLS

    digests = {algo: hashlib.new(algo) for algo in (hashes or {}) if algo in
               ("sha256", "sha512")}
    try:
        with sync_client(follow_redirects=True, timeout=60) as client, \
                client.stream("GET", url) as response:
            if response.status_code >= 400:
                status = response.status_code
                code = AUTH if status in (401, 403) else HTTP_4XX if status < 500 else HTTP_5XX
                raise CommandError(f"GET {public_url(url)}: HTTP {status}", code)
            for chunk in response.iter_bytes():
                sink.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
            sink.flush()
    except httpx.HTTPError as exc:
        raise CommandError(f"GET {public_url(url)}: {type(exc).__name__}: {exc}",
                           HTTP_5XX) from None
    return {algo: d.hexdigest() for algo, d in digests.items()}


def _put(args: argparse.Namespace) -> int:
    try:
        from ..artifacts import publish
    except ImportError:
        raise CommandError("artifact put needs the artifacts helpers (tcdyn.artifacts."
                           "publish), which this tcdyn does not have") from None
    if not Path(args.path).is_file():
        raise UsageError(f"artifact put: {args.path}: no such file")
    kwargs: dict[str, Any] = {"contentType": args.content_type}
    if args.expires:
        from ..utils import fromNow

        try:
            kwargs["expires"] = fromNow(args.expires)
        except ValueError as exc:
            raise UsageError(f"artifact put: --expires {args.expires!r}: {exc}") from None
    _, queue = _queue_and_settings(args)
    with queue:
        if "expires" not in kwargs:
            kwargs["expires"] = _task_expiry(queue, args.task_id)
        _refuse_existing(queue, args.task_id, args.run_id, args.name)
        emit(publish(queue, args.task_id, args.run_id, args.name, args.path, **kwargs))
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


def _refuse_existing(queue: Any, task_id: str, run_id: int, name: str) -> None:
    """Stop before anything is sent when the run already has artifact ``name``: the real
    queue cannot replace an object artifact and answers 500 (after every retry)."""
    from ..errors import InsufficientScopes, ResourceNotFound

    try:
        queue.artifact(task_id, run_id, name)
    except (ResourceNotFound, InsufficientScopes):
        return  # absent, or not ours to read (then the queue decides)
    raise CommandError(f"artifact put: run {run_id} of task {task_id} already has an artifact "
                       f"{name!r}; a published artifact cannot be replaced", HTTP_4XX)
