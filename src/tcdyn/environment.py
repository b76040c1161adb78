"""The environment tcdyn reads, in one place: every ``TASKCLUSTER_*`` and ``TCDYN_*`` variable
(and the XDG base directories) is named here and read with ``value``, by the clients,
``optionsFromEnvironment``, the default deployment, the reference cache and the command line.
(The proxy variables are ``transport.proxies``'s, read by curl's rule.)

The rule: an empty variable counts as unset. ``TASKCLUSTER_CLIENT_ID`` and
``TASKCLUSTER_ACCESS_TOKEN`` go together: one without the other is a ``CredentialsError``
naming the missing variable, and ``TASKCLUSTER_CERTIFICATE`` without both is one too. The
credential variables are read only when credentials are wanted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from .errors import CredentialsError

ROOT_URL = "TASKCLUSTER_ROOT_URL"
CLIENT_ID = "TASKCLUSTER_CLIENT_ID"
ACCESS_TOKEN = "TASKCLUSTER_ACCESS_TOKEN"
CERTIFICATE = "TASKCLUSTER_CERTIFICATE"
PROXY_URL = "TASKCLUSTER_PROXY_URL"
#: A reference directory for ``tcdyn.Queue`` & co (and the command's default references).
REFERENCES = "TASKCLUSTER_REFERENCES"
#: The reference cache, else ``$XDG_CACHE_HOME/tcdyn``, else ``~/.cache/tcdyn``.
CACHE_DIR = "TCDYN_CACHE_DIR"
XDG_CACHE_HOME = "XDG_CACHE_HOME"
#: Size caps of a reference fetch (bytes): one file, one whole fetch.
REFERENCE_FILE_LIMIT = "TCDYN_REFERENCE_FILE_LIMIT"
REFERENCE_TOTAL_LIMIT = "TCDYN_REFERENCE_TOTAL_LIMIT"
#: The command's config file, else ``$XDG_CONFIG_HOME/tcdyn/config.toml``.
CONFIG = "TCDYN_CONFIG"
XDG_CONFIG_HOME = "XDG_CONFIG_HOME"
#: ``tcdyn listen``: the broker URL, and the password of a URL given without one.
PULSE_URL = "TCDYN_PULSE_URL"
PULSE_PASSWORD = "TCDYN_PULSE_PASSWORD"
#: ``tcdyn serve``: test clients (``ID:TOKEN[:SCOPE,...]`` entries).
SERVE_CLIENTS = "TCDYN_SERVE_CLIENTS"
#: ``tcdyn explore``: ``python`` for Python's own REPL even when IPython is installed.
SHELL = "TCDYN_SHELL"


def value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable ``name`` (of ``os.environ`` by default); None when unset or empty."""
    return (os.environ if environ is None else environ).get(name) or None


class CredentialVariables(NamedTuple):
    client_id: str
    access_token: str
    certificate: str | None

    def __repr__(self) -> str:  # the token and certificate are secrets
        return f"CredentialVariables(client_id={self.client_id!r}, ...)"


def credential_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The credential variables that are set, by credentials key (``clientId``,
    ``accessToken``, ``certificate``), complete or not: what ``optionsFromEnvironment``
    merges into its defaults."""
    found = {key: value(name, environ) for key, name in (
        ("clientId", CLIENT_ID), ("accessToken", ACCESS_TOKEN), ("certificate", CERTIFICATE))}
    return {key: text for key, text in found.items() if text is not None}


def credentials(environ: Mapping[str, str] | None = None) -> CredentialVariables | None:
    """The credential variables, None when none is set, ``CredentialsError`` for a partial
    set (naming what is missing)."""
    found = credential_values(environ)
    client_id, token, cert = (found.get(k) for k in ("clientId", "accessToken", "certificate"))
    if client_id is None and token is None:
        if cert is not None:
            raise CredentialsError(f"{CERTIFICATE} is set but {CLIENT_ID} and {ACCESS_TOKEN} "
                                   "are not")
        return None
    if client_id is None or token is None:
        missing = CLIENT_ID if client_id is None else ACCESS_TOKEN
        raise CredentialsError(f"{missing} is not set (the other credential variable is)")
    return CredentialVariables(client_id, token, cert)
