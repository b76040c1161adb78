"""Mirroring a deployment: fetching its references and schemas, and writing them safely.

A mirror directory holds ``references/manifest.json``, ``references/<service>/<version>/*.json``,
``schemas/<service>/...`` and ``MIRROR.json`` (where and when it was fetched).

Every file name comes from the deployment (manifest items, ``references.json`` file names,
``$schema``, entry ``input``/``output``, exchange ``schema``, ``serviceName``, ``$ref``), so
each is checked to be a plain relative path and the file it names is proven to lie inside the
directory being written before a byte is written.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import legacy
from .errors import ReferenceLoadError
from .fetching import DEFAULT_TIMEOUT, Budget, BudgetExceeded, Limits, get, read_file, too_large

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

log = logging.getLogger("tcdyn.references")

MIRROR_FILE = "MIRROR.json"
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.~@+=-]{0,254}$")
_COMPONENTS = ("references", "schemas", MIRROR_FILE)  # MIRROR.json last: the mirror is whole
_OLD_SCHEMAS = re.compile(rf"^https?://{re.escape(legacy.LEGACY_SCHEMAS_HOST)}/(.+)$")


def normalize_root_url(root_url: str) -> str:
    if not isinstance(root_url, str) or not re.match(r"^https?://[^/]+", root_url):
        raise ValueError(f"rootUrl must be an http(s) URL, got {root_url!r}")
    return root_url.rstrip("/")


def safe_rel(rel: str, source: str, field: str | None = None) -> str:
    """A relative path inside a mirror (``references/...`` or ``schemas/...``); refuse
    anything that could escape it or is not a plain file name."""
    parts = rel.strip("/").split("/") if isinstance(rel, str) else [""]
    if not all(_PART.match(p) for p in parts) or parts[0] not in ("references", "schemas") \
            or len(parts) < 2 or len(parts) > 16:
        raise ReferenceLoadError(source, f"unsafe or unexpected file name {rel!r:.200}", field)
    return "/".join(parts)


def manifest_rel(ref: str, root_url: str | None, source: str, i: int | str) -> str:
    """A manifest item (abstract ``/references/...`` or absolute URL) as a mirror path."""
    if ref.startswith(("http://", "https://")):
        m = re.match(r"^https?://[^/]+(/.*)$", ref)
        path = m.group(1) if m else ""
        if root_url and not ref.startswith(root_url + "/"):
            # A reference served by another host is refused: it is not this deployment's.
            raise ReferenceLoadError(source, f"reference {ref!r} is not under {root_url}",
                                     field=f"references[{i}]")
        if root_url:
            path = ref[len(root_url):]
        ref = path
    return safe_rel(ref, source, f"references[{i}]")


def parse_json(data: bytes, source: str) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReferenceLoadError(source, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ReferenceLoadError(source, "not valid JSON: nested too deeply") from None


def read_json_file(path: Path) -> Any:
    """A JSON file, read with the file size cap."""
    return parse_json(read_file(path), str(path))


def _schema_rel(name: str, service: str) -> str | None:
    """Where a schema name (``v1/task.json#``, ``/schemas/...`` or a URL) lives in a mirror;
    None for a name outside ``/schemas/``."""
    base = name.split("#", 1)[0]
    m = _OLD_SCHEMAS.match(base)
    if m:  # 2018: http://schemas.taskcluster.net/<service>/v1/x.json
        return "schemas/" + m.group(1)
    if "://" in base or base.startswith("/"):
        return base[base.index("/schemas/") + 1:] if "/schemas/" in base else None
    return f"schemas/{service}/{base}"


def schema_names(reference: Any, source: str) -> tuple[list[str], list[ReferenceLoadError]]:
    """The schema files a reference names (its ``$schema``, entries' ``input``/``output``,
    exchanges' ``schema``) as mirror paths, and an error for each unsafe name."""
    found: list[str] = []
    errors: list[ReferenceLoadError] = []
    if not isinstance(reference, dict):
        return found, errors

    def add(name: Any, service: str, field: str) -> None:
        if not isinstance(name, str):
            return
        rel = _schema_rel(name, service)
        if rel is None:
            return
        try:
            found.append(safe_rel(rel, source, field))
        except ReferenceLoadError as exc:
            errors.append(exc)

    add(reference.get("$schema"), "", "$schema")
    service = legacy.service_name(reference) if legacy.is_legacy(reference) else \
        reference.get("serviceName")
    entries = reference.get("entries")
    named = [(f"entries[{i}].{key}", entry[key])
             for i, entry in enumerate(entries if isinstance(entries, list) else [])
             if isinstance(entry, dict) for key in ("input", "output", "schema")
             if isinstance(entry.get(key), str)]
    if named and not (isinstance(service, str) and _PART.match(service)):
        errors.append(ReferenceLoadError(source, f"unsafe service name {service!r:.100}",
                                         "serviceName"))
        return found, errors
    for field, name in named:
        add(name, service, field)  # type: ignore[arg-type]
    return found, errors


def _refs_in(schema: Any, rel: str) -> list[str]:
    """Schema files a schema's ``$ref``s (and ``$schema``) point to, as safe mirror paths."""
    out: list[str] = []
    base = rel.rsplit("/", 1)[0]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$schema") and isinstance(value, str):
                    target = value.split("#", 1)[0]
                    if not target:
                        continue
                    old = _OLD_SCHEMAS.match(target)
                    if old:
                        out.append("schemas/" + old.group(1))
                    elif "/schemas/" in target:
                        out.append(target[target.index("/schemas/") + 1:])
                    elif "://" not in target:
                        out.append(os.path.normpath(f"{base}/{target}"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        walk(schema)
    except RecursionError:
        log.warning("%s is nested too deeply to follow its $refs", rel)
    safe = []
    for r in out:
        try:
            safe.append(safe_rel(r, rel, "$ref"))
        except ReferenceLoadError as exc:
            log.warning("not mirrored: %s", exc)
    return safe


# -- downloading ------------------------------------------------------------------------------

def download(root_url: str, *, client: httpx.Client | None = None, schemas: bool = True,
             timeout: float | None = DEFAULT_TIMEOUT, limits: Limits | None = None
             ) -> dict[str, bytes]:
    """A deployment's manifest, references and (with ``schemas``) schemas, by mirror path.

    One request for ``<rootUrl>/references/references.json`` when the deployment serves it,
    else the manifest, each reference it lists and every schema they reach. Everything
    within ``timeout`` seconds in all and the size caps of ``limits``.
    """
    from . import fetching

    root_url = normalize_root_url(root_url)
    budget = Budget(timeout=timeout, limits=limits)
    own = client is None
    client = client or fetching.client(budget)
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


# -- writing ----------------------------------------------------------------------------------

def token(n: int) -> str:
    """``n`` random bytes as hex, for names of temporary files and folders."""
    return os.urandom(n).hex()


def make_dir(parent: Path, prefix: str) -> Path:
    """A new directory ``parent/<prefix><random>``, mode 0755 less the umask."""
    while True:
        path = parent / f"{prefix}{token(6)}"
        try:
            path.mkdir(mode=0o755)
            return path
        except FileExistsError:
            continue


def inside(root: Path, rel: str, source: str, field: str | None = None) -> Path:
    """``root/rel``, proven to resolve inside ``root``."""
    path = root / safe_rel(rel, source, field)
    if not path.resolve().is_relative_to(root.resolve()):
        raise ReferenceLoadError(source, f"{rel!r} would be written outside {root}", field)
    return path


def write_file(root: Path, rel: str, data: bytes) -> Path:
    """Write one file of a mirror under ``root`` (new directories 0755, files 0644, less the
    umask); the path is proven inside ``root`` and no existing link is followed."""
    path = inside(root, rel, str(root / rel))
    current = root
    for part in path.relative_to(root).parts[:-1]:
        current = current / part
        try:
            current.mkdir(mode=0o755)
        except FileExistsError:
            if current.is_symlink() or not current.is_dir():
                raise ReferenceLoadError(str(current), "is not a directory") from None
    return replace_file(path, data)


def replace_file(path: Path, data: bytes) -> Path:
    """Write ``path`` whole or not at all: a new file beside it (0644 less the umask, no
    link followed), renamed over it once written."""
    tmp = path.with_name(f".tmp-{token(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_tree(root: Path, files: dict[str, bytes], root_url: str,
               digest: str | None = None) -> None:
    """Write ``files`` and a ``MIRROR.json`` into ``root``, a new, empty directory this
    process made (``make_dir``, ``mkdtemp``); ``digest`` is ``content_digest(files)`` when
    the caller has it already.

    Each file is written as given, straight to its place: the tree is not visible until the
    caller swaps the whole directory in, so a file needs no temporary name of its own. Every
    name passes ``safe_rel`` (plain parts, never ``.`` or ``..``), each folder is made once
    and proven to resolve inside ``root``, and no link is followed.
    """
    base = os.path.realpath(root)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    folders: set[str] = set()
    for rel, data in files.items():
        rel = safe_rel(rel, os.path.join(base, rel))
        folder = rel.rpartition("/")[0]
        if folder not in folders:
            _make_dirs(base, folder, folders)
        fd = os.open(os.path.join(base, rel), flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    meta = {"rootUrl": root_url,
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": len(files), "sha256": digest or content_digest(files)}
    fd = os.open(root / MIRROR_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")


def _make_dirs(base: str, folder: str, made: set[str]) -> None:
    """Create ``base/folder`` and its parents (0755 less the umask), each once; ``made``
    holds the mirror paths done. A folder this call creates lies inside ``base`` because
    its parent does (``mkdir`` makes no link); one that was already there must be a real
    directory that resolves inside ``base``."""
    parts = folder.split("/")
    for i in range(1, len(parts) + 1):
        rel = "/".join(parts[:i])
        if rel in made:
            continue
        path = os.path.join(base, rel)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            if os.path.islink(path) or not os.path.isdir(path):
                raise ReferenceLoadError(path, "is not a directory") from None
            if not os.path.realpath(path).startswith(base + os.sep):
                raise ReferenceLoadError(path, f"would be written outside {base}") from None
        made.add(rel)


def content_digest(files: dict[str, bytes]) -> str:
    """What ``write_tree`` records as ``sha256`` in ``MIRROR.json`` for these files."""
    import hashlib  # imported when first used (it loads OpenSSL)

    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(f"{rel}\0{len(files[rel])}\0".encode())
        digest.update(files[rel])
    return digest.hexdigest()


def pull(root_url: str, target: str | os.PathLike[str], *, client: httpx.Client | None = None,
         schemas: bool = True, timeout: float | None = DEFAULT_TIMEOUT,
         limits: Limits | None = None) -> dict[str, list[str]]:
    """Mirror a deployment's manifest, references and schemas into ``target``.

    ``target`` is created, or must be empty or an earlier mirror (holding ``MIRROR.json``):
    any other directory is refused, never overwritten. Nothing is replaced before every file
    has been fetched. Returns what changed: ``{"added": [...], "removed": [...],
    "changed": [...]}`` (mirror-relative paths).
    """
    import shutil

    root_url = normalize_root_url(root_url)
    target = Path(os.path.abspath(os.fspath(target)))
    _check_target(target)
    files = download(root_url, client=client, schemas=schemas, timeout=timeout, limits=limits)
    _check_target(target)
    if target.exists():
        return _replace_in(target, files, root_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = make_dir(target.parent, f".{target.name}-pull-")
    try:
        write_tree(staging, files, root_url)
        changes = _diff(target, staging)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return changes


def _check_target(target: Path) -> None:
    if not target.exists():
        if target.is_symlink():
            raise ReferenceLoadError(str(target), "is a dangling symbolic link")
        return
    if not target.is_dir():
        raise ReferenceLoadError(str(target), "exists and is not a directory; refusing to "
                                 "replace it")
    if not (target / MIRROR_FILE).is_file() and any(target.iterdir()):
        raise ReferenceLoadError(str(target), f"is not empty and holds no {MIRROR_FILE} (it is "
                                 "not a tcdyn mirror); refusing to replace what it holds: "
                                 "pull into a new or empty directory")


def _replace_in(target: Path, files: dict[str, bytes], root_url: str) -> dict[str, list[str]]:
    """Update a mirror in place (the directory itself, e.g. ``.``, stays): the new tree is
    written beside, then ``references``, ``schemas`` and ``MIRROR.json`` are swapped in."""
    import shutil

    staging = make_dir(target, ".pull-")
    old = make_dir(target, ".old-")
    moved: list[str] = []
    try:
        write_tree(staging, files, root_url)
        changes = _diff(target, staging)
        for name in _COMPONENTS:
            if os.path.lexists(target / name):
                os.rename(target / name, old / name)
                moved.append(name)
            if os.path.lexists(staging / name):
                os.rename(staging / name, target / name)
    except BaseException:
        for name in moved:  # put the old mirror back
            if os.path.lexists(target / name):
                os.rename(target / name, staging / f"{name}-new")
            os.rename(old / name, target / name)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return changes


def _digests(root: Path) -> dict[str, str]:
    import hashlib

    out = {}
    for top in ("references", "schemas"):
        if not (root / top).is_dir() or (root / top).is_symlink():
            continue
        for p in (root / top).rglob("*.json"):
            if p.is_file() and not p.is_symlink():
                digest = hashlib.sha256()
                with p.open("rb") as f:
                    for block in iter(functools.partial(f.read, 1 << 20), b""):
                        digest.update(block)
                out[str(p.relative_to(root))] = digest.hexdigest()
    return out


def _diff(old: Path, new: Path) -> dict[str, list[str]]:
    a, b = _digests(old), _digests(new)
    return {"added": sorted(b.keys() - a.keys()), "removed": sorted(a.keys() - b.keys()),
            "changed": sorted(k for k in a.keys() & b.keys() if a[k] != b[k])}
