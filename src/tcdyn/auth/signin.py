"""Sign in from a terminal through a deployment's web UI, as its CLI login expects.

The flow is the v106 UI's (``ui/src/views/Clients/ViewClient``): tcdyn opens
``<rootUrl>/auth/clients/create?scope=...&name=...&expires=...&callback_url=...&description=...``
in a browser; the signed-in user saves the form; the UI creates the client
``<their clientId>/<name>`` with the scopes asked for that they hold, then redirects to
``<callback_url>?clientId=<clientId>&accessToken=<accessToken>``, the values pasted in
without encoding. The UI accepts only ``http(s)://localhost[:port]`` callbacks, so the
callback is ``http://localhost:<port>/<nonce>``, served on 127.0.0.1 by ``CallbackServer``:
one GET of exactly that path (a fresh random nonce per sign-in, compared in constant time),
with ``Host`` naming that port on localhost or 127.0.0.1 (a page elsewhere cannot reach it
by DNS rebinding), a query of at most ``MAX_QUERY`` bytes holding one ``clientId`` and one
``accessToken`` of the shapes the auth service gives. Anything else is refused (404 wrong
path, 405 wrong method, 414 too long, 400 bad host or query) and said in ``refused``; the
server keeps waiting for the real redirect.

``check`` says whether credentials work and when they expire.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import quote, unquote

from ..errors import SigninError, TaskclusterArgumentError
from .credentials import Credentials

#: The UI page that creates a client and calls back (v106; the legacy rootUrl
#: ``https://taskcluster.net`` had ``/auth/clients/new``).
UI_PATH = "/auth/clients/create"
#: The callbacks the v106 UI redirects to (``isAllowedCallback``), as it writes it.
UI_ALLOWED_CALLBACK = re.compile(r"^https?://localhost(:[0-9]+)?(/|$)")
#: The longest callback query taken (a clientId and a 22-66 character accessToken).
MAX_QUERY = 4096
#: The auth service's patterns (``params.clientId``; ``create-client-response.json``).
CLIENT_ID = re.compile(r"^[A-Za-z0-9!@/:.+|_-]+$")
ACCESS_TOKEN = re.compile(r"^[a-zA-Z0-9_-]{22,66}$")
#: The UI's ``parseTime``: what ``expires`` may say (years ... seconds, optional sign).
UI_TIME = re.compile(
    r"^(\s*(-|\+))?(\s*(\d+)\s*y((ears?)|r)?)?(\s*(\d+)\s*mo(nths?)?)?"
    r"(\s*(\d+)\s*w((eeks?)|k)?)?(\s*(\d+)\s*d(ays?)?)?(\s*(\d+)\s*h((ours?)|r)?)?"
    r"(\s*(\d+)\s*m(in(utes?)?)?)?(\s*(\d+)\s*s(ec(onds?)?)?)?\s*$", re.I)
DEFAULT_NAME = "tcdyn"
DEFAULT_EXPIRES = "1 day"
DEFAULT_SCOPES = ("*",)
CALLBACK_TIMEOUT = 300.0
DESCRIPTION = "Client for the command line, made by tcdyn signin"

_PAGE = (b"<!doctype html><html><head><meta charset='utf-8'><title>Signed in</title></head>"
         b"<body><h1>You are signed in</h1><p>tcdyn has your new credentials; you may close "
         b"this window.</p></body></html>")


def login_url(root_url: str, callback_url: str, *, name: str = DEFAULT_NAME,
              scopes: Sequence[str] = DEFAULT_SCOPES, expires: str = DEFAULT_EXPIRES,
              description: str = DESCRIPTION) -> str:
    """The UI page to open: every value percent-encoded, ``scope`` once per scope (the
    UI reads a repeated ``scope`` as a list, a single one as one scope)."""
    check_request(name, scopes, expires)
    query = [("scope", s) for s in scopes]
    query += [("name", name), ("expires", expires), ("callback_url", callback_url),
              ("description", description)]
    text = "&".join(f"{k}={quote(v, safe='')}" for k, v in query)
    return f"{root_url.rstrip('/')}{UI_PATH}?{text}"


def check_request(name: str, scopes: Sequence[str], expires: str) -> None:
    """Refuse, before a browser opens, what the UI or the auth service would refuse."""
    if not isinstance(name, str) or not CLIENT_ID.match(name):
        raise TaskclusterArgumentError(
            f"name {name!r}: a client name may hold only A-Z a-z 0-9 and !@/:.+|_- (it "
            "becomes the end of the new clientId)")
    if isinstance(scopes, str) or not scopes:
        raise TaskclusterArgumentError("scopes: give a list of at least one scope")
    for scope in scopes:
        if not isinstance(scope, str) or not re.fullmatch(r"[ -~]*", scope):
            raise TaskclusterArgumentError(f"scope {scope!r}: printable ASCII only")
    match = UI_TIME.match(expires) if isinstance(expires, str) else None
    if match is None or not any(match.group(i) for i in (4, 8, 11, 15, 18, 22, 25)) \
            or match.group(2) == "-" or not any(
                int(match.group(i) or 0) for i in (4, 8, 11, 15, 18, 22, 25)):
        raise TaskclusterArgumentError(
            f"expires {expires!r}: say how long from now, e.g. '1 day', '12 hours', "
            "'2 weeks' (years, months, weeks, days, hours, minutes, seconds)")


# -- the callback -------------------------------------------------------------------------

class CallbackServer:
    """The one-shot loopback server the UI redirects to (see the module's docstring)::

        with CallbackServer() as server:
            webbrowser.open(login_url(root_url, server.callback_url))
            credentials = server.wait(timeout=300)
    """

    def __init__(self, port: int = 0) -> None:
        self.nonce = secrets.token_urlsafe(32)
        #: Why each refused request was refused (newest last).
        self.refused: list[str] = []
        self.on_refused: Callable[[str], None] | None = None
        self._done = threading.Event()
        self._credentials: Credentials | None = None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def callback_url(self) -> str:
        """``http://localhost:<port>/<nonce>``: the form the v106 UI redirects to."""
        return f"http://localhost:{self.port}/{self.nonce}"

    def start(self) -> CallbackServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                            name="tcdyn-signin-callback", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> CallbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait(self, timeout: float | None = CALLBACK_TIMEOUT) -> Credentials:
        """The credentials of the first accepted callback; ``SigninError`` when none came
        within ``timeout`` seconds."""
        if not self._done.wait(timeout):
            seen = f"; refused {len(self.refused)} other request(s)" if self.refused else ""
            raise SigninError(f"no sign-in came back within {timeout:g} seconds{seen} (was "
                              "the form in the browser saved?)")
        assert self._credentials is not None
        return self._credentials

    # -- what the handler decides ------------------------------------------------------

    def answer(self, method: str, target: str, host: str | None) -> tuple[int, str]:
        """The status (and the reason, for a refusal) of one request."""
        path, _, query = target.partition("?")
        if not _host_ok(host, self.port):
            return self._refuse(400, "a Host other than localhost or 127.0.0.1 on this port")
        if not hmac.compare_digest(path.encode(), f"/{self.nonce}".encode()):
            return self._refuse(404, "a path other than the callback's")
        if method != "GET":
            return self._refuse(405, f"method {method[:16]} (only GET)")
        if len(query) > MAX_QUERY:
            return self._refuse(414, f"a query of {len(query)} bytes (at most {MAX_QUERY})")
        found = _credentials(query)
        if isinstance(found, str):
            return self._refuse(400, found)
        with self._lock:
            if self._done.is_set():
                return self._refuse(409, "a second callback (the first was taken)")
            self._credentials = found
            self._done.set()
        return 200, ""

    def _refuse(self, status: int, why: str) -> tuple[int, str]:
        self.refused.append(f"{status}: {why}")
        if self.on_refused is not None:
            self.on_refused(why)
        return status, why


def _host_ok(host: str | None, port: int) -> bool:
    return host is not None and host.lower() in (f"localhost:{port}", f"127.0.0.1:{port}")


def _credentials(query: str) -> Credentials | str:
    """The clientId and accessToken of the UI's redirect, or why the query is refused.
    The UI does not encode them, so a ``+`` is a plus (not a space, as in a form)."""
    values: dict[str, str] = {}
    for part in query.split("&") if query else ():
        key, eq, value = part.partition("=")
        if key not in ("clientId", "accessToken") or not eq:
            return "a query with something other than clientId and accessToken"
        if key in values:
            return f"a query with {key} twice"
        values[key] = unquote(value, errors="strict")
    if set(values) != {"clientId", "accessToken"}:
        return "a query without clientId and accessToken"
    if not CLIENT_ID.match(values["clientId"]) or len(values["clientId"]) > 1024:
        return "a clientId the auth service would not give"
    if not ACCESS_TOKEN.match(values["accessToken"]):
        return "an accessToken the auth service would not give"
    return Credentials(values["clientId"], values["accessToken"])


class _Server(HTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser hanging up is not news."""


def _handler(owner: CallbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "tcdyn-signin"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # never log the query
            pass

        def _serve(self) -> None:
            status, why = owner.answer(self.command, self.path, self.headers.get("Host"))
            body = _PAGE if status == 200 else f"tcdyn signin: refused: {why}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8" if status == 200
                             else "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            if status == 405:
                self.send_header("Allow", "GET")
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True

        def send_error(self, code: int, message: str | None = None,
                       explain: str | None = None) -> None:
            """http.server's own refusals (a request line over 64 KiB: 414, garbage: 400),
            counted like the others, without echoing the request."""
            owner._refuse(code, "a request http.server could not read")
            self.send_response_only(code)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    return Handler


def signin(root_url: str, *, name: str = DEFAULT_NAME, scopes: Sequence[str] = DEFAULT_SCOPES,
           expires: str = DEFAULT_EXPIRES, timeout: float | None = CALLBACK_TIMEOUT,
           port: int = 0, open_url: Callable[[str], Any] | None = None,
           on_refused: Callable[[str], None] | None = None) -> Credentials:
    """Get new credentials through ``root_url``'s web UI: ``open_url(url)`` (default:
    ``webbrowser.open``) shows the UI's create-client page; returns the credentials it
    calls back with. The name is made unique (``<name>-<6 characters>``), as the shell's
    signin does, so that signing in again creates a new client."""
    import webbrowser

    check_request(name, scopes, expires)
    unique = f"{name}-{secrets.token_hex(3)}"
    with CallbackServer(port) as server:
        server.on_refused = on_refused
        (open_url or webbrowser.open)(login_url(root_url, server.callback_url, name=unique,
                                                scopes=scopes, expires=expires))
        return server.wait(timeout)


# -- checking ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """What the deployment says of some credentials. ``ok``: they authenticate;
    ``expires``: when they stop working (``None`` when the deployment would not say,
    ``expires_unknown`` then says why); ``scopes``: their expanded scopes, when readable."""

    root_url: str
    client_id: str
    ok: bool
    reason: str | None = None
    expires: datetime | None = None
    expires_unknown: str | None = None
    scopes: tuple[str, ...] | None = None
    temporary: bool = False


def check(root_url: str, credentials: Credentials, *, classes: Any = None) -> Check:
    """Ask ``root_url``'s auth service whether ``credentials`` work (``whoami``) and when
    they expire (a certificate's expiry; else ``auth.client``, which needs
    ``auth:get-client:<clientId>``)."""
    from ..errors import (
        InsufficientScopes,
        ResourceNotFound,
        TaskclusterAuthFailure,
    )

    if classes is None:
        from .. import default

        auth_class = default.default_class("Auth")
    else:
        auth_class = classes.Auth
    who = credentials.clientId
    with auth_class(rootUrl=root_url, credentials=credentials) as auth:
        try:
            me = auth.whoami()
        except TaskclusterAuthFailure as exc:
            return Check(root_url, who, False, reason=exc.message)
        scopes = me.get("scopes")
        scopes = tuple(scopes) if scopes is not None else None
        if credentials.is_temporary():
            return Check(root_url, who, True, expires=credentials.expires, scopes=scopes,
                         temporary=True)
        try:
            record = auth.client(who)
        except InsufficientScopes:
            return Check(root_url, who, True, scopes=scopes,
                         expires_unknown=f"reading it needs auth:get-client:{who}")
        except ResourceNotFound:  # a static client has no record to read
            return Check(root_url, who, True, scopes=scopes,
                         expires_unknown="the deployment keeps no client record for it")
    try:
        expires = datetime.fromisoformat(record["expires"])
    except (KeyError, TypeError, ValueError):
        return Check(root_url, who, True, scopes=scopes,
                     expires_unknown="the deployment's answer has no usable expiry")
    return Check(root_url, who, True, expires=expires, scopes=scopes)
