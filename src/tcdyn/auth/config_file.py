"""The config file the library and the ``tcdyn`` command both read, and the one rule for
where a rootUrl and credentials come from: arguments, then the environment
(``tcdyn.environment``), then this file.

The file is ``$TCDYN_CONFIG``, else ``$XDG_CONFIG_HOME/tcdyn/config.toml``, else
``~/.config/tcdyn/config.toml``::

    root_url = "https://tc.example.com"
    references = "/path/to/mirror"        # optional: a mirror or a rootUrl

    [credentials]
    client_id = "me"
    access_token = "..."
    certificate = "..."                   # optional, for temporary credentials

    [pulse]
    url = "amqps://user:password@pulse.example.com/"

Unknown keys are refused by name; a file holding a secret (an access token, a certificate, a
Pulse password) is refused when group or others may read it, or when another user owns it.
The file's credentials belong to its ``root_url``: they are used only for that deployment.
``write`` replaces the file atomically, private (0600) from its first byte.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import environment
from ..errors import ConfigFileError, CredentialsError
from ..redact import url_password
from .credentials import Credentials

#: The variable naming another config file.
CONFIG_VARIABLE = environment.CONFIG
#: The longest config file read (a config file is a few lines).
MAX_SIZE = 1024 * 1024

_KEYS = {"root_url": str, "references": str, "credentials": dict, "pulse": dict}
_SECTIONS = {"credentials": ("client_id", "access_token", "certificate"), "pulse": ("url",)}


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is (it need not exist)."""
    given = environment.value(environment.CONFIG, environ)
    if given:
        return Path(given).expanduser()
    base = environment.value(environment.XDG_CONFIG_HOME, environ) or Path.home() / ".config"
    return Path(base) / "tcdyn" / "config.toml"


@dataclass
class ConfigFile:
    """The config file's settings (empty when there is no file)."""

    path: Path
    root_url: str | None = None
    references: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    pulse_url: str | None = None

    def __repr__(self) -> str:  # never the secrets
        return (f"ConfigFile(path={str(self.path)!r}, root_url={self.root_url!r}, "
                f"clientId={self.credentials.get('client_id')!r})")

    def credentials_for(self, root_url: str | None) -> Credentials | None:
        """The file's credentials when they belong to ``root_url`` (the file's own
        ``root_url``; any deployment when the file names none); else ``None``."""
        if not self.credentials:
            return None
        if root_url and self.root_url and not _same_root(root_url, self.root_url):
            return None
        client_id = self.credentials.get("client_id")
        token = self.credentials.get("access_token")
        if not client_id or not token:
            raise ConfigFileError(str(self.path), "[credentials] needs both client_id and "
                                  "access_token")
        try:
            return Credentials(client_id, token, self.credentials.get("certificate") or None)
        except CredentialsError as exc:
            raise ConfigFileError(str(self.path), str(exc)) from None


def read(path: Path | None = None) -> ConfigFile:
    """Read and check the config file; a missing file is an empty ``ConfigFile``."""
    path = config_path() if path is None else Path(path)
    where = str(path)
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            data = f.read(MAX_SIZE + 1)
    except FileNotFoundError:
        return ConfigFile(path)
    except OSError as exc:
        raise ConfigFileError(where, exc.strerror or str(exc)) from None
    if len(data) > MAX_SIZE:
        raise ConfigFileError(where, f"larger than {MAX_SIZE} bytes")
    import tomllib

    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigFileError(where, f"not valid TOML: {exc}") from None
    for key, value in doc.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise ConfigFileError(where, f"unknown key {key!r} (known: "
                                  f"{', '.join(sorted(_KEYS))})")
        if not isinstance(value, kind):
            raise ConfigFileError(where, f"{key} must be a "
                                  f"{'table' if kind is dict else 'string'}")
        if kind is dict:
            for sub, item in value.items():
                if sub not in _SECTIONS[key]:
                    raise ConfigFileError(where, f"unknown key {key}.{sub} (known: "
                                          f"{', '.join(sorted(_SECTIONS[key]))})")
                if not isinstance(item, str):
                    raise ConfigFileError(where, f"{key}.{sub} must be a string")
    config = ConfigFile(path, root_url=doc.get("root_url"), references=doc.get("references"),
                        credentials=dict(doc.get("credentials", {})),
                        pulse_url=doc.get("pulse", {}).get("url"))
    if _holds_secret(config):
        _check_private(where, info)
    return config


