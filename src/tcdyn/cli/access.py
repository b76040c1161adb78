"""Credentials into a shell: ``export`` lines for sh or fish, shared by ``temp-creds``,
``task claim`` and ``signin --export``; and ``task claim`` itself.

These are the commands that print a secret on stdout, on purpose: ``eval "$(tcdyn ...)"``
(sh, bash, zsh) or ``tcdyn ... | source`` (fish).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from .output import CommandError, UsageError

SHELLS = ("sh", "fish")


def add_export_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export", choices=SHELLS, default="sh", metavar="SHELL",
                        help="the shell the lines are for: sh (also bash, zsh; the default) "
                             "or fish")


def export_lines(pairs: Iterable[tuple[str, str]], shell: str) -> str:
    """``export NAME='value'`` (sh) or ``set -gx NAME 'value'`` (fish) lines, each value
    quoted so that the shell reads it back byte for byte."""
    import re
    import shlex

    lines = []
    for name, value in pairs:
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            raise ValueError(f"not a variable name: {name!r}")
        if shell == "fish":
            quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            lines.append(f"set -gx {name} {quoted}")
        elif shell == "sh":
            lines.append(f"export {name}={shlex.quote(value)}")
        else:
            raise UsageError(f"--export: unknown shell {shell!r} (sh or fish)")
    return "\n".join(lines)


def credential_pairs(root_url: str | None, creds: Any) -> list[tuple[str, str]]:
    """The ``TASKCLUSTER_*`` variables of ``creds`` (a ``tcdyn.Credentials``)."""
    import json

    from .. import environment as env

    pairs = [(env.ROOT_URL, root_url)] if root_url else []
    pairs += [(env.CLIENT_ID, creds.clientId), (env.ACCESS_TOKEN, creds.accessToken)]
    if creds.certificate is not None:
        pairs.append((env.CERTIFICATE,
                      json.dumps(dict(creds.certificate), separators=(",", ":"))))
    return pairs


def claim(args: argparse.Namespace) -> int:
    """``tcdyn task claim TASKID``: claim the task's pending run as a worker would, and
    print that run's credentials (with TASK_ID and RUN_ID) as export lines."""
    from ..auth.credentials import Credentials
    from ..errors import CredentialsError
    from .output import emit
    from .task import queue

    with queue(args) as q:
        status = q.status(args.task_id)["status"]
        runs = status.get("runs") or []
        run_id = args.run_id if args.run_id is not None else (
            runs[-1].get("runId") if runs else None)
        if run_id is None or not any(r.get("runId") == run_id for r in runs):
            which = "a run" if run_id is None else f"run {run_id}"
            raise CommandError(f"task {args.task_id} has no {which} to claim (state "
                               f"{status.get('state')!r})")
        answer = q.claimTask(args.task_id, str(run_id), {"workerGroup": args.worker_group,
                                                         "workerId": args.worker_id})
        root_url = q.rootUrl
    if args.json:
        emit(answer)
        return 0
    given = answer.get("credentials") if isinstance(answer, dict) else None
    try:
        creds = Credentials.coerce(given)
    except CredentialsError as exc:
        raise CommandError(f"the queue's claim carries no usable credentials: {exc}") from None
    if creds is None:
        raise CommandError("the queue's claim carries no credentials")
    pairs = [*credential_pairs(root_url, creds), ("TASK_ID", args.task_id),
             ("RUN_ID", str(run_id))]
    print(export_lines(pairs, args.export))
    return 0
