"""``tcdyn signin``: credentials from the deployment's web UI, into the config file (or a
shell); ``tcdyn signin --check``: whether the credentials in use work, and until when.

It opens <rootUrl>/auth/clients/create in a browser; once you save the form there, the UI
creates the client <your clientId>/<name>-<6 characters> with the scopes asked for that
you hold, and sends its credentials back to tcdyn on http://localhost:PORT/<random nonce>
(served on 127.0.0.1; any other request is refused). tcdyn checks them with the
deployment, then stores root_url and [credentials] in the config file (0600, replaced
atomically, its other settings kept), or with --export prints export lines:
eval "$(tcdyn signin --export sh)", or: tcdyn signin --export fish | source.
Signing in needs no credentials.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .output import CommandError, prose


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    from .access import SHELLS

    p = sub.add_parser("signin", parents=[common], description=prose(__doc__),
                       help="get credentials through the web UI, into the config file")
    p.add_argument("--name", default="tcdyn", help="the client's name, after your own "
                   "clientId and before a random suffix (default: tcdyn)")
    p.add_argument("--scope", action="append", metavar="SCOPE",
                   help="a scope to ask for (repeat for more; default: '*', which the UI "
                        "narrows to the scopes you hold)")
    p.add_argument("--expires", default="1 day", metavar="DURATION",
                   help="how long the client lasts: '12 hours', '2 weeks' (default 1 day)")
    p.add_argument("--export", choices=SHELLS, metavar="SHELL",
                   help="print export lines for sh or fish instead of writing the config "
                        "file")
    p.add_argument("--no-browser", action="store_true",
                   help="do not open a browser; open the printed URL yourself")
    p.add_argument("--port", type=int, default=0, help="the callback's port (default: any "
                   "free one)")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                   help="how long to wait for the browser (default 300)")
    p.add_argument("--check", action="store_true",
                   help="only say whether the credentials in use work and when they "
                        "expire (exit 6 when they do not)")
    p.set_defaults(run=_signin)


def _signin(args: argparse.Namespace) -> int:
    from .config import settings

    conf = settings(args.root_url, args.references)
    root_url = conf.require_root_url()
    if args.check:
        return _check(conf, root_url)
    from ..auth import signin
    from ..errors import TaskclusterArgumentError
    from .output import UsageError

    scopes = args.scope or list(signin.DEFAULT_SCOPES)
    try:
        signin.check_request(args.name, scopes, args.expires)
    except TaskclusterArgumentError as exc:
        raise UsageError(f"signin: {exc}") from None

    def show_url(url: str) -> None:
        _say(f"sign in at: {url}")
        _say("waiting for the UI to call back (Ctrl-C to stop)...")
        if not args.no_browser:
            import webbrowser

            if not webbrowser.open(url):
                _say("no browser could be opened: open the URL above yourself")

    creds = signin.signin(root_url, name=args.name, scopes=scopes, expires=args.expires,
                          timeout=args.timeout, port=args.port, open_url=show_url,
                          on_refused=lambda why: _say(f"refused a request: {why}"))
    result = signin.check(root_url, creds, classes=_classes(conf))
    if not result.ok:
        raise CommandError(f"the UI sent credentials for {creds.clientId} that "
                           f"{root_url} does not accept: {result.reason}", 6)
    if args.export:
        from .access import credential_pairs, export_lines

        print(export_lines(credential_pairs(root_url, creds), args.export))  # on purpose
        _say(f"signed in as {creds.clientId}{_until(result)}")
        return 0
    from ..auth import config_file
    from ..errors import ConfigFileError
    from .config import ConfigError

    try:
        path = config_file.write(conf.config.path, root_url=root_url, credentials=creds)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    _say(f"signed in as {creds.clientId}{_until(result)}; credentials written to {path}")
    from .. import environment

    if environment.value(environment.CLIENT_ID):
        _say(f"note: {environment.CLIENT_ID} is set, and the environment wins over the "
             "config file: unset it to use these credentials")
    return 0


def _classes(conf: Any) -> Any:
    """The classes ``--references`` names (else the default set): ``check`` reads only
    ``auth.currentScopes`` and ``auth.client``, which every set has."""
    return conf.deployment() if conf.references else None


def _check(conf: Any, root_url: str) -> int:
    from .. import environment
    from ..auth.signin import check

    creds = conf.credentials()
    if creds is None:
        raise CommandError(f"not signed in to {root_url}: no credentials (run tcdyn signin, "
                           "or set TASKCLUSTER_CLIENT_ID and TASKCLUSTER_ACCESS_TOKEN)", 6)
    where = ("the environment" if environment.value(environment.CLIENT_ID)
             else f"the config file {conf.config.path}")
    result = check(root_url, creds, classes=_classes(conf))
    if not result.ok:
        raise CommandError(f"the credentials of {creds.clientId} (from {where}) do not work "
                           f"on {root_url}: {result.reason}", 6)
    scopes = f", {len(result.scopes)} scopes" if result.scopes is not None else ""
    print(f"signed in to {root_url} as {creds.clientId} (from {where}){scopes}")
    if result.expires is not None:
        print(f"expires {_date(result.expires)}{_left(result.expires)}")
    else:
        print(f"expiry unknown: {result.expires_unknown}")
    return 0


def _until(result: Any) -> str:
    return f" until {_date(result.expires)}" if result.expires is not None else ""


def _date(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _left(moment: Any) -> str:
    from datetime import UTC, datetime

    seconds = (moment - datetime.now(UTC)).total_seconds()
    if seconds <= 0:
        return " (expired)"
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f" (in {int(seconds // size)} {unit})"
    return f" (in {int(seconds)} seconds)"


def _say(text: str) -> None:
    from ..terminal import escape

    print(f"tcdyn signin: {escape(text)}", file=sys.stderr, flush=True)
