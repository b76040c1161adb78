"""Which proxy a request goes through: the one rule for every HTTP client tcdyn creates.

API calls (httpcore, httpx and aiohttp transports), uploads and downloads (sync and async),
reference fetching (``tcdyn.load``) and the command all ask ``ProxyRule.proxy_for``, so a
sync and an async client always agree. The rule is curl's and requests' where those agree:

- A URL ``http://...`` uses ``http_proxy`` or ``HTTP_PROXY``; ``https://...`` uses
  ``https_proxy`` or ``HTTPS_PROXY``; either falls back to ``all_proxy`` or ``ALL_PROXY``.
  The lower-case name is read first and, when set (even to nothing), hides the upper-case
  one; an empty value names no proxy. ``HTTP_PROXY`` (upper case) is ignored when
  ``REQUEST_METHOD`` is set: under CGI a client's ``Proxy:`` header becomes it (httpoxy).
- A value is ``scheme://[user[:password]@]host[:port]``: scheme ``http`` or ``https``
  (none: ``http://``), port 80/443 by default; user and password are percent-decoded and
  sent as ``Proxy-Authorization: Basic``, never shown. Any other value (``socks5://``, not a
  URL) raises ``ProxyConfigurationError`` naming the variable when a request would use it.
- ``no_proxy`` / ``NO_PROXY`` (the same case rule) lists, separated by commas or spaces,
  the hosts reached directly, compared case-insensitively without DNS: ``*`` (every host);
  ``example.com``, ``.example.com`` or ``*.example.com`` (that host and its subdomains);
  an IP address (``10.1.2.3``, ``::1``, ``[::1]``: a URL naming that address); a CIDR
  block (``10.0.0.0/8``, ``fd00::/8``: a URL naming an address inside). Any entry but ``*``
  may end in ``:port`` (``example.com:8443``, ``[::1]:8080``): then only that port, the
  URL's own or its scheme's default. A host name never matches an address entry, nor an
  address a name entry (nothing is resolved).

The environment is read when a client is made (``ProxyRule.from_environment()``), as httpx
reads it; a client made later sees a later environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from ..errors import ProxyConfigurationError

__all__ = ["Proxy", "ProxyRule"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SEPARATORS = re.compile(r"[,\s]+")
_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Proxy:
    """One proxy: ``url`` is ``scheme://host:port`` (no credentials), safe to show."""

    url: str
    scheme: str
    host: str
    port: int
    #: The variable it came from, for messages.
    variable: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        creds = ", with credentials" if self.username is not None else ""
        return f"Proxy({self.url} from {self.variable}{creds})"

    @property
    def auth(self) -> tuple[bytes, bytes] | None:
        """(user, password) as UTF-8 bytes for ``Proxy-Authorization: Basic``, or None."""
        if self.username is None:
            return None
        return self.username.encode(), (self.password or "").encode()

    @property
    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` value, or None (httpx and httpcore build the same
        from ``auth``)."""
        auth = self.auth
        if auth is None:
            return None
        import base64

        return "Basic " + base64.b64encode(b":".join(auth)).decode("ascii")


class _Unusable:
    """A proxy variable whose value tcdyn cannot use: an error if a request needs it."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _parse(variable: str, value: str) -> Proxy | _Unusable:
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    usage = "expected http://[user:password@]host[:port] or https://..."
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError:  # a bad port or bracket: the value is not shown (it may hold a password)
        return _Unusable(f"{variable} is not a proxy URL tcdyn can use ({usage})")
    scheme = parts.scheme.lower()
    if not host:
        return _Unusable(f"{variable} names no proxy host ({usage})")
    shown_host = f"[{host}]" if ":" in host else host
    if scheme not in _DEFAULT_PORTS:
        return _Unusable(f"{variable} names a {scheme}:// proxy ({shown_host}): tcdyn speaks "
                         "to http:// and https:// proxies only")
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    user = unquote(parts.username) if parts.username is not None else None
    if user is not None and ":" in user:
        return _Unusable(f"{variable} has a user name with ':', which Basic authentication "
                         "cannot carry")
    password = unquote(parts.password) if parts.password is not None else None
    return Proxy(f"{scheme}://{shown_host}:{port}", scheme, host, port, variable,
                 user, password)


def _read(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(the variable read, its value) for ``name`` by the case rule; None when neither is
    set. ``HTTP_PROXY`` is not read under CGI."""
    lower = name.lower()
    if lower in environ:
        return lower, environ[lower]
    if name in environ and not (name == "HTTP_PROXY" and "REQUEST_METHOD" in environ):
        return name, environ[name]
    return None


class _Exempt:
    """One ``NO_PROXY`` entry."""

    __slots__ = ("domain", "network", "port")

    def __init__(self, domain: str | None, network: _IPNetwork | None,
                 port: int | None) -> None:
        self.domain, self.network, self.port = domain, network, port

    def matches(self, host: str, address: _IPAddress | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and address in self.network
        domain = self.domain
        assert domain is not None
        if address is not None:  # an address is not a name with subdomains
            return host == domain
        return host == domain or host.endswith("." + domain)


def _exemption(entry: str) -> _Exempt | None:
    """A ``NO_PROXY`` entry; None for one that can match nothing."""
    entry = entry.strip().lower()
    port: int | None = None
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
    if bracketed:
        entry, port = bracketed.group(1), int(bracketed.group(2)) if bracketed.group(2) else None
    elif entry.count(":") == 1:  # host:port (an IPv6 address has more colons)
        entry, _, digits = entry.partition(":")
        if not digits.isdigit():
            return None
        port = int(digits)
    try:
        return _Exempt(None, ipaddress.ip_network(entry, strict=False), port)
    except ValueError:
        pass
    domain = entry.removeprefix("*").lstrip(".").rstrip(".")
    return _Exempt(domain, None, port) if domain else None


def _address(host: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class ProxyRule:
    """The proxy decision for one environment (see the module's docstring)."""

    __slots__ = ("_all", "_by_scheme", "_decided", "_everything_direct", "_exempt", "_lock",
                 "configured")

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        found = {scheme: _read(environ, f"{scheme.upper()}_PROXY")
                 for scheme in ("http", "https", "all")}
        parsed = {scheme: _parse(*pair) if pair and pair[1].strip() else None
                  for scheme, pair in found.items()}
        self._all = parsed.pop("all")
        self._by_scheme = parsed
        no_proxy = _read(environ, "NO_PROXY")
        entries = [e for e in _SEPARATORS.split(no_proxy[1]) if e] if no_proxy else []
        self._everything_direct = "*" in entries
        self._exempt = [x for x in map(_exemption, entries) if x is not None]
        self._decided: dict[tuple[str, str, int], Proxy | _Unusable | None] = {}
        self._lock = threading.Lock()
        #: Whether any request could go through a proxy (a variable names one, and
        #: ``NO_PROXY`` is not ``*``).
        self.configured = not self._everything_direct and (
            self._all is not None or any(p is not None for p in self._by_scheme.values()))

    @classmethod
    def from_environment(cls) -> ProxyRule:
        """The rule of ``os.environ`` as it is now."""
        return cls()

    def proxy_for(self, scheme: str, host: str, port: int | None = None) -> Proxy | None:
        """The proxy for a request to ``scheme://host:port`` (None: connect directly).
        Raises ``ProxyConfigurationError`` when the variable that applies is unusable."""
        if not self.configured:
            return None
        scheme = scheme.lower()
        key = (scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme, 0))
        decided = self._decided.get(key, False)
        if decided is False:
            decided = self._decide(*key)
            with self._lock:
                if len(self._decided) < 256:
                    self._decided[key] = decided
        if isinstance(decided, _Unusable):
            raise ProxyConfigurationError(decided.message)
        return decided  # type: ignore[return-value]  # False was replaced above

    def proxy_for_url(self, url: str) -> Proxy | None:
        """``proxy_for`` of a URL string."""
        parts = urlsplit(url)
        return self.proxy_for(parts.scheme, parts.hostname or "", parts.port)

    def _decide(self, scheme: str, host: str, port: int) -> Proxy | _Unusable | None:
        chosen = self._by_scheme.get(scheme) or self._all
        if chosen is None:
            return None
        name = host.strip("[]").rstrip(".").lower()
        address = _address(name)
        if any(x.matches(name, address, port) for x in self._exempt):
            return None
        return chosen

    def __repr__(self) -> str:
        proxies = {k: v for k, v in (*self._by_scheme.items(), ("all", self._all)) if v}
        shown = ", ".join(f"{k}: {v.url if isinstance(v, Proxy) else 'unusable'}"
                          for k, v in proxies.items())
        return f"ProxyRule({shown or 'direct'}, {len(self._exempt)} NO_PROXY entries)"
