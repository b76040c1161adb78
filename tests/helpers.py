"""Test helpers: run one scenario through the sync and the async client alike."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

SECRET = "s3cr3t-access-token-never-shown"
CREDS = {"clientId": "tester", "accessToken": SECRET}


def run(flavour: str, cls_name: str, deployment: Any, fn: Callable[[Any], Any],
        **client_kwargs: Any) -> Any:
    """Build ``cls_name`` (sync or async) from ``deployment`` and return ``fn(client)``,
    awaiting it for the async flavour; the client is closed afterwards."""
    if flavour == "sync":
        with getattr(deployment, cls_name)(**client_kwargs) as client:
            return fn(client)

    async def main() -> Any:
        async with getattr(deployment.aio, cls_name)(**client_kwargs) as client:
            result = fn(client)
            if inspect.isawaitable(result):
                result = await result
            if hasattr(result, "__aiter__"):
                result = [item async for item in result]
            return result

    return asyncio.run(main())


def collect(value: Any) -> Any:
    """A sync iterator as a list (the async flavour is collected by ``run``)."""
    return list(value) if hasattr(value, "__next__") else value


def one_line_signatures(text: str) -> str:
    """``help()`` text with a signature Python 3.13's pydoc wraps one parameter per line
    put back on one line, as earlier Pythons print it."""
    import re

    return re.sub(r"\(\r?\n\s+|,\r?\n\s+|\r?\n\)",
                  lambda m: {"(": "(", ",": ", "}.get(m[0][0], ")"), text)
