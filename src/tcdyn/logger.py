"""tcdyn's loggers, each under ``tcdyn``, which gets its ``NullHandler`` here.

A library's log records reach only the handlers its application configures: with none,
``logging`` would print warnings to stderr (``logging.lastResort``). The handler is added
when the first module that logs asks for its logger, not by ``import tcdyn``, which stays
without ``logging`` (the quick commands of ``tcdyn`` start in a few milliseconds).
"""

from __future__ import annotations

import logging

_ROOT = logging.getLogger("tcdyn")
if not any(isinstance(h, logging.NullHandler) for h in _ROOT.handlers):
    _ROOT.addHandler(logging.NullHandler())


def logger(name: str) -> logging.Logger:
    """The logger ``name`` (``tcdyn`` or a ``tcdyn.`` child)."""
    if name != "tcdyn" and not name.startswith("tcdyn."):
        raise ValueError(f"not a tcdyn logger: {name!r}")
    return logging.getLogger(name)
