"""Bewits: a Hawk signature carried in a GET URL (``?bewit=...``), valid for a number of
seconds, so that a URL grants one read without credentials (``client.buildSignedUrl``,
``tcdyn auth signed-url``)."""

from __future__ import annotations

import re
import time
import urllib.parse
from typing import Any

from .. import checks
from ..errors import CredentialsError
from ..redact import url_for_display
from .credentials import Credentials


def _check_url(url: Any) -> str:
    if not isinstance(url, str):
        raise CredentialsError(f"url must be a string, got {type(url).__name__}")
    shown = url_for_display(url)  # never echo a password or a bewit
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise CredentialsError(f"url {shown!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise CredentialsError(f"url {shown!r} must be an absolute http(s) URL")
    if parts.fragment or url.endswith("#"):
        raise CredentialsError(f"url {shown!r} must not have a fragment")
    if re.search(r"[?&]bewit=", url):
        raise CredentialsError(f"url {shown!r} already carries a bewit")
    return url


def bewit(credentials: Credentials, url: str, expiration: float,
          now: float | None = None) -> str:
    """The Hawk bewit for a GET of ``url``, valid ``expiration`` seconds from ``now``:
    URL-safe base64 without padding, ``ext`` as in :meth:`Credentials.hawk_ext`."""
    if not isinstance(credentials, Credentials):
        raise CredentialsError(
            f"credentials must be a Credentials, got {type(credentials).__name__}")
    url = _check_url(url)
    seconds = checks.seconds(expiration, "expiration", CredentialsError)
    exp = int((time.time() if now is None else now) + seconds)
    import mohawk.base  # imported when first used: mohawk loads six, calendar, locale...
    import mohawk.bewit

    resource = mohawk.base.Resource(credentials=credentials.hawk_credentials(), method="GET",
                                    ext=credentials.hawk_ext(), url=url, timestamp=exp,
                                    nonce="")
    return mohawk.bewit.get_bewit(resource).rstrip("=")


def signed_url(credentials: Credentials, url: str, expiration: float = 900) -> str:
    """``url`` with a ``bewit=`` query parameter appended (default lifetime 900 s)."""
    value = bewit(credentials, url, expiration)
    return f"{url}{'&' if '?' in url else '?'}bewit={value}"
