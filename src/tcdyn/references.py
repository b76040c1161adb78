"""Where a deployment's references and schemas come from, and how they are kept.

A ``ReferenceSet`` is one deployment's references: bundled with tcdyn, read from a mirrored
directory, or fetched from ``<rootUrl>/references/`` into an on-disk cache (which is itself a
mirror). It indexes references from the manifest without parsing them, parses and checks one
only when its class is first asked for, and hands out schemas to the schema registry.

A mirror directory holds ``references/manifest.json``, ``references/<service>/<version>/*.json``,
``schemas/<service>/...`` and ``MIRROR.json`` (where and when it was fetched).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ReferenceLoadError
from .model import ExchangesModel, ServiceModel, build_model, class_name, reference_kind

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("tcdyn.references")

_CONVENTIONAL = re.compile(r"^references/([a-z][a-z0-9_-]*)/(v[0-9]+)/([a-z-]+)\.json$")
MIRROR_FILE = "MIRROR.json"
DEFAULT_MAX_AGE = 24 * 3600


def bundled_dir() -> Path:
    """The reference set shipped with tcdyn, a mirror with references and schemas
    (``tcdyn/_references`` in a wheel, or the checkout's top-level ``references/``)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_references", here.parents[1] / "references"):
        if (candidate / "references" / "manifest.json").is_file():
            return candidate
    raise ReferenceLoadError(str(here / "_references"), "bundled references are missing")


def cache_dir() -> Path:
    """``$TCDYN_CACHE_DIR``, else ``$XDG_CACHE_HOME/tcdyn``, else ``~/.cache/tcdyn``."""
    if os.environ.get("TCDYN_CACHE_DIR"):
        return Path(os.environ["TCDYN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tcdyn"


def cache_path(root_url: str) -> Path:
    """The cache directory of one rootUrl: readable name plus a digest."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", root_url.split("://", 1)[-1]).strip("_")[:60]
    digest = hashlib.sha256(root_url.encode()).hexdigest()[:12]
    return cache_dir() / f"{slug}-{digest}"


def normalize_root_url(root_url: str) -> str:
    if not re.match(r"^https?://[^/]+", root_url or ""):
        raise ValueError(f"rootUrl must be an http(s) URL, got {root_url!r}")
    return root_url.rstrip("/")


def _safe_rel(rel: str, source: str) -> str:
    """A relative path inside a mirror; refuse anything that could escape it."""
    parts = rel.strip("/").split("/")
    if not rel or any(p in ("", ".", "..") or "\\" in p for p in parts) or parts[0] not in (
            "references", "schemas"):
        raise ReferenceLoadError(source, f"unsafe or unexpected file name {rel!r}")
    return "/".join(parts)


@dataclass(frozen=True)
class _Indexed:
    rel: str
    kind: str | None  # "api" / "exchanges" when known from the file name


class ReferenceSet:
    """One deployment's references (and schemas, when the source has them)."""

    def __init__(self, references_dir: Path, *, schemas_dir: Path | None = None,
                 origin: str, root_url: str | None = None,
                 fetcher: _Fetcher | None = None) -> None:
        self.references_dir = Path(references_dir)
        self.schemas_dir = Path(schemas_dir) if schemas_dir else None
        #: "bundled", "directory", "cache" or "fetched".
        self.origin = origin
        #: The deployment these references describe (None for the bundled set).
        self.root_url = root_url
        self._fetcher = fetcher
        self._models: dict[str, ServiceModel | ExchangesModel] = {}
        #: Class name -> the error its reference raised.
        self.problems: dict[str, ReferenceLoadError] = {}
        self._index = self._read_index()

    # -- construction -----------------------------------------------------------------

    @classmethod
    def bundled(cls) -> ReferenceSet:
        """The set shipped with tcdyn (see ``references/SOURCE.json`` for its version)."""
        return cls.from_directory(bundled_dir(), origin="bundled")

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str], *, origin: str = "directory"
                       ) -> ReferenceSet:
        """A mirror (``<dir>/references/manifest.json``) or a bare references folder."""
        path = Path(path).expanduser()
        if (path / "references" / "manifest.json").is_file():
            meta = _read_json_file(path / MIRROR_FILE) if (path / MIRROR_FILE).is_file() else {}
            schemas = path / "schemas"
            return cls(path / "references", schemas_dir=schemas, origin=origin,
                       root_url=meta.get("rootUrl"))
        if (path / "manifest.json").is_file():
            return cls(path, origin=origin)
        raise ReferenceLoadError(str(path), "no references/manifest.json (or manifest.json) here")

    @classmethod
    def from_root_url(cls, root_url: str, *, refresh: bool = False,
                      max_age: float = DEFAULT_MAX_AGE, client: httpx.Client | None = None
                      ) -> ReferenceSet:
        """A deployment's references, from the disk cache when fresh, else fetched."""
        root_url = normalize_root_url(root_url)
        target = cache_path(root_url)
        meta_file = target / MIRROR_FILE
        fresh = meta_file.is_file() and time.time() - meta_file.stat().st_mtime < max_age
        if fresh and not refresh:
            origin = "cache"
        else:
            try:
                pull(root_url, target, client=client)
                origin = "fetched"
            except ReferenceLoadError as exc:
                if not meta_file.is_file():
                    raise
                log.warning("using cached references for %s: %s", root_url, exc)
                origin = "cache"
        return cls(target / "references", schemas_dir=target / "schemas", origin=origin,
                   root_url=root_url, fetcher=_Fetcher(root_url, target))

    # -- index ------------------------------------------------------------------------

    def _manifest_source(self) -> str:
        return str(self.references_dir / "manifest.json")

    def _read_index(self) -> dict[str, _Indexed]:
        source = self._manifest_source()
        manifest = _read_json_file(self.references_dir / "manifest.json")
        refs = manifest.get("references") if isinstance(manifest, dict) else None
        if not isinstance(refs, list):
            raise ReferenceLoadError(source, "expected a list of references", field="references")
        index: dict[str, _Indexed] = {}
        for i, ref in enumerate(refs):
            if not isinstance(ref, str):
                raise ReferenceLoadError(source, f"expected a string, got {ref!r:.60}",
                                         field=f"references[{i}]")
            rel = _manifest_rel(ref, self.root_url, source, i)
            m = _CONVENTIONAL.match(rel)
            if m and m.group(3) in ("api", "exchanges"):
                name = class_name(m.group(1), m.group(3))
                previous = index.get(name)
                if previous is None or _version(previous.rel) < _version(rel):
                    index[name] = _Indexed(rel, m.group(3))
            elif not m:
                # Unconventional file name: only its content says what it is.
                try:
                    raw = self._read_reference(rel)
                except ReferenceLoadError as exc:
                    self.problems[rel] = exc
                    continue
                kind = reference_kind(raw)
                if kind and isinstance(raw.get("serviceName"), str):
                    index[class_name(raw["serviceName"], kind)] = _Indexed(rel, None)
        return index

    def names(self) -> list[str]:
        """The class names this set can build (``Queue``, ``QueueEvents``, ...)."""
        return sorted(self._index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def source_of(self, name: str) -> str:
        return str(self.references_dir / self._index[name].rel.removeprefix("references/"))

    # -- references -------------------------------------------------------------------

    def _read_reference(self, rel: str) -> Any:
        path = self.references_dir / rel.removeprefix("references/")
        if not path.is_file() and self._fetcher is not None:
            self._fetcher.fetch(rel)
        return _read_json_file(path)

    def model(self, name: str) -> ServiceModel | ExchangesModel:
        """The checked model of one reference (parsed on first use, then kept)."""
        model = self._models.get(name)
        if model is not None:
            return model
        if name in self.problems:
            raise self.problems[name]
        if name not in self._index:
            raise AttributeError(f"{self.describe()} has no service {name!r}; "
                                 f"it has: {', '.join(self.names())}")
        entry = self._index[name]
        source = self.source_of(name)
        try:
            raw = self._read_reference(entry.rel)
            model = build_model(raw, source)
            if entry.kind and model.kind != entry.kind:
                raise ReferenceLoadError(source, f"the file name says {entry.kind!r} but "
                                         f"its $schema says {model.kind!r}", field="$schema")
        except ReferenceLoadError as exc:
            self.problems[name] = exc
            raise
        self._models[name] = model
        return model

    # -- schemas ----------------------------------------------------------------------

    def schema(self, path: str) -> Any | None:
        """A schema document by abstract path (``/schemas/queue/v1/task.json``), or None
        when this set has no schemas (a bare references folder) or the deployment lacks it."""
        rel = path.split("#", 1)[0].lstrip("/")
        if not rel.startswith("schemas/") or self.schemas_dir is None:
            return None
        file = self.schemas_dir / _safe_rel(rel, path).removeprefix("schemas/")
        if not file.is_file():
            if self._fetcher is None:
                return None
            try:
                self._fetcher.fetch(rel)
            except ReferenceLoadError as exc:
                log.warning("schema %s is not available: %s", path, exc)
                return None
        return _read_json_file(file)

    @property
    def has_schemas(self) -> bool:
        return self.schemas_dir is not None and (
            self._fetcher is not None or self.schemas_dir.is_dir())

    def describe(self) -> str:
        where = {"bundled": "bundled references",
                 "directory": f"references from {self.references_dir.parent}",
                 "cache": f"cached references of {self.root_url}",
                 "fetched": f"references fetched from {self.root_url}"}
        return where.get(self.origin, self.origin)

    def __repr__(self) -> str:
        return f"<ReferenceSet {self.describe()}: {len(self._index)} services>"


def _version(rel: str) -> int:
    m = _CONVENTIONAL.match(rel)
    return int(m.group(2)[1:]) if m else 0


def _manifest_rel(ref: str, root_url: str | None, source: str, i: int) -> str:
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
    return _safe_rel(ref, f"{source}: references[{i}]")


def _read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ReferenceLoadError(str(path), "file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReferenceLoadError(str(path), f"not valid JSON: {exc}") from None


# -- fetching and mirroring -------------------------------------------------------------

class _Fetcher:
    """Fetches single files of a deployment into its mirror, on demand."""

    def __init__(self, root_url: str, target: Path) -> None:
        self.root_url = root_url
        self.target = target

    def fetch(self, rel: str) -> None:
        import httpx

        rel = _safe_rel(rel, self.root_url)
        with httpx.Client(timeout=30, follow_redirects=False) as client:
            data = _get(client, f"{self.root_url}/{rel}")
        _write_atomic(self.target / rel, data)


def _get(client: httpx.Client, url: str) -> bytes:
    import httpx

    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise ReferenceLoadError(url, f"could not be fetched: {exc}") from None
    if response.status_code != 200:
        raise ReferenceLoadError(url, f"HTTP {response.status_code}")
    return response.content


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def pull(root_url: str, target: str | os.PathLike[str], *, client: httpx.Client | None = None,
         schemas: bool = True) -> dict[str, list[str]]:
    """Mirror a deployment's manifest, references and schemas into ``target``.

    One request for ``<rootUrl>/references/references.json`` when the deployment serves it,
    else the manifest, each reference it lists and (with ``schemas``) every schema they reach.
    The new mirror replaces the old one only once complete. Returns what changed:
    ``{"added": [...], "removed": [...], "changed": [...]}`` (mirror-relative paths).
    """
    import httpx

    root_url = normalize_root_url(root_url)
    target = Path(target)
    own = client is None
    client = client or httpx.Client(timeout=30, follow_redirects=False)
    try:
        files = _fetch_bundle(client, root_url) or _fetch_each(client, root_url, schemas)
    finally:
        if own:
            client.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for rel, data in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        meta = {"rootUrl": root_url, "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime()),
                "files": len(files)}
        (staging / MIRROR_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        changes = _diff(target, staging)
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return changes


def _fetch_bundle(client: httpx.Client, root_url: str) -> dict[str, bytes] | None:
    url = f"{root_url}/references/references.json"
    try:
        data = json.loads(_get(client, url))
    except (ReferenceLoadError, json.JSONDecodeError) as exc:
        log.info("no usable %s (%s); fetching file by file", url, exc)
        return None
    if not isinstance(data, list):
        raise ReferenceLoadError(url, "expected a list of {filename, content}")
    files = {}
    for i, item in enumerate(data):
        if not (isinstance(item, dict) and isinstance(item.get("filename"), str)
                and "content" in item):
            raise ReferenceLoadError(url, "expected {filename, content}", field=f"[{i}]")
        rel = _safe_rel(item["filename"], f"{url}: [{i}].filename")
        files[rel] = json.dumps(item["content"], indent=2).encode()
    if "references/manifest.json" not in files:
        raise ReferenceLoadError(url, "has no references/manifest.json")
    return files


def _fetch_each(client: httpx.Client, root_url: str, schemas: bool) -> dict[str, bytes]:
    manifest_url = f"{root_url}/references/manifest.json"
    manifest_bytes = _get(client, manifest_url)
    try:
        manifest = json.loads(manifest_bytes)
        refs = manifest["references"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ReferenceLoadError(manifest_url, f"not a manifest: {exc}") from None
    files = {"references/manifest.json": manifest_bytes}
    pending: list[str] = []
    for i, ref in enumerate(refs):
        rel = _manifest_rel(ref, root_url, manifest_url, i)
        files[rel] = _get(client, f"{root_url}/{rel}")
        try:
            reference = json.loads(files[rel])
        except json.JSONDecodeError:
            continue  # reported when the class is built
        if schemas and isinstance(reference, dict):
            pending += _schemas_named(reference)
    missing: set[str] = set()
    while schemas and pending:
        rel = pending.pop()
        if rel in files or rel in missing:
            continue
        try:
            files[rel] = _get(client, f"{root_url}/{rel}")
        except ReferenceLoadError as exc:
            log.debug("schema not mirrored: %s", exc)
            missing.add(rel)
            continue
        try:
            pending += [r for r in _refs_in(json.loads(files[rel]), rel) if r not in files]
        except json.JSONDecodeError:
            continue
    if missing:
        log.warning("%s does not serve %d of the schemas its references name (e.g. %s); "
                    "they will not be validated", root_url, len(missing), min(missing))
    return files


def _schemas_named(reference: dict) -> list[str]:
    """The schema files one reference names (inputs, outputs, messages, its own $schema)."""
    service = reference.get("serviceName", "")
    found = []
    schema = reference.get("$schema")
    if isinstance(schema, str) and "/schemas/" in schema:
        found.append(schema[schema.index("/schemas/") + 1:].split("#")[0])
    for entry in reference.get("entries", []) if isinstance(reference.get("entries"), list) else []:
        for key in ("input", "output", "schema"):
            name = entry.get(key) if isinstance(entry, dict) else None
            if isinstance(name, str) and name.split("#")[0].endswith(".json"):
                found.append(f"schemas/{service}/{name.split('#')[0].lstrip('/')}")
    return found


def _refs_in(schema: Any, rel: str) -> list[str]:
    """Schema files a schema's ``$ref``s (and ``$schema``) point to, as mirror paths."""
    out: list[str] = []
    base = rel.rsplit("/", 1)[0]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$schema") and isinstance(value, str):
                    target = value.split("#", 1)[0]
                    if not target:
                        continue
                    if "/schemas/" in target:
                        out.append(target[target.index("/schemas/") + 1:])
                    elif "://" not in target:
                        out.append(os.path.normpath(f"{base}/{target}"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return [r for r in out if r.startswith("schemas/") and ".." not in r]


def _digests(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*.json") if p.is_file() and p.name != MIRROR_FILE}


def _diff(old: Path, new: Path) -> dict[str, list[str]]:
    a, b = _digests(old), _digests(new)
    return {"added": sorted(b.keys() - a.keys()), "removed": sorted(a.keys() - b.keys()),
            "changed": sorted(k for k in a.keys() & b.keys() if a[k] != b[k])}


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` where ``target`` is; the old tree is removed only after the swap."""
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)
