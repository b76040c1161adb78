"""Credentials and small helpers: ``signed-url``, ``temp-creds``, ``expand-scopes``,
``whoami``, ``slugid``, ``from-now``."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from .output import CommandError, UsageError, emit


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("signed-url", parents=[common],
                       help="a URL with a bewit: GET it without credentials until it expires")
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("method", metavar="METHOD")
    p.add_argument("args", nargs="*", metavar="ARG", help="the method's route arguments")
    p.add_argument("--expires", default="15 minutes", metavar="DURATION",
                   help="how long it stays valid: '1h', '30 minutes', seconds (default 15 min)")
    p.set_defaults(run=_signed_url)

    p = sub.add_parser("temp-creds", parents=[common],
                       help="issue temporary credentials; prints TASKCLUSTER_* export lines")
    p.add_argument("--scope", action="append", required=True, metavar="SCOPE",
                   help="a scope they hold (repeat for more)")
    p.add_argument("--expiry", default="1h", metavar="DURATION",
                   help="how long they last, at most 31 days (default 1h)")
    p.add_argument("--name", help="named temporary credentials (needs auth:create-client:NAME)")
    from .access import add_export_option

    add_export_option(p)
    p.set_defaults(run=_temp_creds)

    p = sub.add_parser("expand-scopes", parents=[common],
                       help="the scopes these scopes expand to (roles resolved by auth)")
    p.add_argument("scopes", nargs="+", metavar="SCOPE")
    p.set_defaults(run=_expand_scopes)

    p = sub.add_parser("whoami", parents=[common],
                       help="clientId and effective scopes of the credentials in use")
    p.set_defaults(run=_whoami)

    p = sub.add_parser("slugid", help="new slugids, one per line")
    p.add_argument("--v4", action="store_true", help="v4 slugids (may start with '-')")
    p.add_argument("-n", type=_count, default=1, metavar="N", help="how many (default 1)")
    p.set_defaults(run=_slugid)

    p = sub.add_parser("from-now", help="a Taskcluster date this far from now")
    p.add_argument("offset", nargs="+", metavar="OFFSET", help="e.g. '2 hours', '-1 day', 3d")
    p.set_defaults(run=_from_now)


def duration(text: str, what: str) -> timedelta:
    """``'1h'``, ``'2 days 3 hours'`` or a number of seconds, > 0."""
    from ..dates import offset_of

    try:
        value = timedelta(seconds=float(text))
    except ValueError:
        try:
            future, value = offset_of(text)
        except ValueError as exc:
            raise UsageError(f"{what}: {exc}") from None
        if not future:
            value = -value
    if value <= timedelta(0):
        raise UsageError(f"{what}: {text!r} is not a positive duration")
    return value


def _settings(args: argparse.Namespace) -> Any:
    from .config import settings

    return settings(args.root_url, args.references)


def _signed_url(args: argparse.Namespace) -> int:
    from .api import _class_of, find_entry, find_service

    conf = _settings(args)
    model = find_service(conf.deployment(), args.service)
    entry = find_entry(model, args.method)
    seconds = duration(args.expires, "--expires").total_seconds()
    with conf.client(_class_of(model)) as client:
        if client.credentials is None:
            raise CommandError("signed-url needs credentials (TASKCLUSTER_CLIENT_ID/"
                               "_ACCESS_TOKEN or the config file)", 6)
        print(client.buildSignedUrl(entry.name, *args.args, expiration=seconds))
    return 0


def _temp_creds(args: argparse.Namespace) -> int:
    from .access import credential_pairs, export_lines

    conf = _settings(args)

    creds = conf.credentials()
    if creds is None:
        raise CommandError("temp-creds needs permanent credentials (TASKCLUSTER_CLIENT_ID/"
                           "_ACCESS_TOKEN or the config file)", 6)
    expiry = duration(args.expiry, "--expiry")
    temp = creds.create_temporary(args.scope, expiry=expiry, name=args.name)
    print(export_lines(credential_pairs(conf.root_url, temp), args.export))  # on purpose
    return 0


def _expand_scopes(args: argparse.Namespace) -> int:
    """One scope per line, as plain text (like ``slugid``), on a terminal and piped."""
    from .output import show

    with _settings(args).client("Auth") as auth:
        scopes = auth.expandScopes({"scopes": args.scopes})["scopes"]
    if scopes:
        show("\n".join(str(scope) for scope in scopes))
    return 0


def _whoami(args: argparse.Namespace) -> int:
    with _settings(args).client("Auth") as auth:
        if auth.credentials is None:
            raise CommandError("no credentials: set TASKCLUSTER_CLIENT_ID and "
                               "TASKCLUSTER_ACCESS_TOKEN, or use the config file", 6)
        emit(auth.meta.whoami())
    return 0


def _slugid(args: argparse.Namespace) -> int:
    from .quick import print_slugids

    print_slugids(args.n, args.v4)
    return 0


def _from_now(args: argparse.Namespace) -> int:
    from ..dates import fromNowJSON

    text = " ".join(args.offset)
    try:
        print(fromNowJSON(text))
    except ValueError as exc:
        raise UsageError(f"from-now: {exc}") from None
    return 0


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"not a positive count: {text!r}")
    return n
