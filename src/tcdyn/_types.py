"""Type aliases shared by tcdyn's typing stubs (``tcdyn/_services``, ``tcdyn stubs``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: A payload: any JSON object (a ``dict``, a ``TypedDict``, ...).
Payload = Mapping[str, Any]
#: A response, or a page of a paginated one.
Json = dict[str, Any]
#: ``query={...}``: the entry's query arguments (``None`` values are left out).
Query = Mapping[str, str | int | float | bool | None]
#: ``params={...}``: route arguments by name.
Params = Mapping[str, str | int]
#: A routing-key pattern: a dict of words, or a string used as is.
RoutingKey = Mapping[str, str | None] | str
#: ``paginationHandler=`` (official client): called with every page.
PageHandler = Callable[[dict[str, Any]], object]
