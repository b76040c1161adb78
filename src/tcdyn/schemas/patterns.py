"""Schema ``pattern`` s matched as the services match them, without catastrophic
backtracking.

A schema's pattern is a JavaScript regular expression (ajv compiles it with the ``u`` flag);
:func:`compile_pattern` matches it through its Python spelling (:func:`tcdyn.jsregex.to_python`).
A deployment's schema may hold a pattern such as ``^(a+)+$``, which a backtracking engine
takes seconds (or years) to reject on a 30-character string, and validation runs on the
event loop: a spelling proved safe for ``re`` (anchored, repeats over single characters that
the next character tells apart, bounded ambiguity: every Taskcluster pattern) runs on ``re``,
any other on the ``regex`` package (same syntax and meaning) with a time limit:
:class:`PatternTimeout` past :data:`PATTERN_TIMEOUT` (for that text only: the next text is
matched on its own).
"""

from __future__ import annotations

import functools
import re
from re import _constants as _c  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]  # not in typeshed
from re import _parser as _p  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]  # not in typeshed
from typing import Any

from . import jsregex

_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)
_GREEDY_REPEATS = (_c.MAX_REPEAT, _c.POSSESSIVE_REPEAT)

__all__ = ["PATTERN_TIMEOUT", "PatternTimeout", "compile_pattern", "is_safe", "search"]

#: Seconds one match of an unproven pattern may take before it is abandoned.
PATTERN_TIMEOUT = 0.1
#: Most backtracking choices per match attempt a pattern may allow and still count as safe.
_BUDGET = 4096
_ASCII = frozenset(range(128))
_NO_CHARS: tuple[frozenset[int], bool] = (frozenset(), False)


