"""Scope expressions, as API references write them, checked against held scopes.

Semantics follow Taskcluster (``taskcluster-lib-scopes`` and ``taskcluster-lib-api``):

* a held scope satisfies a required one when equal, or when it ends with ``*`` and the
  required one starts with what precedes the ``*``;
* ``{"AllOf": [...]}`` needs every item (``AllOf: []`` is satisfied), ``{"AnyOf": [...]}``
  one of them (``AnyOf: []`` is not);
* templates: ``<name>`` in a string takes a string (or number) parameter;
  ``{"if": name, "then": e, "else": e}`` a boolean one (false without ``else`` requires
  nothing); ``{"for": x, "in": name, "each": "...<x>..."}`` an array of strings and expands,
  inside an AllOf/AnyOf, into one item per element.

:func:`check` never guesses: when the answer depends on a parameter that was not given,
``ok`` is ``None``. Answers that hold for every value (``queue:*`` covers
``queue:get-task:<taskId>``) are still given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ScopeExpressionError

__all__ = [
    "Check",
    "ScopeExpressionError",
    "check",
    "describe",
    "params_of",
    "remove_given",
    "render",
    "satisfies",
    "scope_match",
    "valid_scope",
    "validate",
]

Expression = str | Mapping[str, Any]

_PARAM = re.compile(r"<([a-zA-Z][a-zA-Z0-9_]*)>")
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
_SCOPE = re.compile(r"^[\x20-\x7e]*$")


@dataclass(frozen=True)
class Check:
    """The outcome of :func:`check`.

    ``ok``: True / False, or None when it depends on parameters that were not given.
    ``missing``: what is not satisfied (an expression, in the form of
    ``removeGivenScopes``), ``None`` when ``ok`` is True.
    ``unknown``: names of parameters the expression uses that were not given.
    ``reason``: why it cannot tell, when that is not an unknown parameter (e.g. the
    credentials may not read their own scopes).
    """

    ok: bool | None
    missing: Any
    unknown: tuple[str, ...] = ()
    reason: str | None = None


def valid_scope(scope: Any) -> bool:
    """A string of printable ASCII (0x20-0x7e), as the auth service requires."""
    return isinstance(scope, str) and bool(_SCOPE.match(scope))


def scope_match(held: str, required: str) -> bool:
    """Does the held scope (pattern) satisfy the required one?"""
    return held == required or (held.endswith("*") and required.startswith(held[:-1]))


def _held(held: Any) -> tuple[str, ...]:
    if isinstance(held, (str, bytes)) or not isinstance(held, Iterable):
        raise ScopeExpressionError(
            f"held scopes must be a list of strings, got {type(held).__name__}", "held")
    out = tuple(held)
    for i, scope in enumerate(out):
        if not isinstance(scope, str):
            raise ScopeExpressionError(
                f"must be a string, got {type(scope).__name__}", f"held[{i}]")
    return out


# -- structure -----------------------------------------------------------------------------

def validate(expression: Any, path: str = "$") -> None:
    """Raise :class:`ScopeExpressionError` (naming the path) unless ``expression`` is a valid
    scope expression template."""
    _validate(expression, path, root=True)


def _validate(expr: Any, path: str, root: bool = False, in_list: bool = False) -> None:
    if isinstance(expr, str):
        if not valid_scope(expr):
            raise ScopeExpressionError(f"{expr!r} contains characters outside printable ASCII",
                                       path)
        return
    if not isinstance(expr, Mapping):
        raise ScopeExpressionError(
            f"expected a string or an object, got {type(expr).__name__}", path)
    keys = set(expr)
    if keys in ({"AllOf"}, {"AnyOf"}):
        (key,) = keys
        items = expr[key]
        if not isinstance(items, (list, tuple)):
            raise ScopeExpressionError(f"{key} must be a list, got {type(items).__name__}",
                                       f"{path}.{key}")
        for i, item in enumerate(items):
            _validate(item, f"{path}.{key}[{i}]", in_list=True)
        return
    if keys == {"for", "in", "each"}:
        if not in_list:
            raise ScopeExpressionError("a for/in/each template must be an item of AllOf/AnyOf",
                                       path)
        for key in ("for", "in"):
            if not isinstance(expr[key], str) or not _NAME.match(expr[key]):
                raise ScopeExpressionError(f"{key} must be a parameter name, got "
                                           f"{expr[key]!r}", f"{path}.{key}")
        if not isinstance(expr["each"], str):
            raise ScopeExpressionError("each must be a string", f"{path}.each")
        _validate(expr["each"], f"{path}.each")
        return
    if keys in ({"if", "then"}, {"if", "then", "else"}):
        if not isinstance(expr["if"], str) or not _NAME.match(expr["if"]):
            raise ScopeExpressionError(f"if must be a parameter name, got {expr['if']!r}",
                                       f"{path}.if")
        for key in ("then", "else"):
            if key in expr:
                sub = expr[key]
                if isinstance(sub, Mapping) and "for" in sub:
                    raise ScopeExpressionError("a for/in/each template must be an item of "
                                               "AllOf/AnyOf", f"{path}.{key}")
                _validate(sub, f"{path}.{key}")
        return
    raise ScopeExpressionError(
        f"unknown form with keys {sorted(keys)} (expected AllOf, AnyOf, if/then[/else] "
        "or for/in/each)", path)


def params_of(expression: Expression) -> dict[str, str]:
    """Parameters an expression uses: name -> ``"string"``, ``"array"`` or ``"boolean"``."""
    validate(expression)
    out: dict[str, str] = {}

    def add(name: str, kind: str, path: str) -> None:
        if out.setdefault(name, kind) != kind:
            raise ScopeExpressionError(
                f"parameter {name!r} is used both as {out[name]} and as {kind}", path)

    def walk(expr: Any, path: str, bound: frozenset[str]) -> None:
        if isinstance(expr, str):
            for name in _PARAM.findall(expr):
                if name not in bound:
                    add(name, "string", path)
        elif "for" in expr:
            add(expr["in"], "array", f"{path}.in")
            walk(expr["each"], f"{path}.each", bound | {expr["for"]})
        elif "if" in expr:
            add(expr["if"], "boolean", f"{path}.if")
            for key in ("then", "else"):
                if key in expr:
                    walk(expr[key], f"{path}.{key}", bound)
        else:
            key = "AllOf" if "AllOf" in expr else "AnyOf"
            for i, item in enumerate(expr[key]):
                walk(item, f"{path}.{key}[{i}]", bound)

    walk(expression, "$", frozenset())
    return out


# -- parameters ----------------------------------------------------------------------------

def _string_param(value: Any, name: str, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise ScopeExpressionError(
        f"parameter {name!r} must be a string or a number, got {type(value).__name__}", path)


def _array_param(value: Any, name: str, path: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ScopeExpressionError(
            f"parameter {name!r} must be an array of strings, got {type(value).__name__}", path)
    out = []
    for i, item in enumerate(value):
        text = _string_param(item, f"{name}[{i}]", path)
        if text is None:
            raise ScopeExpressionError(f"parameter {name!r} has None at index {i}", path)
        out.append(text)
    return out


def _bool_param(value: Any, name: str, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ScopeExpressionError(
        f"parameter {name!r} must be a boolean, got {type(value).__name__}", path)


def _params(params: Any) -> Mapping[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise ScopeExpressionError(
            f"params must be a mapping of parameter names, got {type(params).__name__}",
            "params")
    return params


class _Ctx:
    def __init__(self, held: tuple[str, ...], params: Mapping[str, Any]) -> None:
        self.held = held
        self.params = params
        self.unknown: dict[str, None] = {}

    def fill(self, template: str, path: str, extra: Mapping[str, str] | None = None
             ) -> tuple[str, bool]:
        """(text with known parameters filled in, whether all were known)."""
        complete = True

        def sub(m: re.Match[str]) -> str:
            nonlocal complete
            name = m.group(1)
            if extra is not None and name in extra:
                return extra[name]
            value = _string_param(self.params.get(name), name, path)
            if value is None:
                complete = False
                self.unknown.setdefault(name)
                return m.group(0)
            return value

        return _PARAM.sub(sub, template), complete


# -- rendering -----------------------------------------------------------------------------

def render(expression: Expression, params: Mapping[str, Any] | None = None) -> Any:
    """The expression with every known parameter filled in and for/if templates with known
    parameters expanded; unknown ones are left as they are. ``None`` when nothing is
    required (an ``if`` without ``else`` whose parameter is false)."""
    validate(expression)
    ctx = _Ctx((), _params(params))
    return _render(expression, "$", ctx)


def _render(expr: Any, path: str, ctx: _Ctx) -> Any:
    if isinstance(expr, str):
        return ctx.fill(expr, path)[0]
    if "if" in expr:
        cond = _bool_param(ctx.params.get(expr["if"]), expr["if"], f"{path}.if")
        if cond is None:
            ctx.unknown.setdefault(expr["if"])
            out = {"if": expr["if"], "then": _render(expr["then"], f"{path}.then", ctx)}
            if "else" in expr:
                out["else"] = _render(expr["else"], f"{path}.else", ctx)
            return out
        key = "then" if cond else "else"
        return _render(expr[key], f"{path}.{key}", ctx) if key in expr else None
    key = "AllOf" if "AllOf" in expr else "AnyOf"
    items: list[Any] = []
    for i, item in enumerate(expr[key]):
        where = f"{path}.{key}[{i}]"
        if isinstance(item, Mapping) and "for" in item:
            values = _array_param(ctx.params.get(item["in"]), item["in"], f"{where}.in")
            if values is None:
                ctx.unknown.setdefault(item["in"])
                items.append({"for": item["for"], "in": item["in"],
                              "each": ctx.fill(item["each"], f"{where}.each",
                                               {item["for"]: f"<{item['for']}>"})[0]})
            else:
                items.extend(ctx.fill(item["each"], f"{where}.each", {item["for"]: v})[0]
                             for v in values)
            continue
        rendered = _render(item, where, ctx)
        if rendered is not None:
            items.append(rendered)
    return {key: items}


# -- checking ------------------------------------------------------------------------------

def _wrap(key: str, items: list[Any]) -> Any:
    """removeGivenScopes' shape: one item stands alone; AllOf of nothing is None."""
    if len(items) == 1:
        return items[0]
    if not items and key == "AllOf":
        return None
    return {key: items}


