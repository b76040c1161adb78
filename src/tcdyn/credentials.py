"""``tcdyn.credentials``: credentials, temporary credentials and bewits (code:
``tcdyn.auth.credentials`` and ``tcdyn.auth.bewit``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .auth.bewit import bewit as bewit
from .auth.bewit import signed_url as signed_url
from .auth.credentials import Credentials as Credentials
from .auth.credentials import certificate_signature as certificate_signature
from .auth.credentials import createTemporaryCredentials as createTemporaryCredentials
from .auth.credentials import temporary_access_token as temporary_access_token

__all__ = ["MAX_TEMPORARY_DURATION", "Credentials", "bewit", "certificate_signature",
           "createTemporaryCredentials", "signed_url", "temporary_access_token"]

if TYPE_CHECKING:
    from .auth.credentials import MAX_TEMPORARY_DURATION as MAX_TEMPORARY_DURATION
else:
    def __getattr__(name: str) -> Any:
        if name != "MAX_TEMPORARY_DURATION":  # made on first use (it imports datetime)
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from .auth import credentials

        return credentials.MAX_TEMPORARY_DURATION
