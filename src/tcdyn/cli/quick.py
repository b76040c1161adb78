"""The commands answered before the parser is built: ``tcdyn --version``, ``tcdyn slugid
[--v4] [-n N]`` and ``tcdyn from-now OFFSET...``, in their plain forms.

They need no deployment, so they need neither ``argparse`` nor ``logging``: what they import
is ``slugid`` or ``tcdyn.dates`` (``tests/cli/test_quick.py`` holds the list). Their options
are the parser's (``auth.add_commands``); any other form (``--help``, an option spelt
otherwise, a count that is not a plain positive number, an offset that starts with ``-`` or
does not parse) is left to the parser, which says what is wrong as for every command.
"""

from __future__ import annotations


def answer(argv: list[str]) -> int | None:
    """Run ``argv`` if it is a plain form of a quick command (its exit status), else None."""
    if argv == ["--version"]:
        from .. import __version__

        print(f"tcdyn {__version__}")
        return 0
    if not argv:
        return None
    if argv[0] == "slugid":
        return _slugid(argv[1:])
    if argv[0] == "from-now":
        return _from_now(argv[1:])
    return None


def print_slugids(n: int, v4: bool) -> None:
    """``tcdyn slugid``: ``n`` new slugids, one per line ("nice" ones unless ``v4``)."""
    import slugid

    make = slugid.v4 if v4 else slugid.nice
    for _ in range(n):
        print(make())


def _slugid(words: list[str]) -> int | None:
    v4, n = False, 1
    i = 0
    while i < len(words):
        if words[i] == "--v4":
            v4 = True
        elif words[i] == "-n" and i + 1 < len(words) and _plain_count(words[i + 1]):
            n = int(words[i + 1])
            i += 1
        else:
            return None
        i += 1
    print_slugids(n, v4)
    return 0


def _plain_count(word: str) -> bool:
    """A count the parser reads the same: 1 to 18 ASCII digits, not all zeros."""
    return word.isascii() and word.isdigit() and len(word) <= 18 and int(word) >= 1


def _from_now(words: list[str]) -> int | None:
    if not words or any(w.startswith("-") for w in words):
        return None  # no offset, an option, or a negative offset: the parser's
    from ..dates import fromNowJSON

    try:
        date = fromNowJSON(" ".join(words))
    except ValueError:
        return None  # the parser's command says why
    print(date)
    return 0
