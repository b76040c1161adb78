"""How the real v106 services word and decide things the local deployment imitates:
merged scope sets, 403 messages, built-in answers (``ping``, ``auth.currentScopes``)."""

from __future__ import annotations

import json
import time
from typing import Any

from .replies import ApiRequest, Handler


def merge_scopes(*scope_sets: tuple[str, ...]) -> tuple[str, ...]:
    """``mergeScopeSets``: the union, sorted, without scopes a ``*`` scope already covers."""
    union = {s for scopes in scope_sets for s in scopes}
    stars = [s[:-1] for s in union if s.endswith("*")]
    return tuple(sorted(s for s in union
                        if not any(s != p + "*" and s.startswith(p) for p in stars)))


def render(expression: Any) -> str:
    """A scope expression as the services print it in a message."""
    return expression if isinstance(expression, str) else json.dumps(expression, indent=2)


def insufficient_scopes(client_id: str | None, missing: Any, required: Any) -> str:
    """The auth service's 403 ``InsufficientScopes`` message."""
    lines = [f"Client ID {client_id} does not have sufficient scopes and is "
             "missing the following scopes:", "", "```", render(missing), "```",
             "", "This request requires the client to satisfy the following scope "
             "expression:", "", "```", render(required), "```"]
    if client_id is None:
        lines = ["This request requires Taskcluster credentials that satisfy the "
                 "following scope expression:", "", *lines[-4:]]
    return "\n".join(lines)


def _current_scopes(request: ApiRequest) -> dict[str, Any]:
    return {"scopes": sorted(request.scopes)}


_STARTED = time.monotonic()


def ping(request: ApiRequest) -> dict[str, Any]:
    """Every service's ``ping`` answer."""
    return {"alive": True, "uptime": time.monotonic() - _STARTED}


def _expand_scopes(request: ApiRequest) -> dict[str, Any]:
    """The auth service's ``expandScopes`` on a deployment without roles: the scope set
    normalised (sorted, without duplicates or scopes a ``*`` scope covers)."""
    scopes = request.payload.get("scopes", []) if isinstance(request.payload, dict) else []
    return {"scopes": list(merge_scopes(tuple(scopes)))}


#: Answers the deployment gives unless a test registers its own handler.
BUILTIN: dict[tuple[str, str], Handler] = {("auth", "currentScopes"): _current_scopes}
#: ... and, with ``imitate``, answers of the real services where the echo would be wrong.
IMITATED: dict[tuple[str, str], Handler] = {("auth", "expandScopes"): _expand_scopes}