def _string_outcome(text: str, complete: bool, held: tuple[str, ...]) -> bool | None:
    if complete:
        return any(scope_match(h, text) for h in held)
    # Unknown parameters: decide only what holds for every possible value.
    first = _PARAM.search(text)
    prefix = text[:first.start()] if first else text
    suffix = text[_last_end(text):]
    possible = False
    for h in held:
        if h.endswith("*"):
            if prefix.startswith(h[:-1]):
                return True  # covers whatever the parameters are
            possible = possible or h[:-1].startswith(prefix)
        elif h.startswith(prefix) and h.endswith(suffix) and len(h) >= len(prefix) + len(suffix):
            possible = True
    return None if possible else False


def _last_end(text: str) -> int:
    end = 0
    for m in _PARAM.finditer(text):
        end = m.end()
    return end


def _eval(expr: Any, path: str, ctx: _Ctx, neutral: bool = True) -> tuple[bool | None, Any]:
    """(outcome, what is missing). ``neutral`` is what an absent item counts as where the
    expression stands: True at the root and in an AllOf, False in an AnyOf (so an ``if``
    that is false without ``else`` requires nothing, and offers nothing)."""
    if isinstance(expr, str):
        text, complete = ctx.fill(expr, path)
        ok = _string_outcome(text, complete, ctx.held)
        return ok, (None if ok else text)
    if "if" in expr:
        cond = _bool_param(ctx.params.get(expr["if"]), expr["if"], f"{path}.if")
        if cond is not None:
            key = "then" if cond else "else"
            if key not in expr:
                return neutral, None
            return _eval(expr[key], f"{path}.{key}", ctx, neutral)
        ctx.unknown.setdefault(expr["if"])
        then = _eval(expr["then"], f"{path}.then", ctx, neutral)
        other = (_eval(expr["else"], f"{path}.else", ctx, neutral) if "else" in expr
                 else (neutral, None))
        if then[0] is True and other[0] is True:
            return True, None
        ok = False if then[0] is False and other[0] is False else None
        missing = {"if": expr["if"], "then": _branch(then)}
        if "else" in expr:
            missing["else"] = _branch(other)
        return ok, missing
    key = "AllOf" if "AllOf" in expr else "AnyOf"
    outcomes: list[tuple[bool | None, Any]] = []
    for i, item in enumerate(expr[key]):
        where = f"{path}.{key}[{i}]"
        if isinstance(item, Mapping) and "for" in item:
            outcomes.extend(_eval_for(item, where, ctx, key))
        else:
            outcomes.append(_eval(item, where, ctx, key == "AllOf"))
    values = [ok for ok, _ in outcomes]
    if key == "AllOf":
        ok = False if False in values else (None if None in values else True)
    else:
        ok = True if True in values else (None if None in values else False)
    unmet = [m for v, m in outcomes if v is not True and m is not None]
    return ok, (None if ok else _wrap(key, unmet))


