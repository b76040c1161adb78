"""JavaScript regular expressions as the services read them, and their Python equivalents.

Taskcluster's services validate with ajv, which compiles a schema's ``pattern`` with
``new RegExp(pattern, "u")`` and tests it anywhere in the string; ajv-formats' ``regex``
format asks whether ``new RegExp(text)`` compiles (no flag: the lenient Annex B syntax).
:func:`parse` reads both syntaxes as V8 does (every error V8 raises is a
:class:`JsSyntaxError` here); :func:`to_python` spells a pattern for Python's ``re`` so that
``re.search`` answers exactly as ``RegExp.prototype.test`` does:

- ``$`` is the end of the text (``\\Z``), ``^`` its start; ``.`` is any code point but the
  four JavaScript line terminators (``\\n``, ``\\r``, U+2028, U+2029);
- ``\\d``, ``\\w``, ``\\s``, ``\\b`` are ASCII digits, ASCII word characters, JavaScript's
  white space (with U+FEFF and the line terminators, without U+001C..U+001F and U+0085),
  and the boundary between ASCII word characters;
- every character, class and escape (``\\u{...}``, ``\\uD83D\\uDE00``, ``\\cJ``, ``\\p{...}``)
  becomes an explicit set of code points; ``\\p{...}`` uses V8's own tables
  (:mod:`tcdyn._js_unicode`);
- named groups are numbered groups; a back-reference becomes empty where JavaScript's
  matches the empty string (a group that has not matched).

What cannot be spelt with the same meaning raises :class:`Untranslatable` (the flag
modifiers ``(?i:...)``, back-references into repeated groups or look-behinds, repeats past
``re``'s limit): the caller leaves that keyword to the service.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JsSyntaxError", "Translation", "Untranslatable", "compiles", "parse",
           "property_ranges", "to_python"]

Ranges = tuple[tuple[int, int], ...]
MAX_CODE_POINT = 0x10FFFF
#: Repeat counts above this are not spelt (``re`` refuses 2**32 - 1 and above).
MAX_REPEAT = 0xFFFFFFFE

DIGIT: Ranges = ((0x30, 0x39),)
WORD: Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
#: JavaScript's WhiteSpace and LineTerminator (``\\s``): Zs, TAB, VT, FF, ZWNBSP, LF, CR, LS, PS.
SPACE: Ranges = ((0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
                 (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
                 (0xFEFF, 0xFEFF))
LINE_TERMINATORS: Ranges = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
_SYNTAX = frozenset("^$\\.*+?()[]{}|")
_CONTROL = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
_HEX = frozenset("0123456789abcdefABCDEF")
_QUANTIFIER = re.compile(r"\{([0-9]+)(?:(,)([0-9]*))?\}")


class JsSyntaxError(ValueError):
    """``new RegExp(...)`` would throw a SyntaxError."""


class Untranslatable(Exception):
    """The pattern is valid JavaScript, but no Python pattern means exactly the same."""


# --- code point sets ---------------------------------------------------------------------------


def normalize(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sorted, merged ranges."""
    out: list[list[int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], high)
        else:
            out.append([low, high])
    return tuple((low, high) for low, high in out)


def complement(ranges: Ranges) -> Ranges:
    out, start = [], 0
    for low, high in ranges:
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= MAX_CODE_POINT:
        out.append((start, MAX_CODE_POINT))
    return tuple(out)


