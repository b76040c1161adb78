"""``tcdyn serve [--port P] [--references DIR] [--clients-file FILE]``.

The local deployment of tcdyn.testing behaving as the v106 services do (Hawk, scopes,
route parameters, payload and answer schemas, error bodies) with the in-memory queue of
tcdyn.testing.queue: tasks, runs, workers, task groups, task queues and artifacts, s3
artifacts and each run's public/logs/live.log on a second loopback storage host, which
takes only presigned URLs, as S3 does; and worker-manager's pools and their errors
(tcdyn.testing.worker_manager). Test clients come from --clients-file and
$TCDYN_SERVE_CLIENTS (entries ID:TOKEN[:SCOPE,...] separated by whitespace; default scope
'*'), never from the command line; without any, it prints export TASKCLUSTER_* lines for a
client holding '*' (a fresh token each start). Runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from .output import UsageError, prose

DEFAULT_CLIENT = "tcdyn-serve"


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", help="run a local deployment (for your own tests)",
                       description=prose(__doc__))
    p.add_argument("--port", type=int, default=0, help="default: any free port")
    p.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (loopback)")
    p.add_argument("--references", metavar="DIR", help="serve this mirror (default: bundled)")
    p.add_argument("--clients-file", metavar="FILE",
                   help="test clients of this local deployment, ID:TOKEN[:SCOPE,...] each "
                        "(scopes comma-separated, default '*'), separated by whitespace; "
                        "lines starting with # are comments (also: $TCDYN_SERVE_CLIENTS)")
    p.add_argument("--client", action="append", default=[], help=argparse.SUPPRESS)
    p.add_argument("--check-scopes", action=argparse.BooleanOptionalAction, default=True,
                   help="refuse calls whose scopes the caller lacks with a 403, as a real "
                        "deployment does (default; --no-check-scopes lets them through)")
    p.set_defaults(run=_serve)


def parse_client(text: str, where: str) -> tuple[str, Any]:
    """``ID:TOKEN[:SCOPE,...]`` (the token never repeated in an error)."""
    from ..testing.auth import ClientRecord

    client_id, _, rest = text.partition(":")
    token, _, scopes = rest.partition(":")
    if not client_id or not token:
        raise UsageError(f"{where}: client {client_id or '?'}: expected ID:TOKEN[:SCOPE,...]")
    return client_id, ClientRecord(token, tuple(scopes.split(",")) if scopes else ("*",))


def parse_clients(text: str, where: str) -> dict[str, Any]:
    entries = [word for line in text.splitlines() if not line.lstrip().startswith("#")
               for word in line.split()]
    return dict(parse_client(entry, where) for entry in entries)


def clients_of(args: argparse.Namespace) -> dict[str, Any]:
    """The test clients of ``--clients-file`` and ``$TCDYN_SERVE_CLIENTS``: a token on the
    command line would show in every process listing, so ``--client`` is refused."""

    if args.client:
        raise UsageError("serve: --client would put a token on the command line (visible "
                         "to every process listing); give clients with --clients-file FILE "
                         "or $TCDYN_SERVE_CLIENTS, as ID:TOKEN[:SCOPE,...]")
    clients: dict[str, Any] = {}
    if args.clients_file:
        try:
            with open(args.clients_file, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UsageError(f"--clients-file {args.clients_file}: {why or exc}") from None
        clients.update(parse_clients(text, f"--clients-file {args.clients_file}"))
    from .. import environment

    clients.update(parse_clients(environment.value(environment.SERVE_CLIENTS) or "",
                                 f"${environment.SERVE_CLIENTS}"))
    return clients


def _serve(args: argparse.Namespace) -> int:
    import slugid

    from ..testing.auth import ClientRecord
    from ..testing.objects import Storage
    from ..testing.queue import InMemoryQueue
    from ..testing.server import LocalDeployment
    from ..testing.worker_manager import InMemoryWorkerManager

    clients = clients_of(args)
    token = None
    if not clients:
        token = slugid.nice() + slugid.nice()
        clients[DEFAULT_CLIENT] = ClientRecord(token, ("*",))
    deployment = LocalDeployment(args.references, clients=clients, host=args.host,
                                 port=args.port, check_scopes=args.check_scopes, imitate=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Storage(host=args.host) as storage, deployment:
        InMemoryQueue(storage, live_log=True).install(deployment)
        InMemoryWorkerManager().install(deployment)
        print(f"export TASKCLUSTER_ROOT_URL={deployment.root_url}")
        if token is not None:  # the local deployment's own test client, printed on purpose
            print(f"export TASKCLUSTER_CLIENT_ID={DEFAULT_CLIENT}")
            print(f"export TASKCLUSTER_ACCESS_TOKEN={token}")
        sys.stdout.flush()
        print(f"tcdyn serve: serving {deployment.references.describe()} at "
              f"{deployment.root_url}; Ctrl-C to stop", file=sys.stderr, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    print("tcdyn serve: stopped", file=sys.stderr, flush=True)
    return 0
