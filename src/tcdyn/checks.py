"""The one check of each kind of value tcdyn is given in several places.

``seconds``: a duration (a client's ``timeout`` and ``signedUrlExpiration``, a signed URL's
``expiration``, ``tcdyn.load(timeout=)``, the Pulse consumer's timeouts and delays): an
``int`` or ``float`` > 0 and finite (``True``, ``"5"``, ``0``, ``nan`` and ``inf`` are
refused; a delay may be 0). ``root_url``: a deployment's rootUrl, an ``http://`` or
``https://`` URL with a host, in its normal form (no trailing ``/``). Each raises
``TaskclusterArgumentError`` (also a ``TypeError`` and a ``ValueError``) naming the value, or
the error class its caller gives.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import TaskclusterArgumentError, TaskclusterFailure

#: ``scheme://host``: a host without spaces, before any path, query or fragment.
_ROOT_URL = re.compile(r"https?://[^/?#\s]+(?:[/?#]|$)")


def seconds(value: Any, what: str,
            error: type[TaskclusterFailure] = TaskclusterArgumentError, *,
            zero: bool = False) -> float:
    """``value`` as a number of seconds > 0 (or >= 0 with ``zero``), finite, or ``error``
    saying ``what`` it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not (math.isfinite(value) and (value > 0 or (zero and value == 0))):
        kind = "non-negative" if zero else "positive"
        raise error(f"{what} must be a {kind} number of seconds, got {value!r:.60}")
    return float(value)


def root_url(value: Any, what: str = "rootUrl") -> str:
    """``value`` as a rootUrl in its normal form (``root_url_form``), or
    ``TaskclusterArgumentError``: an http(s) URL with a host."""
    if not isinstance(value, str) or not _ROOT_URL.match(value):
        raise TaskclusterArgumentError(f"{what} must be an http(s) URL with a host, got "
                                       f"{value!r:.200}")
    return root_url_form(value)


def root_url_form(value: str) -> str:
    """The normal form of a rootUrl: without trailing ``/`` (as ``taskcluster-urls``)."""
    return value.rstrip("/")
