"""``tcdyn.response``: what a call returns besides JSON values: ``RawBody`` (a 2xx body of
another content type) and ``Redirect`` (a 3xx answer, not followed). Code:
``tcdyn.call.response``."""

from __future__ import annotations

from .call.response import RawBody as RawBody
from .call.response import Redirect as Redirect

__all__ = ["RawBody", "Redirect"]
