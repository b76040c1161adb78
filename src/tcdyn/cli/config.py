"""Where the command's rootUrl, credentials and Pulse URL come from.

In order: the command line (``--root-url``, ``--references``, ``--url``; never a secret),
the environment (``TASKCLUSTER_ROOT_URL``, ``TASKCLUSTER_CLIENT_ID`` / ``_ACCESS_TOKEN`` /
``_CERTIFICATE``, ``TASKCLUSTER_REFERENCES``, ``TCDYN_PULSE_URL``, ``TCDYN_PULSE_PASSWORD``
for a Pulse URL without one), then the config file (where it lives and its form:
``tcdyn.auth.config_file``).

The file is read, and refused, by the library's reader (``tcdyn.auth.config_file``), whose
rule this follows: a file holding a secret that group or others may read, or that another
user owns, is refused, and its credentials are used only for its own ``root_url``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .output import HTTP_5XX, CommandError, UsageError

if TYPE_CHECKING:
    from ..auth.config_file import ConfigFile as Config
    from ..auth.credentials import Credentials
    from ..deployment import Deployment
    from ..errors import ReferenceLoadError


class ConfigError(UsageError):
    """The config file cannot be used (exit status 2)."""


def config_path() -> Path:
    from ..auth.config_file import config_path as path

    return path()


def load_config(path: Path | None = None) -> Config:
    """The library's reader (``tcdyn.auth.config_file.read``); a file it refuses is a
    ``ConfigError`` (exit status 2)."""
    from ..auth.config_file import read
    from ..errors import ConfigFileError

    try:
        return read(path)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None


# -- resolution -----------------------------------------------------------------------

@dataclass
class Settings:
    """What one command run uses."""

    root_url: str | None
    references: str | None
    config: Config
    _deployment: Deployment | None = field(default=None, repr=False, compare=False)

    def credentials(self) -> Credentials | None:
        """From the ``TASKCLUSTER_*`` variables, else the config file when its credentials
        belong to this rootUrl (``tcdyn.auth.config_file``'s rule), else ``None``."""
        from ..auth.credentials import Credentials

        from_env = Credentials.from_env()
        if from_env is not None:
            return from_env
        from ..errors import ConfigFileError

        try:
            return self.config.credentials_for(self.root_url)
        except ConfigFileError as exc:
            raise ConfigError(str(exc)) from None

    def require_root_url(self) -> str:
        if not self.root_url:
            raise UsageError("no rootUrl: pass --root-url, set TASKCLUSTER_ROOT_URL, or put "
                             f"root_url in {self.config.path}")
        return self.root_url

    def deployment(self) -> Deployment:
        """The reference set to build classes from: ``--references`` /
        ``$TASKCLUSTER_REFERENCES`` / the config's ``references``; else the rootUrl's own
        references (fetched once a day into the cache); else the bundled set. Resolved once
        per run."""
        if self._deployment is None:
            self._deployment = self._resolve_deployment()
        return self._deployment

    def _resolve_deployment(self) -> Deployment:
        from .. import deployment as dep
        from ..default import default

        source = self.references or self.root_url
        if source:
            if source == "bundled":
                return dep.Deployment(_bundled())
            return load_references(source)
        return default()

    def client(self, class_name: str) -> Any:
        """A client of ``class_name`` for the resolved rootUrl and credentials."""
        cls = self.deployment().build(class_name)
        return cls(rootUrl=self.require_root_url(), credentials=self.credentials())


def load_references(source: str, **kwargs: Any) -> Deployment:
    """``tcdyn.load(source)``, a failure said in the command's words (``references_error``)."""
    from .. import deployment as dep
    from ..errors import ReferenceLoadError

    try:
        return dep.load(source, **kwargs)
    except ReferenceLoadError as exc:
        raise references_error(source, exc) from None


def references_error(source: str, exc: ReferenceLoadError) -> Exception:
    """What to say when a deployment's references cannot be had: nothing answered (exit 4,
    "cannot reach"), a server error (exit 4), or an answer that is no Taskcluster
    deployment's: no manifest, or not one (exit 2, "check the rootUrl"). Anything else
    (a malformed reference of a real deployment, a local directory) as it is (exit 1)."""
    if not source.startswith(("http://", "https://")):
        return exc
    root = source.rstrip("/")
    detail = str(exc).removeprefix(f"{exc.source}: ")
    if exc.unreachable:
        why = detail.removeprefix("could not be fetched: ")
        return CommandError(f"cannot reach {root} ({why})", HTTP_5XX)
    if exc.status_code is not None and exc.status_code >= 500:
        return CommandError(f"{root} answered HTTP {exc.status_code} for its references "
                            f"({exc.source})", HTTP_5XX)
    if exc.source == f"{root}/references/manifest.json":
        return UsageError(f"{root} does not look like a Taskcluster deployment: it serves no "
                          f"API references (GET {exc.source}: {detail}); check the rootUrl "
                          "(--root-url, $TASKCLUSTER_ROOT_URL, the config file)")
    return exc


def _bundled() -> Any:
    from ..references.index import ReferenceSet

    return ReferenceSet.bundled()


def settings(root_url: str | None = None, references: str | None = None) -> Settings:
    """Resolve the command line over the environment over the config file."""
    config = load_config()
    from .. import environment

    given = (("--root-url", root_url), ("$TASKCLUSTER_ROOT_URL",
                                        environment.value(environment.ROOT_URL)),
             (f"root_url in {config.path}", config.root_url))
    where, root = next(((w, r) for w, r in given if r), ("", None))
    if root:
        from ..checks import root_url as normal_root_url

        try:
            root = normal_root_url(root)
        except ValueError:
            raise UsageError(f"{where}: {root!r} is not a rootUrl (an http:// or https:// "
                             "URL, e.g. https://tc.example.com)") from None
    refs = references or environment.value(environment.REFERENCES) or config.references
    return Settings(root, refs, config)


def pulse_url(given: str | None) -> str:
    """``--url`` (never with a password: every user may read a command line), else
    ``$TCDYN_PULSE_URL``, else the config's ``[pulse] url``; a URL without a password
    takes ``$TCDYN_PULSE_PASSWORD``. Each refusal is a ``UsageError`` that shows no
    password."""
    from urllib.parse import quote, urlsplit, urlunsplit

    from .. import environment
    from ..redact import url_password, userinfo_cut_short

    if given and url_password(given):
        raise UsageError("--url must not hold a password (every user of this machine can "
                         "read a command line): set TCDYN_PULSE_PASSWORD and give --url "
                         "without it, or put the whole URL in $TCDYN_PULSE_URL or [pulse] "
                         f"url in {config_path()}")
    if given:
        url, where = given, "--url"
    elif environment.value(environment.PULSE_URL):
        url, where = environment.value(environment.PULSE_URL) or "", f"${environment.PULSE_URL}"
    else:
        config = load_config()
        url, where = config.pulse_url or "", f"[pulse] url in {config.path}"
    if not url:
        raise UsageError("no Pulse URL: pass --url, set TCDYN_PULSE_URL, or put "
                         f"[pulse] url in {config_path()}")
    if userinfo_cut_short(url):
        raise UsageError(f"the Pulse URL of {where} has an unencoded '/', '?' or '#' in its "
                         "user name or password: percent-encode them (%2F, %3F, %23); the "
                         "URL is not shown, as it holds a password")
    password = environment.value(environment.PULSE_PASSWORD)
    parts = urlsplit(url)
    if password and "@" in parts.netloc and parts.password is None:
        user, _, host = parts.netloc.rpartition("@")
        url = urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))
    return url
