"""List a task's latest artifacts with temporary credentials restricted by authorizedScopes.

    python examples/temporary_credentials.py TASK_ID [--scope 'queue:list-artifacts:*' ...]

Temporary credentials are derived (locally, no request) from the permanent ones of
``TASKCLUSTER_CLIENT_ID`` / ``TASKCLUSTER_ACCESS_TOKEN`` for one hour, with the scopes given;
the queue client then narrows them to ``queue:list-artifacts:<TASK_ID>`` with
``authorizedScopes``, the one scope ``listLatestArtifacts`` needs.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

import tcdyn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task_id")
    parser.add_argument("--scope", action="append", dest="scopes",
                        help="a scope of the temporary credentials (repeatable; default "
                             "queue:list-artifacts:* and queue:get-artifact:*)")
    args = parser.parse_args(argv)
    scopes = args.scopes or ["queue:list-artifacts:*", "queue:get-artifact:*"]
    authorized = [f"queue:list-artifacts:{args.task_id}"]
    permanent = tcdyn.Credentials.from_env()
    if permanent is None:
        print("set TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN", file=sys.stderr)
        return 2
    temporary = permanent.create_temporary(scopes, timedelta(hours=1))
    with tcdyn.Queue.from_env(credentials=temporary, authorizedScopes=authorized) as queue:
        print(f"Temporary credentials of {temporary.clientId}, scopes {scopes}, "
              f"authorized scopes {authorized}")
        print(f"Artifacts of {args.task_id}:")
        for artifact in queue.listLatestArtifacts.items(args.task_id):
            print(f"  {artifact['name']}  ({artifact['storageType']}, "
                  f"{artifact['contentType']}, expires {artifact['expires']})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except tcdyn.TaskclusterFailure as exc:  # one line on stderr, exit status 1
        sys.exit(f"error: {type(exc).__name__}: {exc}")