def _case_closure(ranges: Ranges, unicode: bool) -> Ranges:
    """The set a character class matches under the ``i`` flag, for the sets this module can
    close exactly (:class:`Untranslatable` otherwise: case mappings are not tabled here).

    Without ``u``, V8 compares ``toUpperCase`` forms but never maps a non-ASCII character to
    an ASCII one, so ASCII letters match their other case only. With ``u`` it compares simple
    case foldings, where U+017F folds to ``s`` and U+212A to ``k``. Non-ASCII parts are
    accepted when they have no case (white space), hold every non-ASCII character but white
    space, or are exactly U+00A1..U+FFFF (ajv-formats' ``url``), each closed under folding.
    """
    wide = [(max(low, 0x80), high) for low, high in ranges if high >= 0x80]
    if wide:
        inverse = [(max(low, 0x80), high) for low, high in complement(ranges) if high >= 0x80]
        if not (all(_within(low, high, SPACE) for low, high in wide)
                or all(_within(low, high, SPACE) for low, high in inverse)
                or (unicode and wide == [(0xA1, 0xFFFF)])):
            raise Untranslatable("case-insensitive matching of non-ASCII letters")
    extra: list[tuple[int, int]] = []
    for low, high in ranges:
        for a, z, shift in ((0x41, 0x5A, 0x20), (0x61, 0x7A, -0x20)):
            lo, hi = max(low, a), min(high, z)
            if lo <= hi:
                extra.append((lo + shift, hi + shift))
    closed = normalize((*ranges, *extra))
    if unicode:  # simple case folding: U+017F -> s, U+212A -> k
        for special, letter in ((0x17F, 0x73), (0x212A, 0x6B)):
            if _contains(closed, special) or _contains(closed, letter):
                closed = normalize((*closed, (special, special), (letter, letter),
                                    (letter - 0x20, letter - 0x20)))
    return closed


@functools.lru_cache(maxsize=1)
def _property_sets() -> tuple[Ranges, ...]:
    import base64
    import zlib

    from . import _js_unicode

    data = zlib.decompress(base64.b85decode("".join(_js_unicode.RANGES)))
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    sets = []
    while pos < len(data):
        count, prev, ranges = varint(), 0, []
        for _ in range(count):
            low = prev + varint()
            high = low + varint()
            ranges.append((low, high))
            prev = high + 1
        sets.append(tuple(ranges))
    return tuple(sets)


def property_ranges(expression: str) -> Ranges:
    """The code points of ``\\p{expression}`` (``L``, ``Letter``, ``gc=Lu``,
    ``Script=Greek``, ``scx=Latn``, ``ASCII_Hex_Digit``...) as V8 reads it;
    :class:`JsSyntaxError` for a name V8 does not know (it matches names exactly)."""
    from . import _js_unicode as table

    name, eq, value = expression.partition("=")
    if eq:
        lookup = {"General_Category": table.GENERAL_CATEGORY, "gc": table.GENERAL_CATEGORY,
                  "Script": table.SCRIPT, "sc": table.SCRIPT,
                  "Script_Extensions": table.SCRIPT_EXTENSIONS,
                  "scx": table.SCRIPT_EXTENSIONS}.get(name, {})
        index = lookup.get(value)
    else:
        index = table.GENERAL_CATEGORY.get(name, table.BINARY.get(name))
    if index is None:
        raise JsSyntaxError(f"invalid property name {expression!r}")
    return _property_sets()[index]


# --- the syntax tree ---------------------------------------------------------------------------
# Nodes are tuples: ("set", ranges), ("seq", [nodes]), ("alt", [nodes]), ("assert", kind),
# ("look", behind, negated, node), ("group", index | None, node), ("modifiers", text, node),
# ("backref", index | name, position), ("repeat", node, low, high | None, greedy).


@dataclass
class _Group:
    index: int
    name: str | None
    start: int
    end: int = -1
    repeated: bool = False  # inside a repeat that may run more than once
    behind: bool = False  # inside a look-behind


@dataclass
class _Info:
    groups: list[_Group] = field(default_factory=list)
    backrefs: list[tuple[int | str, int, bool]] = field(default_factory=list)


def _prescan(source: str) -> tuple[int, bool]:
    """(number of capturing groups, whether any is named), counted as V8 counts them."""
    count, named, i, in_class = 0, False, 0, False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            if source.startswith("(?<", i) and source[i + 3:i + 4] not in ("=", "!"):
                count += 1
                named = True
            elif not source.startswith("(?", i):
                count += 1
        i += 1
    return count, named


