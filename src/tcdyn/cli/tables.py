"""Aligned tables for people: columns padded to the widest cell (by the width a terminal
gives each character), states in colour on a terminal (none when piped or with
``$NO_COLOR``), the widest text column shortened with ``…`` to fit the terminal. Every
cell goes through the one terminal rule (``tcdyn.terminal.escape``): a server's text
cannot move the cursor or reorder a line, on a terminal or in a file.
"""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: ANSI colours of task and run states.
STATE_COLOURS = {"completed": "32", "failed": "31", "exception": "35", "running": "36",
                 "pending": "33", "unscheduled": "2"}


@dataclass(frozen=True)
class Column:
    title: str
    key: str
    #: ``>`` for numbers.
    align: str = "<"
    #: Cut with … to fit the terminal (the widest such column first).
    shrink: bool = False
    #: Colour the cell by ``STATE_COLOURS``.
    state: bool = False
    #: An ISO date, shown as ``YYYY-MM-DD HH:MM:SS``.
    time: bool = False


def colour_on(stream: Any = None) -> bool:
    stream = sys.stdout if stream is None else stream
    return stream.isatty() and not os.environ.get("NO_COLOR")


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide East Asian characters two, combining
    marks none)."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c)
               in "WF" else 1 for c in text)


def cut(text: str, columns: int) -> str:
    if width(text) <= columns:
        return text
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > columns - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def _cell(value: Any) -> str:
    from ..terminal import escape

    if value is None or value == "":
        return "-"
    return escape(str(value)).replace("\n", " ")


def paint(text: str, state: str, on: bool) -> str:
    code = STATE_COLOURS.get(state)
    return f"\x1b[{code}m{text}\x1b[0m" if on and code else text


def render(columns: Sequence[Column], rows: Sequence[dict[str, Any]], *,
           colour: bool | None = None, room: int | None = None) -> str:
    """The table as text (with a header line); ``room``: the terminal's width to fit."""
    colour = colour_on() if colour is None else colour
    if room is None and sys.stdout.isatty():
        room = shutil.get_terminal_size().columns
    from ..workflow.views import short_time

    cells = [[_cell(short_time(row.get(c.key)) if c.time and row.get(c.key) else row.get(c.key))
              for c in columns] for row in rows]
    widths = [max([width(c.title), *(width(r[i]) for r in cells)]) for i, c in
              enumerate(columns)]
    if room:
        over = sum(widths) + 2 * (len(columns) - 1) - room
        shrinkable = sorted((i for i, c in enumerate(columns) if c.shrink),
                            key=lambda i: -widths[i])
        for i in shrinkable:
            if over <= 0:
                break
            take = min(over, widths[i] - max(8, width(columns[i].title)))
            if take > 0:
                widths[i] -= take
                over -= take
    lines = [_line([c.title for c in columns], columns, widths, None, colour, header=True)]
    for row, cell_row in zip(rows, cells, strict=True):
        lines.append(_line(cell_row, columns, widths, row, colour))
    return "\n".join(lines)


def _line(cells: Sequence[str], columns: Sequence[Column], widths: Sequence[int],
          row: dict[str, Any] | None, colour: bool, header: bool = False) -> str:
    parts = []
    for text, column, size in zip(cells, columns, widths, strict=True):
        text = cut(text, size)
        pad = " " * (size - width(text))
        padded = pad + text if column.align == ">" else text + pad
        if header and colour:
            padded = f"\x1b[1m{padded}\x1b[0m"
        elif row is not None and column.state:
            padded = paint(padded, str(row.get(column.key)), colour)
        parts.append(padded)
    return "  ".join(parts).rstrip()


def facts(pairs: Sequence[tuple[str, str]], *, colour: bool | None = None) -> str:
    """``label  value`` lines (a task's facts), states in colour."""
    colour = colour_on() if colour is None else colour
    size = max((len(label) for label, _ in pairs), default=0)
    lines = []
    for label, value in pairs:
        shown = _cell(value)
        if label == "state":
            shown = paint(shown, value, colour)
        lines.append(f"{label:<{size}}  {shown}".rstrip())
    return "\n".join(lines)
