"""Update a client's description and expiry, keeping its scopes.

    python examples/update_client.py CLIENT_ID "new description" --expires "1 year"

Needs ``auth:get-client:<clientId>``, ``auth:update-client:<clientId>`` and the client's
scopes in the credentials of
``TASKCLUSTER_CLIENT_ID`` / ``TASKCLUSTER_ACCESS_TOKEN`` at ``TASKCLUSTER_ROOT_URL``.
"""

from __future__ import annotations

import argparse
import sys

import tcdyn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("client_id")
    parser.add_argument("description")
    parser.add_argument("--expires", default="1 year",
                        help="time from now, as tcdyn.fromNow reads it (default: 1 year)")
    args = parser.parse_args(argv)
    with tcdyn.Auth.from_env() as auth:
        current = auth.client(args.client_id)
        updated = auth.updateClient(args.client_id, {
            "description": args.description,
            "expires": tcdyn.fromNow(args.expires),
            "scopes": current["scopes"],
        })
    print(f"Client ID:    {updated['clientId']}")
    print(f"Description:  {updated['description']}")
    print(f"Expires:      {updated['expires']}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except tcdyn.TaskclusterFailure as exc:  # one line on stderr, exit status 1
        sys.exit(f"error: {type(exc).__name__}: {exc}")