class PatternTimeout(Exception):
    """A pattern took longer than :data:`PATTERN_TIMEOUT` on one text (or cannot run)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        super().__init__(f"pattern {pattern[:100]!r} takes more than {PATTERN_TIMEOUT} s "
                         "to match (catastrophic backtracking): not checked")


class _Unsafe(Exception):
    pass


# --- the proof -----------------------------------------------------------------------------
# A character set is (ASCII code points, whether it may match non-ASCII characters).

CharSet = tuple[frozenset[int], bool]


def _union(a: CharSet, b: CharSet) -> CharSet:
    return a[0] | b[0], a[1] or b[1]


def _disjoint(a: CharSet, b: CharSet) -> bool:
    return not (a[0] & b[0]) and not (a[1] and b[1])


_CATEGORIES = {
    _c.CATEGORY_DIGIT: frozenset(range(48, 58)),
    _c.CATEGORY_SPACE: frozenset(b" \t\n\r\x0b\x0c"),
    _c.CATEGORY_WORD: frozenset(b"0123456789_abcdefghijklmnopqrstuvwxyz"
                                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
}
_NEGATED = {_c.CATEGORY_NOT_DIGIT: _c.CATEGORY_DIGIT, _c.CATEGORY_NOT_SPACE: _c.CATEGORY_SPACE,
            _c.CATEGORY_NOT_WORD: _c.CATEGORY_WORD}


def _char_set(op: Any, av: Any) -> CharSet | None:
    """The characters a single-character item matches (None: not a single character)."""
    if op is _c.LITERAL:
        return (frozenset((av,)), False) if av < 128 else (frozenset(), True)
    if op is _c.NOT_LITERAL:
        return _ASCII - {av}, True
    if op is _c.ANY:
        return _ASCII, True
    if op is _c.IN:
        chars: set[int] = set()
        other = negate = False
        for item_op, item in av:
            if item_op is _c.NEGATE:
                negate = True
            elif item_op is _c.LITERAL:
                chars.add(item) if item < 128 else None
                other = other or item >= 128
            elif item_op is _c.RANGE:
                chars.update(range(item[0], min(item[1], 127) + 1))
                other = other or item[1] >= 128
            elif item_op is _c.CATEGORY and item in _CATEGORIES:
                chars |= _CATEGORIES[item]
                other = True
            elif item_op is _c.CATEGORY and item in _NEGATED:
                chars |= _ASCII - _CATEGORIES[_NEGATED[item]]
                other = True
            else:
                raise _Unsafe(item_op)
        return (_ASCII - chars, True) if negate else (frozenset(chars), other)
    return None


def _sequence(items: list[Any], follow: CharSet) -> tuple[CharSet, bool, int]:
    """(first characters, nullable, backtracking budget) of ``items`` followed by
    ``follow``; raises _Unsafe where a backtracking matcher could blow up."""
    first, nullable, budget = follow, True, 1
    for op, av in reversed(items):
        chars = _char_set(op, av)
        if chars is not None:
            item_first, item_nullable, item_budget = chars, False, 1
        elif op is _c.AT:
            continue  # zero-width: what follows it follows the item before it
        elif op is _c.SUBPATTERN:
            if av[1] & re.IGNORECASE:
                raise _Unsafe("IGNORECASE")
            item_first, item_nullable, item_budget = _sequence(list(av[3]), first)
            if item_nullable:
                item_first = _union(item_first, first)
        elif op is _c.BRANCH:
            item_first, item_budget = _NO_CHARS, 0
            for alternative in av[1]:
                alt_first, alt_nullable, alt_budget = _sequence(list(alternative), first)
                if alt_nullable or not _disjoint(alt_first, item_first):
                    raise _Unsafe("ambiguous alternatives")
                item_first = _union(item_first, alt_first)
                item_budget = max(item_budget, alt_budget)
            item_nullable = False
        elif op in _REPEATS:
            low, high, body = av
            body_items = list(body)
            if high <= 1:  # at most once: when optional, a choice of two ways
                item_first, body_nullable, item_budget = _sequence(body_items, first)
                if low == 0 and not _disjoint(item_first, first):
                    item_budget *= 2
                item_nullable = low == 0 or body_nullable
            else:
                one = _char_set(*body_items[0]) if len(body_items) == 1 else None
                if one is None:
                    raise _Unsafe("a repeat of more than one character")
                item_first, item_nullable, item_budget = one, low == 0, 1
                if low != high and not _disjoint(one, first):
                    if high == _c.MAXREPEAT:
                        raise _Unsafe("an unbounded repeat overlapping what follows")
                    item_budget = high - low + 1
        else:  # back-references, look-arounds, conditionals, atomic groups
            raise _Unsafe(op)
        budget *= item_budget
        if budget > _BUDGET:
            raise _Unsafe("too many choices")
        first = _union(item_first, first) if item_nullable else item_first
        nullable = nullable and item_nullable
    return first, nullable, budget


def _unbounded(items: Any) -> bool:
    for op, av in items:
        if op in _REPEATS:
            inner = [av[2]]
        elif op is _c.SUBPATTERN:
            inner = [av[3]]
        elif op is _c.BRANCH:
            inner = av[1]
        else:
            continue
        if (op is not _c.SUBPATTERN and op is not _c.BRANCH and av[1] == _c.MAXREPEAT) or any(
                _unbounded(part) for part in inner):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def is_safe(pattern: str) -> bool:
    """Whether Python's ``re`` matches ``pattern`` in time linear in the text (proved on
    its syntax tree; ``False`` when unsure)."""
    try:
        parsed = _p.parse(pattern)
        if parsed.state.flags & (re.IGNORECASE | re.MULTILINE | re.VERBOSE):
            return False
        items: list[Any] = list(parsed.data)  # sre's tree, read as plain tuples
        _sequence(items, _NO_CHARS)
    except (_Unsafe, re.error, RecursionError, TypeError, IndexError):
        return False
    anchored = bool(items) and items[0][0] is _c.AT and items[0][1] in (
        _c.AT_BEGINNING, _c.AT_BEGINNING_STRING)
    # An unanchored search tries every start: only bounded work per start stays linear. A
    # final repeat of one character never gives back: once reached, the match succeeds.
    if items and items[-1][0] in _GREEDY_REPEATS and len(
            items[-1][1][2]) == 1 and _char_set(*items[-1][1][2][0]) is not None:
        items = items[:-1]
    return anchored or not _unbounded(items)


# --- matching ------------------------------------------------------------------------------


class _Guarded:
    """A Python pattern matched by ``regex`` under a time limit (``search`` as ``re``'s)."""

    __slots__ = ("compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        import regex

        self.pattern = pattern
        try:
            self.compiled = regex.compile(pattern)
        except Exception:  # not for regex (jsregex checked it compiles): never unguarded
            self.compiled = None

    def search(self, text: str) -> Any:
        if self.compiled is None:
            raise PatternTimeout(self.pattern)
        try:
            return self.compiled.search(text, timeout=PATTERN_TIMEOUT)
        except TimeoutError:  # this text only: the next one is matched on its own
            raise PatternTimeout(self.pattern) from None


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> Any:
    """A matcher (``search(text)``, a match or None) for the JavaScript ``pattern``: its
    Python spelling on ``re`` when proved safe, else time-limited on ``regex``. Raises
    :class:`tcdyn.jsregex.JsSyntaxError` or :class:`tcdyn.jsregex.Untranslatable` for a
    pattern V8 refuses or that no Python pattern means."""
    translation = jsregex.to_python(pattern)
    if translation.engine == "re" and is_safe(translation.pattern):
        return re.compile(translation.pattern)
    return _Guarded(translation.pattern)


def search(pattern: str, text: str) -> bool:
    """Whether the JavaScript ``pattern`` matches in ``text`` (``RegExp.prototype.test``),
    without catastrophic backtracking; raises :class:`PatternTimeout` when it takes too
    long."""
    return compile_pattern(pattern).search(text) is not None
