"""Paginated listings without I/O: a ``Pager`` decides the calls and the items of a listing
for both clients' ``pages`` / ``items`` (and the official ``paginationHandler``), and stops a
walk whose ``continuationToken`` repeats."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import (
    PaginationLoopError,
)
from ..errors import TaskclusterArgumentError as ArgumentError
from ..model.reference import EntryModel
from .bind import Call

# -- pagination ---------------------------------------------------------------------------

def next_query(query: dict[str, str] | None, page: Any) -> dict[str, str] | None:
    """The query for the page after ``page``, or ``None`` when it was the last."""
    token = page.get("continuationToken") if isinstance(page, dict) else None
    if not token:
        return None
    return {**(query or {}), "continuationToken": str(token)}


def page_items(entry: EntryModel, page: Any, key: str | None = None) -> list[Any]:
    """The list of items one page carries (its only list-valued field, or ``key``)."""
    if not isinstance(page, dict):
        raise TypeError(f"{entry.name}() returned {type(page).__name__}, not a page object")
    if key is not None:
        if not isinstance(page.get(key), list):
            raise KeyError(f"{entry.name}() pages have no list field {key!r}")
        keyed: list[Any] = page[key]
        return keyed
    lists = [k for k, v in page.items() if isinstance(v, list)]
    if len(lists) != 1:
        raise TypeError(f"{entry.name}() pages have list fields {lists}: pass key=")
    only: list[Any] = page[lists[0]]
    return only


def _digest(token: str) -> bytes:
    """A fixed-size stand-in for a token: a walk remembers every token it was given."""
    import hashlib  # imported by the first paginated walk

    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Pager:
    """The decisions of one listing, shared by the sync and async clients: which call
    fetches the next page (``after(call, page)``, until None), and which items of a page to
    hand out (``take(page)``, until ``done``). The clients only send and wait.

    A non-paginated entry is one page; ``max_pages`` / ``max_items`` stop early. A token
    seen before in the walk (the caller's own included) would repeat pages forever:
    ``after`` raises ``PaginationLoopError`` instead of following it."""

    __slots__ = ("_key", "_left", "_max_pages", "_pages", "_seen", "entry")

    def __init__(self, entry: EntryModel, *, max_pages: int | None = None,
                 key: str | None = None, max_items: int | None = None) -> None:
        self.entry = entry
        self._max_pages = max_pages
        self._pages = 0
        self._key = key
        self._left = max_items
        self._seen: dict[bytes, int] | None = None  # token digest -> the page that gave it

    def after(self, call: Call, page: Any) -> Call | None:
        """The call for the page after ``page`` (fetched by ``call``), or None."""
        self._pages += 1
        if not self.entry.paginated or (self._max_pages is not None
                                        and self._pages >= self._max_pages):
            return None
        query = next_query(call.query, page)
        if query is None:
            return None
        self._remember(call, query["continuationToken"])
        return dataclasses.replace(call, query=query)

    def _remember(self, call: Call, token: str) -> None:
        seen = self._seen
        if seen is None:
            own = (call.query or {}).get("continuationToken")
            seen = self._seen = {_digest(own): 0} if own else {}
        key = _digest(token)
        first = seen.setdefault(key, self._pages)
        if first == self._pages:
            return
        where = ("the continuationToken the caller passed" if first == 0 else
                 f"the continuationToken it gave on page {first}")
        raise PaginationLoopError(
            f"the server answered page {self._pages} with {where} (a {len(token)}-character "
            "token, not shown); following it would repeat pages forever, so the listing "
            "stops here", page=self._pages, first_page=first, service=call.service,
            method_name=call.name, http_method=call.http_method, url=call.url)

    @property
    def done(self) -> bool:
        """Whether ``max_items`` items were handed out (no more pages are needed)."""
        return self._left is not None and self._left <= 0

    def take(self, page: Any) -> list[Any]:
        """The items of ``page`` to hand out (all, or up to what ``max_items`` leaves)."""
        items = page_items(self.entry, page, self._key)
        if self._left is None:
            return items
        items = items[:max(self._left, 0)]
        self._left -= len(items)
        return items


def split_paging(entry: EntryModel, kwargs: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """A call's keywords without the official ``paginationHandler`` / ``paginationLimit``
    (the limit put into the query when the entry takes one), and the handler or None."""
    if "paginationHandler" not in kwargs and "paginationLimit" not in kwargs:
        return kwargs, None
    rest = dict(kwargs)
    handler = rest.pop("paginationHandler", None)
    limit = rest.pop("paginationLimit", None)
    if handler is not None and not callable(handler):
        raise ArgumentError(f"paginationHandler must be callable, got {type(handler).__name__}")
    if limit is not None and "limit" in entry.query:
        rest["query"] = {**(rest.get("query") or {}), "limit": limit}
    return rest, handler
