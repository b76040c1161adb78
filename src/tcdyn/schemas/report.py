"""What a schema violation says: jsonschema's message with the value's repr bounded, secrets
redacted (:mod:`tcdyn.redact`) and the instance path as ``$.a.b[0]``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from ..redact import REDACTED, looks_secret, sensitive_container, sensitive_name

#: Bounds on what an error carries: one value's repr, one message.
REPR_LIMIT = 120
MESSAGE_LIMIT = 400


def _strings(value: Any, out: set[str], depth: int = 0) -> None:
    """Collect the text of every string and number inside ``value`` (to scrub it)."""
    if isinstance(value, str) or (isinstance(value, (int, float)) and value is not True
                                  and value is not False):
        out.add(value if isinstance(value, str) else repr(value))
    elif depth < 50 and isinstance(value, dict):
        for item in value.values():
            _strings(item, out, depth + 1)
    elif depth < 50 and isinstance(value, (list, tuple)):
        for item in value:
            _strings(item, out, depth + 1)


def _bounded(value: Any, secrets: set[str], depth: int = 0) -> Any:
    """A small copy of ``value``: secrets redacted (and collected), long strings and
    containers cut."""
    if isinstance(value, str):
        if looks_secret(value):
            secrets.add(value)
            return REDACTED
        return value if len(value) <= 60 else f"{value[:40]}...(+{len(value) - 40} chars)"
    if isinstance(value, dict):
        if depth >= 3:
            return {"...": f"{len(value)} keys"} if value else {}
        out = {}
        for index, (key, item) in enumerate(value.items()):
            if index == 8:
                out["..."] = f"+{len(value) - 8} keys"
                break
            if sensitive_name(key) or sensitive_container(key):
                _strings(item, secrets)
                out[key] = REDACTED
            else:
                out[key] = _bounded(item, secrets, depth + 1)
        for key, item in list(value.items())[8:]:  # cut from the copy, maybe in the message
            if sensitive_name(key) or sensitive_container(key):
                _strings(item, secrets)
        return out
    if isinstance(value, (list, tuple)):
        if depth >= 3:
            return [f"... {len(value)} items"] if value else []
        head = [_bounded(item, secrets, depth + 1) for item in value[:8]]
        return [*head, f"... +{len(value) - 8} items"] if len(value) > 8 else head
    return value


def short_repr(value: Any, secrets: set[str], limit: int = REPR_LIMIT) -> str:
    text = repr(_bounded(value, secrets))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_path(path: Sequence[Any]) -> str:
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + repr(str(part)) + "]"
    return out


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hidden_path(path: Sequence[Any]) -> bool:
    return any(sensitive_name(part) or sensitive_container(part) for part in path)


def _scrub(text: str, secrets: set[str]) -> str:
    """``text`` with every collected secret (as written or as repr'd) redacted."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            for form in {secret, repr(secret)[1:-1]}:
                text = text.replace(form, REDACTED)
    return text


def describe(error: ValidationError) -> str:
    """jsonschema's message with the instance's repr bounded, and secrets redacted."""
    message = error.message
    secrets: set[str] = set()
    if _hidden_path(error.absolute_path):
        if error.validator == "additionalItems":  # its message shows the items themselves
            return f"{REDACTED} has more items than allowed"
        _strings(error.instance, secrets)
        short = REDACTED
    else:
        short = short_repr(error.instance, secrets)
    if len(message) > 2 * REPR_LIMIT or secrets:
        full = repr(error.instance)
        if full != short:
            message = message.replace(full, short, 1)
    message = _scrub(message, secrets)
    if error.validator in ("anyOf", "oneOf") and error.context:
        best = best_match(error.context)
        if best is not None:
            inner = describe(best)
            message = f"{message}; closest: {json_path(best.absolute_path)}: {inner} " \
                      f"[{best.validator}]"
    return clip(message)
