"""What counts as a secret when a value is shown in an error message, and how to hide it.

Used for schema-error reports (a payload's ``env``, a response's ``accessToken``) and for
URLs echoed by errors. Hiding too much in an error message costs little; showing a secret
costs a rotation, so the rules are broad:

- a value under a key whose name contains ``key``, ``token``, ``secret``, ``passw``,
  ``credential``, ``signature``, ``certificate``, ``cookie``, ``private``, ``bewit``,
  ``authorization`` (any case: ``DEPLOY_KEY``, ``accessToken``), or named ``sas``/``dsn``;
- every value inside an environment-like mapping (``env``, ``environment``, ``envVars``,
  ``variables``...);
- a string that looks like a credential by itself: a PEM block, a JWT, a well-known token
  prefix (``ghp_``, ``xoxb-``, ``AKIA``...), or a run of 24+ URL-safe base64 characters (40+
  of standard base64) mixing upper case, lower case and digits (a Taskcluster accessToken;
  a 22-character slugid stays shown).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["REDACTED", "looks_secret", "safe_url", "sensitive_container", "sensitive_name",
           "url_for_display", "url_password", "userinfo_cut_short"]

REDACTED = "<redacted>"

_NAME = re.compile(r"key|token|secret|passw|pwd|credential|signature|certificate|cookie|"
                   r"private|bewit|authorization|session", re.I)
_EXACT_NAMES = frozenset(("sas", "dsn", "auth", "hawk", "mac", "salt", "seed"))
_CONTAINER = re.compile(r"env|environ|environment|env_?vars?|environment_?variables|"
                        r"variables|vars|secrets?", re.I)
_PREFIXED = re.compile(
    r"-----BEGIN [A-Z ]+-----|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.|"
    r"(?:ghp|gho|ghu|ghs|ghr|github_pat|glpat|xox[abprs]|sk|pk|rk|npm|pypi)[-_][A-Za-z0-9_-]{8}|"
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_OPAQUE = re.compile(r"[A-Za-z0-9+=_-]{24,}|[A-Za-z0-9+/]{40,}={0,2}")


def sensitive_name(key: object) -> bool:
    """Whether a value stored under ``key`` should never be shown."""
    if not isinstance(key, str):
        return False
    return key.lower() in _EXACT_NAMES or _NAME.search(key) is not None


def sensitive_container(key: object) -> bool:
    """Whether ``key`` names a mapping of environment variables (all values hidden)."""
    return isinstance(key, str) and _CONTAINER.fullmatch(key) is not None


def looks_secret(value: object) -> bool:
    """Whether a string looks like a credential whatever key it is under."""
    if not isinstance(value, str) or len(value) < 16:
        return False
    if _PREFIXED.search(value):
        return True
    for run in _OPAQUE.findall(value):
        if (run.count("/") <= 2 and any(c.isdigit() for c in run)
                and any(c.isupper() for c in run) and any(c.islower() for c in run)):
            return True
    return False


def url_for_display(url: str) -> str:
    """``url`` without a password and with the values of sensitive query names hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
        query = urlencode([(k, REDACTED if sensitive_name(k) or looks_secret(v) else v)
                           for k, v in parse_qsl(parts.query, keep_blank_values=True)],
                          safe="<>")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return REDACTED


def safe_url(url: str) -> str:
    """``url`` without its query and fragment (where presigned URLs keep their signature and
    a bewit is) and without user information: scheme, host, port and path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:  # IPv6
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<unparseable URL>"


def userinfo_cut_short(url: str) -> bool:
    """Whether ``url``'s user name or password holds an unencoded ``/``, ``?`` or ``#``
    (``amqp://user:pa/ss@host/``): its authority then ends there, and a URL parser reads the
    rest of the password as the path, query or fragment (so shows it, and sees no
    password). Told by an ``@`` after the authority when the authority has none."""
    authority, after = _authority(url)
    return "@" not in authority and "@" in after


def url_password(url: str) -> str | None:
    """The password in ``url`` as written (percent-encoded or not), also when
    ``userinfo_cut_short``; ``None`` when it has none."""
    authority, after = _authority(url)
    if "@" not in authority and "@" in after:  # cut short
        authority += after
    userinfo, at, _ = authority.rpartition("@")
    _, colon, password = userinfo.partition(":")
    return password if at and colon else None


def _authority(url: str) -> tuple[str, str]:
    """``url`` after its ``scheme://``, split where a URL parser ends the authority."""
    rest = url.partition("://")[2]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return rest[:end], rest[end:]
