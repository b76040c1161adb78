"""Downloading a deployment's references and schemas: ``references.json`` in one request when
the deployment serves it (its items kept as the bytes received), else the manifest, each
reference and every schema they reach, all within one ``fetch.Budget`` (a deadline and size
caps). Every file name a deployment supplies passes ``tree.safe_rel``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, cast

from .. import checks
from ..errors import ReferenceLoadError
from ..logger import logger
from ..model import legacy
from .fetch import DEFAULT_LOAD_TIMEOUT, Budget, BudgetExceeded, Limits, get, too_large

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

from .names import _refs_in, schema_names
from .tree import manifest_rel, parse_json, safe_rel

log = logger("tcdyn.references")


# -- downloading ------------------------------------------------------------------------------

def download(root_url: str, *, client: httpx.Client | None = None, schemas: bool = True,
             timeout: float | None = DEFAULT_LOAD_TIMEOUT, limits: Limits | None = None
             ) -> dict[str, bytes]:
    """A deployment's manifest, references and (with ``schemas``) schemas, by mirror path.

    One request for ``<rootUrl>/references/references.json`` when the deployment serves it,
    else the manifest, each reference it lists and every schema they reach. Everything
    within ``timeout`` seconds in all and the size caps of ``limits``.
    """
    from . import fetch as fetching

    root_url = checks.root_url(root_url)
    budget = Budget(timeout=timeout, limits=limits)
    own = client is None
    client = client or fetching.client()
    try:
        return _fetch_bundle(client, root_url, budget) or _fetch_each(client, root_url,
                                                                      schemas, budget)
    finally:
        if own:
            client.close()


def _fetch_bundle(client: httpx.Client, root_url: str, budget: Budget
                  ) -> dict[str, bytes] | None:
    url = f"{root_url}/references/references.json"
    try:
        # The bundle is the whole set: it gets the total cap, not the per-file one.
        data = get(client, url, budget, limit=budget.limits.total)
    except BudgetExceeded:
        raise
    except ReferenceLoadError as exc:
        log.info("no usable %s (%s); fetching file by file", url, exc)
        return None
    items = _raw_items(data)  # each content as the bytes received
    received = items is not None
    if items is None:  # not a plain list of objects: parsed, to say what is wrong
        try:
            items = parse_json(data, url)
        except ReferenceLoadError as exc:
            log.info("%s; fetching file by file", exc)
            return None
    del data
    if not isinstance(items, list):
        raise ReferenceLoadError(url, "expected a list of {filename, content}")
    files = {}
    for i, item in enumerate(items):
        if not (isinstance(item, dict) and isinstance(item.get("filename"), str)
                and "content" in item):
            raise ReferenceLoadError(url, "expected {filename, content}", field=f"[{i}]")
        rel = safe_rel(item["filename"], url, f"[{i}].filename")
        try:  # compact: C-accelerated (indent= would take json's pure-Python encoder)
            files[rel] = item["content"] if received else _dumps(item["content"]).encode()
        except RecursionError:
            raise ReferenceLoadError(url, "nested too deeply", f"[{i}].content") from None
        if len(files[rel]) > budget.limits.file:
            raise too_large(f"{url}: [{i}] ({rel})", budget.limits.file)
    if "references/manifest.json" not in files:
        raise ReferenceLoadError(url, "has no references/manifest.json")
    return files


def _fetch_each(client: httpx.Client, root_url: str, schemas: bool, budget: Budget
                ) -> dict[str, bytes]:
    manifest_url = f"{root_url}/references/manifest.json"
    manifest_bytes = get(client, manifest_url, budget)
    manifest = parse_json(manifest_bytes, manifest_url)
    old = legacy.manifest_items(manifest)  # 2018: {"Name": "https://references..."}
    refs = [legacy.reference_path(url) for _, url in old] if old is not None else \
        manifest.get("references") if isinstance(manifest, dict) else None
    if not isinstance(refs, list):
        raise ReferenceLoadError(manifest_url, "not a manifest: expected a list",
                                 field="references")
    files = {"references/manifest.json": manifest_bytes}
    pending: list[str] = []
    for i, ref in enumerate(refs):
        if not isinstance(ref, str):
            raise ReferenceLoadError(manifest_url, f"expected a string, got {ref!r:.60}",
                                     field=f"references[{i}]")
        rel = manifest_rel(ref, root_url, manifest_url, i)
        files[rel] = get(client, f"{root_url}/{rel}", budget)
        if not schemas:
            continue
        try:
            reference = parse_json(files[rel], rel)
        except ReferenceLoadError:
            continue  # reported when the class is built
        found, unsafe = schema_names(reference, f"{root_url}/{rel}")
        for exc in unsafe:  # refused again, naming the field, when the class is built
            log.warning("not mirrored: %s", exc)
        pending += found
    missing: set[str] = set()
    while pending:
        rel = pending.pop()
        if rel in files or rel in missing:
            continue
        try:
            files[rel] = get(client, f"{root_url}/{rel}", budget)
        except BudgetExceeded:
            raise
        except ReferenceLoadError as exc:
            log.debug("schema not mirrored: %s", exc)
            missing.add(rel)
            continue
        try:
            pending += [r for r in _refs_in(parse_json(files[rel], rel), rel) if r not in files]
        except ReferenceLoadError:
            continue
    if missing:
        log.warning("%s does not serve %d of the schemas its references name (e.g. %s); "
                    "they will not be validated", root_url, len(missing), min(missing))
    return files


_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_SPACE = re.compile(r"[ \t\n\r]*")


def _raw_items(data: bytes) -> list[dict[str, Any]] | None:
    """``references.json``'s items, each ``content`` the exact bytes the deployment sent for
    it (one pass of json's C scanner; nothing is re-encoded). None when ``data`` is not a
    list of objects of valid JSON: the caller parses it the usual way to say what is wrong."""
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass")
        # json's C scanner (set by JSONDecoder.__init__, not in the typeshed stubs)
        scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
        # _SPACE matches anywhere (maybe the empty string): never None
        space = cast("Callable[[str, int], re.Match[str]]", _SPACE.match)

        def after(i: int) -> tuple[str, int]:  # the next non-space character, the index after
            i = space(text, i).end()
            return text[i:i + 1], i + 1

        items: list[dict[str, Any]] = []
        c, i = after(0)
        if c != "[":
            return None
        c, i = after(i)
        while c != "]":
            if c != "{":
                return None
            item: dict[str, Any] = {}
            c, i = after(i)
            while c != "}":
                if c != '"':
                    return None
                key, i = scan(text, i - 1)
                c, i = after(i)
                if c != ":":
                    return None
                start = space(text, i).end()
                value, i = scan(text, start)
                item[key] = text[start:i].encode("utf-8", "surrogatepass") \
                    if key == "content" else value
                c, i = after(i)
                if c == ",":
                    c, i = after(i)
                    if c != '"':
                        return None
                elif c != "}":
                    return None
            items.append(item)
            c, i = after(i)
            if c == ",":
                c, i = after(i)
                if c != "{":
                    return None
            elif c != "]":
                return None
        if space(text, i).end() != len(text):
            return None
    except (StopIteration, ValueError, RecursionError, UnicodeError):
        return None
    return items
