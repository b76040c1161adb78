"""The ``TASKCLUSTER_*`` environment, read one way for the clients, ``optionsFromEnvironment``
and the command line.

The rule: an empty variable counts as unset. ``TASKCLUSTER_CLIENT_ID`` and
``TASKCLUSTER_ACCESS_TOKEN`` go together: one without the other is a ``CredentialsError``
naming the missing variable, and ``TASKCLUSTER_CERTIFICATE`` without both is one too. The
credential variables are read only when credentials are wanted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from ..errors import CredentialsError

ROOT_URL = "TASKCLUSTER_ROOT_URL"
CLIENT_ID = "TASKCLUSTER_CLIENT_ID"
ACCESS_TOKEN = "TASKCLUSTER_ACCESS_TOKEN"
CERTIFICATE = "TASKCLUSTER_CERTIFICATE"
PROXY_URL = "TASKCLUSTER_PROXY_URL"


def value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable ``name`` (of ``os.environ`` by default); None when unset or empty."""
    return (os.environ if environ is None else environ).get(name) or None


class CredentialVariables(NamedTuple):
    client_id: str
    access_token: str
    certificate: str | None

    def __repr__(self) -> str:  # the token and certificate are secrets
        return f"CredentialVariables(client_id={self.client_id!r}, ...)"


def credentials(environ: Mapping[str, str] | None = None) -> CredentialVariables | None:
    """The credential variables, None when none is set, ``CredentialsError`` for a partial
    set (naming what is missing)."""
    client_id, token, cert = (value(k, environ) for k in (CLIENT_ID, ACCESS_TOKEN, CERTIFICATE))
    if client_id is None and token is None:
        if cert is not None:
            raise CredentialsError(f"{CERTIFICATE} is set but {CLIENT_ID} and {ACCESS_TOKEN} "
                                   "are not")
        return None
    if client_id is None or token is None:
        missing = CLIENT_ID if client_id is None else ACCESS_TOKEN
        raise CredentialsError(f"{missing} is not set (the other credential variable is)")
    return CredentialVariables(client_id, token, cert)
