"""Print a client's expiry and its expanded scopes (roles resolved by the auth service).

    python examples/client_scopes.py CLIENT_ID

The deployment and credentials come from ``TASKCLUSTER_ROOT_URL``, ``TASKCLUSTER_CLIENT_ID``
and ``TASKCLUSTER_ACCESS_TOKEN``, which need ``auth:get-client:<clientId>``.
"""

from __future__ import annotations

import argparse
import sys

import tcdyn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("client_id")
    args = parser.parse_args(argv)
    with tcdyn.Auth.from_env() as auth:
        try:
            client = auth.client(args.client_id)
        except tcdyn.ResourceNotFound:
            print(f"no client {args.client_id!r}", file=sys.stderr)
            return 1
    print(f"Client ID:  {client['clientId']}")
    print(f"Expires:    {client['expires']}")
    print("Scopes:")
    for scope in client["expandedScopes"]:
        print(f"  {scope}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except tcdyn.TaskclusterFailure as exc:  # one line on stderr, exit status 1
        sys.exit(f"error: {type(exc).__name__}: {exc}")
