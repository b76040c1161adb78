"""``tcdyn.scopes``: scope expressions checked against held scopes (code: ``tcdyn.auth.scopes``)."""

from __future__ import annotations

from .auth.scopes import Check as Check
from .auth.scopes import ScopeExpressionError as ScopeExpressionError
from .auth.scopes import check as check
from .auth.scopes import describe as describe
from .auth.scopes import params_of as params_of
from .auth.scopes import remove_given as remove_given
from .auth.scopes import render as render
from .auth.scopes import satisfies as satisfies
from .auth.scopes import scope_match as scope_match
from .auth.scopes import valid_scope as valid_scope
from .auth.scopes import validate as validate

__all__ = ["Check", "ScopeExpressionError", "check", "describe", "params_of", "remove_given",
           "render", "satisfies", "scope_match", "valid_scope", "validate"]
