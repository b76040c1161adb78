"""Text that tcdyn did not write, made safe to show on a terminal: one rule for all of it.

A deployment's references, a server's error messages, a task's log and a broker's messages
can carry escape sequences (OSC 52 writes the clipboard, CSI moves the cursor and erases
lines, OSC 0 sets the window title) or characters that reorder what is shown (U+202E). The
rule: control characters (C0 but tab and newline, DEL, C1), format characters (bidi
overrides and isolates, zero-width ones), line and paragraph separators, lone surrogates and
unassigned code points are written as Python escapes (``\\x1b``, ``\\u202e``); everything
else, any script included, stays as it is.

``escape`` is for text shown to a person (errors, help, a log on a terminal); ``json_text``
applies the same rule to JSON text as JSON escapes, which decode to the very same value, so
JSON output stays faithful whether it goes to a terminal or a pipe.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = ["escape", "is_unsafe", "json_text"]

#: Unicode categories never written to a terminal as they are.
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
#: Everything but printable ASCII, tab and newline: the characters worth a closer look.
_CANDIDATE = re.compile(r"[^\t\n\x20-\x7e]")


def is_unsafe(char: str) -> bool:
    """Whether one character falls under the rule (tab and newline never do)."""
    return char not in "\t\n" and unicodedata.category(char) in _UNSAFE


def _python_spelling(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_spelling(code: int) -> str:
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _replacer(spell: Callable[[int], str]) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement spelling each character under the rule with ``spell``."""
    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return spell(ord(char)) if is_unsafe(char) else char
    return replace


_python_escape = _replacer(_python_spelling)
_json_escape = _replacer(_json_spelling)


def escape(text: str) -> str:
    """``text`` with every character under the rule written as a Python escape."""
    return _CANDIDATE.sub(_python_escape, text)


def json_text(text: str) -> str:
    """JSON text with every character under the rule written as a JSON escape (the text
    must be JSON: outside strings it holds only printable ASCII and whitespace)."""
    return _CANDIDATE.sub(_json_escape, text)