def _branch(outcome: tuple[bool | None, Any]) -> Any:
    """What a branch misses, as a valid expression (``AllOf: []`` when nothing)."""
    if outcome[0] is True:
        return {"AllOf": []}
    return {"AnyOf": []} if outcome[1] is None else outcome[1]


def _eval_for(item: Mapping[str, Any], path: str, ctx: _Ctx, key: str
              ) -> list[tuple[bool | None, Any]]:
    var = item["for"]
    values = _array_param(ctx.params.get(item["in"]), item["in"], f"{path}.in")
    if values is not None:
        out = []
        for v in values:
            text, complete = ctx.fill(item["each"], f"{path}.each", {var: v})
            ok = _string_outcome(text, complete, ctx.held)
            out.append((ok, None if ok else text))
        return out
    ctx.unknown.setdefault(item["in"])
    text, _ = ctx.fill(item["each"], f"{path}.each", {var: f"<{var}>"})
    ok = _string_outcome(text, False, ctx.held)
    pending = {"for": var, "in": item["in"], "each": text}
    # The array may be empty: in an AllOf that requires nothing, in an AnyOf it offers nothing.
    if key == "AllOf":
        return [(True, None)] if ok else [(None, pending)]
    return [(False, pending)] if ok is False else [(None, pending)]