def _holds_secret(config: ConfigFile) -> bool:
    if config.credentials.get("access_token") or config.credentials.get("certificate"):
        return True
    return bool(config.pulse_url and url_password(config.pulse_url))


def _check_private(where: str, info: os.stat_result) -> None:
    if os.name != "posix":
        return
    if info.st_uid != os.getuid():
        raise ConfigFileError(where, f"holds credentials but is owned by another user (uid "
                              f"{info.st_uid}); refusing to use it")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigFileError(where, f"holds credentials but group or others may read it "
                              f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 "
                              f"{where}")


def _same_root(a: str, b: str) -> bool:
    """Whether two rootUrls name the same deployment (scheme, host, port and path alike,
    without a trailing ``/``)."""
    return _root_key(a) == _root_key(b)


def _root_key(url: str) -> tuple[str, str, int | None, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        port = None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port,
            parts.path.rstrip("/"))


# -- the rule: arguments, environment, config file -------------------------------------

@dataclass(frozen=True)
class Resolved:
    """Where a client goes and as whom. ``proxy_url``: inside a task, the
    taskcluster-proxy (requests unsigned); ``credentials_from``: ``"arguments"``,
    ``"environment"``, ``"config file"`` or ``None``."""

    root_url: str | None
    credentials: Credentials | None
    proxy_url: str | None = None
    credentials_from: str | None = None

    def __repr__(self) -> str:
        who = self.credentials.clientId if self.credentials else None
        return (f"Resolved(root_url={self.root_url!r}, clientId={who!r}, "
                f"proxy_url={self.proxy_url!r}, credentials_from={self.credentials_from!r})")


_UNSET: Any = object()


def resolve(root_url: str | None = None, credentials: Any = _UNSET, *,
            environ: Mapping[str, str] | None = None, path: Path | None = None) -> Resolved:
    """The rootUrl: ``root_url``, else ``TASKCLUSTER_ROOT_URL``, else the file's
    ``root_url``. Credentials: ``credentials`` (``None`` too: explicitly none), else the
    ``TASKCLUSTER_*`` credential variables, else (inside a task) the taskcluster-proxy of
    ``TASKCLUSTER_PROXY_URL``, else the file's when they belong to that rootUrl. The file is
    read only when arguments and environment leave something open."""
    root = root_url or environment.value(environment.ROOT_URL, environ)
    source: str | None
    if credentials is not _UNSET:
        creds = Credentials.coerce(credentials)
        source = "arguments" if creds is not None else None
    else:
        creds = Credentials.from_env(environ)
        source = "environment" if creds is not None else None
        if creds is None:
            proxy = environment.value(environment.PROXY_URL, environ)
            if proxy:
                return Resolved(root, None, proxy.rstrip("/"))
    if root and (creds is not None or credentials is not _UNSET):
        return Resolved(root, creds, None, source)
    config = read(config_path(environ) if path is None else path)
    root = root or config.root_url
    if creds is None and credentials is _UNSET:
        creds = config.credentials_for(root)
        source = "config file" if creds is not None else None
    return Resolved(root, creds, None, source)


# -- writing ----------------------------------------------------------------------------

def write(path: Path | None = None, *, root_url: str, credentials: Credentials) -> Path:
    """Store ``root_url`` and ``credentials`` in the config file, keeping its other
    settings (``references``, ``[pulse]``; comments are not kept). The new file is written
    beside the old one, private (0600) from the start, and renamed over it. A file that
    cannot be read (not TOML, not private) is left alone: ``ConfigFileError``."""
    import tempfile

    path = config_path() if path is None else Path(path)
    old = read(path)
    lines = [f"root_url = {_toml(root_url)}"]
    if old.references:
        lines.append(f"references = {_toml(old.references)}")
    lines += ["", "[credentials]", f"client_id = {_toml(credentials.clientId)}",
              f"access_token = {_toml(credentials.accessToken)}"]
    if credentials.certificate is not None:
        import json

        cert = json.dumps(dict(credentials.certificate), separators=(",", ":"))
        lines.append(f"certificate = {_toml(cert)}")
    if old.pulse_url:
        lines += ["", "[pulse]", f"url = {_toml(old.pulse_url)}"]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigFileError(str(path), f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp made it 0600
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ConfigFileError(str(path), f"cannot write: {exc.strerror or exc}") from None
        raise
    return path


def _toml(text: str) -> str:
    """A TOML basic string."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