class _Parser:
    def __init__(self, source: str, unicode: bool, ignore_case: bool) -> None:
        self.s = source
        self.i = 0
        self.u = unicode
        self.ignore_case = ignore_case
        self.group_count, self.named = _prescan(source)
        self.info = _Info()
        self.names: dict[str, list[int]] = {}  # name -> capture indices
        self.next_group = 0
        self.repeat_depth = 0  # repeats (that may run more than once) around the position
        self.behind_depth = 0
        # V8's parser states: (capture index at the group's start, the interval of capture
        # indices that sit in other alternatives: a name may repeat within it)
        self.states: list[list[int]] = [[0, 0, 0]]

    # helpers

    def error(self, message: str) -> JsSyntaxError:
        return JsSyntaxError(f"Invalid regular expression: /{self.s}/: {message}")

    def peek(self, offset: int = 0) -> str:
        i = self.i + offset
        return self.s[i] if i < len(self.s) else ""

    def eat(self, text: str) -> bool:
        if self.s.startswith(text, self.i):
            self.i += len(text)
            return True
        return False

    def single(self, code: int) -> tuple[str, Ranges]:
        ranges: Ranges = ((code, code),)
        if self.ignore_case:
            ranges = _case_closure(ranges, self.u)
        return ("set", ranges)

    # grammar

    def parse(self) -> tuple[Any, _Info]:
        node = self.disjunction()
        if self.i < len(self.s):
            raise self.error("Unmatched ')'")
        self.check_names()
        return node, self.info

    def disjunction(self) -> Any:
        branches = []
        while True:
            branches.append(self.alternative())
            if not self.eat("|"):
                break
            state = self.states[-1]  # V8's RegExpParserState::NewAlternative
            if state[2] != 0:
                state[2] = self.next_group
            else:
                state[1], state[2] = state[0], self.next_group
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def push(self) -> None:
        self.states.append([self.next_group, *self.states[-1][1:]])

    def alternative(self) -> Any:
        terms = []
        while self.i < len(self.s) and self.peek() not in "|)":
            terms.append(self.term())
        return ("seq", terms)

    def quantifier(self) -> tuple[int, int | None, bool] | None:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.i += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{":
            match = _QUANTIFIER.match(self.s, self.i)
            if match is None:
                if self.u:
                    raise self.error("Incomplete quantifier")
                return None  # a literal "{" (Annex B)
            low = int(match.group(1))
            high = low if match.group(2) is None else (
                int(match.group(3)) if match.group(3) else None)
            if high is not None and high < low:
                raise self.error("numbers out of order in {} quantifier")
            self.i = match.end()
        else:
            return None
        greedy = not self.eat("?")
        return low, high, greedy

    def at_quantifier(self) -> bool:
        char = self.peek()
        if char in ("*", "+", "?"):
            return True
        return char == "{" and (self.u or _QUANTIFIER.match(self.s, self.i) is not None)

    def term(self) -> Any:
        start = self.i
        if self.eat("^") or self.eat("$"):
            node: Any = ("assert", self.s[start])
            if self.at_quantifier():
                raise self.error("Nothing to repeat")
            return node
        if self.s.startswith("\\b", self.i) or self.s.startswith("\\B", self.i):
            self.i += 2
            if self.at_quantifier():
                raise self.error("Nothing to repeat")
            return ("assert", self.s[start + 1])
        for opener, behind, negated in (("(?=", False, False), ("(?!", False, True),
                                        ("(?<=", True, False), ("(?<!", True, True)):
            if self.eat(opener):
                self.behind_depth += behind
                self.push()
                body = self.disjunction()
                self.states.pop()
                self.behind_depth -= behind
                if not self.eat(")"):
                    raise self.error("Unterminated group")
                node = ("look", behind, negated, body)
                if behind or self.u:
                    if self.at_quantifier():
                        raise self.error("Invalid quantifier")
                    return node
                return self.repeated(node, start)  # Annex B: a quantified look-ahead
        return self.repeated(None, start)

    def repeated(self, node: Any, start: int) -> Any:
        mark = len(self.info.groups)
        if node is None:
            node = self.atom()
        found = self.quantifier()
        if found is None:
            return node
        low, high, greedy = found
        if high is None or high > 1:  # the groups inside may run more than once
            for group in self.info.groups[mark:]:
                group.repeated = True
        return ("repeat", node, low, high, greedy)

    def atom(self) -> Any:
        char = self.peek()
        if char == ".":
            self.i += 1
            return ("set", complement(LINE_TERMINATORS))
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.atom_escape()
        if char in ("*", "+", "?"):
            raise self.error("Nothing to repeat")
        if char == "{":
            if self.u:
                raise self.error("Lone quantifier brackets")
            if _QUANTIFIER.match(self.s, self.i):
                raise self.error("Nothing to repeat")
        if char in ("}", "]") and self.u:
            raise self.error("Lone quantifier brackets")
        self.i += 1
        return self.single(ord(char))

    def group(self) -> Any:
        start = self.i
        self.i += 1
        name = None
        if self.eat("?:"):
            kind = "plain"
        elif self.eat("?<"):
            name = self.group_name()
            kind = "named"
        elif self.peek() == "?":
            match = re.compile(r"\?([a-z]*)(?:-([a-z]*))?:").match(self.s, self.i)
            if match is None:
                raise self.error("Invalid group")
            on, off = match.group(1), match.group(2) or ""
            flags = on + off
            if any(flag not in "ims" for flag in flags) or (
                    match.group(2) is not None and not flags):
                raise self.error("Invalid flag group" if set(flags) <= set("ims")
                                 else "Invalid group")
            if len(set(flags)) != len(flags):
                raise self.error("Repeated flag in flag group")
            self.i = match.end()
            self.push()
            body = self.disjunction()
            self.states.pop()
            if not self.eat(")"):
                raise self.error("Unterminated group")
            return ("modifiers", match.group(0), body)
        else:
            kind = "capture"
        group = None
        if kind != "plain":
            self.next_group += 1
            group = _Group(self.next_group, name, start, behind=self.behind_depth > 0)
            self.info.groups.append(group)
        self.push()
        body = self.disjunction()
        state = self.states.pop()
        if not self.eat(")"):
            raise self.error("Unterminated group")
        if group is not None:
            group.end = self.i
            if name is not None:  # V8's CreateNamedCaptureAtIndex, at the group's end
                for index in self.names.get(name, ()):
                    if not state[1] <= index <= state[2]:
                        raise self.error("Duplicate capture group name")
                self.names.setdefault(name, []).append(group.index)
        return ("group", group.index if group else None, body)

    def group_name(self) -> str:
        """A RegExpIdentifierName, up to and with its closing ``>``."""
        out = []
        while True:
            if self.i >= len(self.s):
                raise self.error("Invalid capture group name")
            char = self.peek()
            if char == ">":
                self.i += 1
                break
            if char == "\\":
                self.i += 1
                if not self.eat("u"):
                    raise self.error("Invalid capture group name")
                code = self.unicode_escape(in_name=True)
                if code is None:
                    raise self.error("Invalid Unicode escape in capture group name")
                char = chr(code)
            else:
                self.i += 1
            out.append(char)
        name = "".join(out)
        if not name or not _identifier(name):
            raise self.error("Invalid capture group name")
        return name

    def check_names(self) -> None:
        for ref, _, _ in self.info.backrefs:
            if isinstance(ref, str) and ref not in self.names:
                raise self.error("Invalid named capture referenced")

    def unicode_escape(self, in_name: bool = False) -> int | None:
        """After ``\\u``: the code point of ``XXXX``, ``{X...}`` (with ``u``, and in group
        names) or a surrogate pair ``XXXX\\uXXXX``; None if malformed."""
        if self.peek() == "{" and (self.u or in_name):
            end = self.s.find("}", self.i)
            digits = self.s[self.i + 1:end] if end > 0 else ""
            if not digits or any(d not in _HEX for d in digits) or int(digits, 16) > 0x10FFFF:
                return None
            self.i = end + 1
            return int(digits, 16)
        digits = self.s[self.i:self.i + 4]
        if len(digits) < 4 or any(d not in _HEX for d in digits):
            return None
        self.i += 4
        code = int(digits, 16)
        if (self.u or in_name) and 0xD800 <= code <= 0xDBFF and self.s.startswith(
                "\\u", self.i):
            trail = self.s[self.i + 2:self.i + 6]
            if len(trail) == 4 and all(d in _HEX for d in trail) and (
                    0xDC00 <= int(trail, 16) <= 0xDFFF):
                self.i += 6
                return 0x10000 + ((code - 0xD800) << 10) + (int(trail, 16) - 0xDC00)
        return code

    def atom_escape(self) -> Any:
        start = self.i
        self.i += 1
        char = self.peek()
        if not char:
            raise self.error("\\ at end of pattern")
        if char in "123456789":
            match = re.compile(r"[0-9]+").match(self.s, self.i)
            assert match is not None
            number = int(match.group(0))
            if number <= self.group_count:
                self.i = match.end()
                self.info.backrefs.append((number, start, self.behind_depth > 0))
                return ("backref", number, start)
            if self.u:
                raise self.error("Invalid escape")
            return self.single(self.legacy_octal())
        if char == "k" and (self.u or self.named):
            self.i += 1
            if not self.eat("<"):
                raise self.error("Invalid named reference")
            end = self.s.find(">", self.i)
            if end < 0:
                raise self.error("Invalid named reference")
            name = self.s[self.i:end]
            if not name or not _identifier(name):
                raise self.error("Invalid capture group name")
            self.i = end + 1
            self.info.backrefs.append((name, start, self.behind_depth > 0))
            return ("backref", name, start)
        if char in "dDsSwW":
            self.i += 1
            return ("set", self.class_escape_set(char))
        if char in "pP" and self.u:
            self.i += 1
            return ("set", self.property(char == "P"))
        code = self.character_escape(in_class=False)
        if code is None:  # "\c" not followed by a letter (Annex B): a backslash
            self.i = start + 1
            return self.single(0x5C)
        return self.single(code)

    def legacy_octal(self) -> int:
        """Annex B's LegacyOctalEscapeSequence (``\\8`` and ``\\9``: the digit itself)."""
        match = re.compile(r"[0-3][0-7]{0,2}|[4-7][0-7]?").match(self.s, self.i)
        if match is None:
            self.i += 1
            return ord(self.s[self.i - 1])
        self.i = match.end()
        return int(match.group(0), 8)

    def character_escape(self, in_class: bool) -> int | None:
        """After ``\\``: one escaped character (ControlEscape, ``c``, ``0``, ``x``, ``u``,
        identity); None for ``\\c`` without a letter (Annex B)."""
        char = self.peek()
        self.i += 1
        if char in _CONTROL:
            return _CONTROL[char]
        if char == "c":
            letter = self.peek()
            if letter.isascii() and letter.isalpha():
                self.i += 1
                return ord(letter) % 32
            if in_class and not self.u and ((letter.isdigit() and letter.isascii())
                                            or letter == "_"):
                self.i += 1
                return ord(letter) % 32
            if self.u:
                raise self.error("Invalid unicode escape")
            self.i -= 1
            return None
        if char == "0" and not ("0" <= self.peek() <= "9"):
            return 0
        if char in "0123456789":
            if self.u:
                raise self.error("Invalid decimal escape" if in_class or char == "0"
                                 else "Invalid escape")
            self.i -= 1
            return self.legacy_octal()
        if char == "x":
            digits = self.s[self.i:self.i + 2]
            if len(digits) == 2 and all(d in _HEX for d in digits):
                self.i += 2
                return int(digits, 16)
            if self.u:
                raise self.error("Invalid escape")
            return ord("x")
        if char == "u":
            code = self.unicode_escape()
            if code is None:
                if self.u:
                    raise self.error("Invalid Unicode escape")
                return ord("u")
            return code
        if self.u:
            if char in _SYNTAX or char == "/" or (in_class and char == "-"):
                return ord(char)
            raise self.error("Invalid escape")
        if char == "k" and self.named:
            raise self.error("Invalid escape")
        return ord(char)

    def class_escape_set(self, char: str, in_class: bool = False) -> Ranges:
        ranges = {"d": DIGIT, "w": WORD, "s": SPACE}[char.lower()]
        if char.isupper():
            ranges = complement(ranges)
        if self.ignore_case and not in_class:  # a class closes its whole set
            ranges = _case_closure(ranges, self.u)
        return ranges

    def property(self, negated: bool) -> Ranges:
        end = self.s.find("}", self.i)
        if not self.eat("{") or end < 0:
            raise self.error("Invalid property name")
        expression = self.s[self.i:end]
        self.i = end + 1
        try:
            ranges = property_ranges(expression)
        except JsSyntaxError:
            raise self.error("Invalid property name") from None
        if self.ignore_case:
            raise Untranslatable("case-insensitive property escapes")
        return complement(ranges) if negated else ranges

    def char_class(self) -> Any:
        self.i += 1
        negated = self.eat("^")
        items: list[tuple[int, int]] = []
        while True:
            if self.i >= len(self.s):
                raise self.error("Unterminated character class")
            if self.eat("]"):
                break
            first = self.class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                second = self.class_atom()
                if isinstance(first, tuple) or isinstance(second, tuple):
                    if self.u:
                        raise self.error("Invalid character class")
                    for atom in (first, ord("-"), second):  # Annex B: no range at all
                        items.extend(atom if isinstance(atom, tuple) else ((atom, atom),))
                    continue
                if first > second:
                    raise self.error("Range out of order in character class")
                items.append((first, second))
            else:
                items.extend(first if isinstance(first, tuple) else ((first, first),))
        ranges = normalize(items)
        if self.ignore_case:
            ranges = _case_closure(ranges, self.u)
        return ("set", complement(ranges) if negated else ranges)

    def class_atom(self) -> int | Ranges:
        """A code point, or a set (a class escape such as ``\\d``)."""
        char = self.peek()
        if char != "\\":
            self.i += 1
            return ord(char)
        self.i += 1
        char = self.peek()
        if not char:
            raise self.error("\\ at end of pattern")
        if char == "b":
            self.i += 1
            return 0x08
        if char == "-" and self.u:
            self.i += 1
            return ord("-")
        if char in "dDsSwW":
            self.i += 1
            return self.class_escape_set(char, in_class=True)
        if char in "pP" and self.u:
            self.i += 1
            return self.property(char == "P")
        if char in "123456789" and not self.u:
            return self.legacy_octal()
        code = self.character_escape(in_class=True)
        if code is None:
            return 0x5C  # "\c" + non-letter: the backslash; "c" is read next
        return code


def _identifier(name: str) -> bool:
    """ECMAScript IdentifierName: ID_Start, $ or _, then ID_Continue, $, ZWNJ, ZWJ."""
    start = property_ranges("ID_Start")
    cont = property_ranges("ID_Continue")
    for index, char in enumerate(name):
        code = ord(char)
        if char in "$_" or (index and code in (0x200C, 0x200D)):
            continue
        if not _contains(start if index == 0 else cont, code):
            return False
    return True


def _within(low: int, high: int, ranges: Ranges) -> bool:
    return any(a <= low and high <= b for a, b in ranges)


def _contains(ranges: Ranges, code: int) -> bool:
    import bisect

    index = bisect.bisect_right(ranges, (code, MAX_CODE_POINT + 1)) - 1
    return index >= 0 and ranges[index][0] <= code <= ranges[index][1]


@functools.lru_cache(maxsize=4096)
def parse(source: str, flags: str = "u") -> tuple[Any, _Info]:
    """The syntax tree of ``new RegExp(source, flags)`` (flags: ``u``, ``i``, ``m``, ``g``;
    ``i`` only where :func:`_case_closure` is exact); :class:`JsSyntaxError` where V8
    throws."""
    if set(flags) - set("uimg"):
        raise Untranslatable(f"flags {flags!r}")
    parser = _Parser(source, "u" in flags, "i" in flags)
    return parser.parse()


def compiles(source: str, flags: str = "") -> bool:
    """Whether ``new RegExp(source, flags)`` compiles in V8 (the ``regex`` format)."""
    try:
        parse(source, flags)
    except JsSyntaxError:
        return False
    except (Untranslatable, RecursionError):  # valid, or too deep to tell: not refused
        return True
    return True


# --- Python spelling ---------------------------------------------------------------------------

def _code(code: int) -> str:
    char = chr(code)
    if char.isascii() and char.isalnum():
        return char
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _spell_set(ranges: Ranges) -> str:
    if not ranges:
        return "(?:(?!))"
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _code(ranges[0][0])
    inverse = complement(ranges)
    body, negate = (ranges, "") if len(ranges) <= len(inverse) or not inverse else (
        inverse, "^")
    return "[" + negate + "".join(
        _code(low) if low == high else f"{_code(low)}-{_code(high)}" for low, high in body
    ) + "]"


class _Speller:
    def __init__(self, info: _Info, multiline: bool) -> None:
        self.info = info
        self.multiline = multiline
        self.groups = {g.index: g for g in info.groups}
        self.by_name: dict[str, list[_Group]] = {}
        for group in info.groups:
            if group.name is not None:
                self.by_name.setdefault(group.name, []).append(group)

    def spell(self, node: Any) -> str:
        kind = node[0]
        if kind == "set":
            return _spell_set(node[1])
        if kind == "seq":
            return "".join(self.spell(item) for item in node[1])
        if kind == "alt":
            return "|".join(self.spell(item) for item in node[1])
        if kind == "assert":
            if node[1] == "^":
                return "(?<![^\\n\\r\\u2028\\u2029])" if self.multiline else "^"
            if node[1] == "$":
                return "(?![^\\n\\r\\u2028\\u2029])" if self.multiline else "\\Z"
            if node[1] == "b":
                return "(?a:\\b)"
            # not "\\B": Python's never matches in the empty string, JavaScript's does
            return "(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))"
        if kind == "look":
            _, behind, negated, body = node
            return f"(?{'<' if behind else ''}{'!' if negated else '='}{self.spell(body)})"
        if kind == "group":
            index, body = node[1], node[2]
            return f"({self.spell(body)})" if index is not None else f"(?:{self.spell(body)})"
        if kind == "modifiers":
            raise Untranslatable(f"flag modifiers {node[1]!r}")
        if kind == "backref":
            return self.backref(node[1], node[2])
        if kind == "repeat":
            _, body, low, high, greedy = node
            if low > MAX_REPEAT or (high is not None and high > MAX_REPEAT):
                raise Untranslatable("a repeat count beyond Python's limit")
            inner = self.spell(body)
            if not (body[0] == "set" or (body[0] == "group" and body[1] is not None)):
                inner = f"(?:{inner})"
            if (low, high) == (0, None):
                bound = "*"
            elif (low, high) == (1, None):
                bound = "+"
            elif (low, high) == (0, 1):
                bound = "?"
            elif high is None:
                bound = f"{{{low},}}"
            elif low == high:
                bound = f"{{{low}}}"
            else:
                bound = f"{{{low},{high}}}"
            return inner + bound + ("" if greedy else "?")
        raise AssertionError(kind)

    def backref(self, ref: int | str, position: int) -> str:
        if isinstance(ref, str):
            groups = self.by_name.get(ref, [])
            if len(groups) != 1:
                raise Untranslatable("a back-reference to a duplicated group name")
            group = groups[0]
        else:
            group = self.groups[ref]
        inside_behind = any(p == position and b for _, p, b in self.info.backrefs)
        if group.repeated or group.behind or inside_behind:
            raise Untranslatable("a back-reference into a repeated group or a look-behind")
        if group.end < 0 or position < group.end:  # before the group has matched: empty
            return "(?:)"
        return f"(?:(?({group.index})\\{group.index}))"


@dataclass(frozen=True)
class Translation:
    """A JavaScript pattern spelt for Python: ``pattern`` means the same to ``re`` (when
    ``engine`` is ``"re"``) or to the ``regex`` package (a variable-length look-behind)."""

    pattern: str
    engine: str


@functools.lru_cache(maxsize=4096)
def to_python(source: str, flags: str = "u") -> Translation:
    """``source`` spelt for Python so that ``search`` matches exactly what
    ``new RegExp(source, flags).test`` matches; :class:`JsSyntaxError` if V8 would not
    compile it, :class:`Untranslatable` if no Python pattern means the same."""
    node, info = parse(source, flags)
    spelt = _Speller(info, "m" in flags).spell(node)
    try:
        re.compile(spelt)
        return Translation(spelt, "re")
    except (re.error, RecursionError, OverflowError) as error:
        problem = error
    import regex

    try:
        regex.compile(spelt)
    except Exception:
        raise Untranslatable(f"Python cannot compile it: {problem}") from None
    return Translation(spelt, "regex")