def check(held: Iterable[str], expression: Expression,
          params: Mapping[str, Any] | None = None) -> Check:
    """Check held scopes against a scope expression (template) and its parameters."""
    validate(expression)
    ctx = _Ctx(_held(held), _params(params))
    ok, missing = _eval(expression, "$", ctx)
    return Check(ok, None if ok else missing, tuple(ctx.unknown))


def satisfies(held: Iterable[str], expression: Expression,
              params: Mapping[str, Any] | None = None) -> bool:
    """True when the held scopes satisfy the expression; raises
    :class:`ScopeExpressionError` when that depends on parameters not given."""
    result = check(held, expression, params)
    if result.ok is None:
        raise ScopeExpressionError(
            f"cannot decide without the parameters {list(result.unknown)}")
    return result.ok


def remove_given(held: Iterable[str], expression: Expression) -> Any:
    """``removeGivenScopes``: what of a (template-free) expression the held scopes do not
    satisfy; ``None`` when they satisfy it."""
    return check(held, expression).missing


# -- description ---------------------------------------------------------------------------

def describe(expression: Expression) -> str:
    """A human-readable, indented rendering of an expression (for docstrings)."""
    validate(expression)
    return "\n".join(_describe(expression, 0))


def _describe(expr: Any, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(expr, str):
        return [f"{pad}{expr}"]
    if "for" in expr:
        return [f"{pad}{expr['each']}  (for each {expr['for']} in {expr['in']})"]
    if "if" in expr:
        lines = [f"{pad}if {expr['if']}:", *_describe(expr["then"], depth + 1)]
        if "else" in expr:
            lines += [f"{pad}else:", *_describe(expr["else"], depth + 1)]
        return lines
    key = "AllOf" if "AllOf" in expr else "AnyOf"
    items = expr[key]
    if not items:
        return [f"{pad}(nothing required)" if key == "AllOf" else f"{pad}(never satisfied)"]
    if len(items) == 1:
        return _describe(items[0], depth)
    lines = [f"{pad}{'all of:' if key == 'AllOf' else 'any of:'}"]
    for item in items:
        sub = _describe(item, depth + 2)
        lines.append(f"{pad}  - {sub[0].lstrip()}")
        lines.extend(sub[1:])
    return lines


# -- the parameters of one call ----------------------------------------------------------------

def call_params(service: str, entry: str, route_args: Mapping[str, Any], payload: Any,
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters a service checks ``entry``'s scope expression with: the payload's
    top-level keys, the route arguments over them, ``extra`` over those, then what the service
    derives itself (``tcdyn.auth.service_scopes.HOOKS``). The client's preflight check and the
    local deployment both call this, so they cannot disagree."""
    from .service_scopes import HOOKS

    params: dict[str, Any] = dict(payload) if isinstance(payload, Mapping) else {}
    params.update(route_args)
    params.update(extra or {})
    hook = HOOKS.get((service, entry))
    return hook(params) if hook is not None else params
