"""One deployment's references: the index of its services and their checked models.

A ``ReferenceSet`` reads files from a source (``sources``: a mirrored directory, the
bundled one, or a deployment's mirror in the disk cache that fetches what it lacks). It indexes
references from the manifest without parsing them, parses and checks one only when its class is
first asked for, and hands out schemas to the schema registry.

Fetching and writing mirrors is the job of ``fetch``, ``remote`` and ``tree`` (size caps, a
deadline, file names proven to stay inside the mirror); the shared disk cache is ``cache``'s.

``problems`` maps where a problem is to the ``ReferenceLoadError`` it raised, keyed one way: a
dotted path that starts with the class name (``Queue``: the whole reference failed;
``Queue.entries[3].name``: that entry was left out), or with ``manifest`` for a manifest item
that could not be read to learn its class (``manifest.references[4]``).
"""

from __future__ import annotations

import os
import re
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import checks
from ..errors import ReferenceLoadError, ServiceNotFound
from ..logger import logger
from ..model import legacy
from ..model.reference import ExchangesModel, ServiceModel, build_model, class_name, reference_kind
from .fetch import DEFAULT_LOAD_TIMEOUT
from .names import schema_names
from .places import bundled_dir as bundled_dir
from .places import cache_dir
from .sources import DirectorySource, RemoteSource, Source
from .tree import MIRROR_FILE
from .tree import manifest_rel as _manifest_rel
from .tree import read_json_file as _read_json_file
from .tree import safe_rel as _safe_rel

if TYPE_CHECKING:
    import httpx

log = logger("tcdyn.references")

_CONVENTIONAL = re.compile(r"^references/([a-z][a-z0-9_-]*)/(v[0-9]+)/([a-z-]+)\.json$")
DEFAULT_MAX_AGE = 24 * 3600


def cache_path(root_url: str) -> Path:
    """The cache directory of one rootUrl: readable name plus a digest."""
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", root_url.split("://", 1)[-1]).strip("_")[:60]
    import hashlib  # imported when first used (it loads OpenSSL)

    digest = hashlib.sha256(root_url.encode()).hexdigest()[:12]
    return cache_dir() / f"{slug}-{digest}"


class _Indexed:
    """Where a class's reference is (``rel``) and, when its file name says, its ``kind``
    (``"api"`` / ``"exchanges"``). A plain class: a dataclass costs more to make at import."""

    __slots__ = ("kind", "rel")

    def __init__(self, rel: str, kind: str | None) -> None:
        self.rel = rel
        self.kind = kind


class ReferenceSet:
    """One deployment's references (and schemas, when the source has them)."""

    def __init__(self, references_dir: Path, *, schemas_dir: Path | None = None,
                 origin: str, root_url: str | None = None,
                 source: Source | None = None) -> None:
        self.references_dir = Path(references_dir)
        self.schemas_dir = Path(schemas_dir) if schemas_dir else None
        #: Where the files come from (default: the two folders).
        self.source: Source = source or DirectorySource(self.references_dir, self.schemas_dir)
        #: "bundled", "directory", "cache" or "fetched".
        self.origin = origin
        #: The deployment these references describe (None for the bundled set).
        self.root_url = root_url
        self._models: dict[str, ServiceModel | ExchangesModel] = {}
        #: Where a problem is (see the module's docstring) -> the error it raised.
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
                      max_age: float = DEFAULT_MAX_AGE, client: httpx.Client | None = None,
                      timeout: float | None = DEFAULT_LOAD_TIMEOUT) -> ReferenceSet:
        """A deployment's references, from the disk cache when fresh, else fetched (within
        ``timeout`` seconds in all; the cache serves when fetching fails)."""
        from . import cache
        from .fetch import check_timeout
        from .remote import download

        root_url = checks.root_url(root_url)
        timeout = check_timeout(timeout)
        entry = cache_path(root_url)
        for _ in range(3):  # a mirror pruned between resolving and reading: resolve again
            usable = cache.trusted(entry)
            if usable:
                cache.prune(entry)
            cached = cache.current(entry) if usable else None
            if cached is not None and not refresh and \
                    time.time() - (cached / MIRROR_FILE).stat().st_mtime < max_age:
                mirror, origin = cached, "cache"
            else:
                try:
                    files = download(root_url, client=client, timeout=timeout)
                except ReferenceLoadError as exc:
                    if cached is None:
                        raise
                    log.warning("using cached references for %s: %s", root_url, exc)
                    mirror, origin = cached, "cache"
                else:
                    mirror, origin = _store(entry, files, root_url, usable, cached), "fetched"
            try:
                refs = cls(mirror / "references", schemas_dir=mirror / "schemas",
                           origin=origin, root_url=root_url,
                           source=RemoteSource(root_url, mirror, timeout))
            except ReferenceLoadError:
                if (mirror / MIRROR_FILE).is_file():
                    raise
                continue
            if mirror.parent != entry:  # a private copy: gone with the set
                import shutil

                weakref.finalize(refs, shutil.rmtree, mirror, ignore_errors=True)
            return refs
        raise ReferenceLoadError(str(entry), "the cached references kept disappearing")

    # -- index ------------------------------------------------------------------------

    def _manifest_source(self) -> str:
        return str(self.references_dir / "manifest.json")

    def _read_index(self) -> dict[str, _Indexed]:
        source = self._manifest_source()
        manifest = self._read_json("references/manifest.json")
        old = legacy.manifest_items(manifest)
        if old is not None:  # 2018: {"EC2Manager": "https://references.taskcluster.net/..."}
            return self._read_old_index(old, source)
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
                    self.problems[f"manifest.references[{i}]"] = exc
                    continue
                kind = reference_kind(raw)
                service = legacy.service_name(raw) if isinstance(raw, dict) else None
                if kind and isinstance(service, str):
                    index[class_name(service, kind)] = _Indexed(rel, None)
        return index

    def _read_old_index(self, items: list[tuple[str, str]], source: str
                        ) -> dict[str, _Indexed]:
        """The 2018 manifest: its keys are the class names (``EC2Manager``, ``Login``)."""
        index: dict[str, _Indexed] = {}
        for name, url in items:
            rel = _manifest_rel(legacy.reference_path(url), self.root_url, source, name)
            m = _CONVENTIONAL.match(rel)
            index[name] = _Indexed(rel, m.group(3) if m and m.group(3) in (
                "api", "exchanges") else None)
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

    def _read_json(self, rel: str) -> Any:
        """A parsed file of the source; ``ReferenceLoadError`` when it lacks or garbles it."""
        where = str(self.references_dir / rel.removeprefix("references/")) \
            if rel.startswith("references/") else rel
        data = self.source.read(rel)
        if data is None:
            raise ReferenceLoadError(where, "file not found")
        return _parse(data, where)

    def _read_reference(self, rel: str) -> Any:
        return self._read_json(rel)

    def model(self, name: str) -> ServiceModel | ExchangesModel:
        """The checked model of one reference (parsed on first use, then kept)."""
        model = self._models.get(name)
        if model is not None:
            return model
        if name in self.problems:
            raise self.problems[name]
        if name not in self._index:
            raise ServiceNotFound(name, self.describe(), self.names())
        entry = self._index[name]
        source = self.source_of(name)
        try:
            raw = self._read_reference(entry.rel)
            model = build_model(raw, source)
            if entry.kind and model.kind != entry.kind:
                raise ReferenceLoadError(source, f"the file name says {entry.kind!r} but "
                                         f"its $schema says {model.kind!r}", field="$schema")
            unsafe = schema_names(model.raw, source)[1]
            if unsafe:  # a schema name that would lead outside the mirror
                raise unsafe[0]
        except ReferenceLoadError as exc:
            self.problems[name] = exc
            raise
        for left_out in model.refused:  # entries left out; the rest of the class is built
            self.problems[f"{name}.{left_out.field}"] = left_out
            log.warning("%s", left_out)
        self._models[name] = model
        return model

    def api_model(self, name: str) -> ServiceModel:
        """``model(name)``, which must be an API reference (not an exchanges one)."""
        return _of_kind(self.model(name), ServiceModel)

    def exchanges_model(self, name: str) -> ExchangesModel:
        """``model(name)``, which must be an exchanges reference (not an API one)."""
        return _of_kind(self.model(name), ExchangesModel)

    # -- schemas ----------------------------------------------------------------------

    def schema(self, path: str) -> Any | None:
        """A schema document by abstract path (``/schemas/queue/v1/task.json``), or None
        when this set has no schemas (a bare references folder) or the deployment lacks it."""
        rel = path.split("#", 1)[0].lstrip("/")
        if not rel.startswith("schemas/") or self.schemas_dir is None:
            return None
        rel = _safe_rel(rel, path)
        where = str(self.schemas_dir / rel.removeprefix("schemas/"))
        try:
            data = self.source.read(rel)
        except ReferenceLoadError as exc:
            if not isinstance(self.source, RemoteSource):
                raise
            log.warning("schema %s is not available: %s", path, exc)
            return None
        return None if data is None else _parse(data, where)

    @property
    def has_schemas(self) -> bool:
        return self.schemas_dir is not None and (
            isinstance(self.source, RemoteSource) or self.schemas_dir.is_dir())

    def describe(self) -> str:
        where = {"bundled": "bundled references",
                 "directory": f"references from {self.references_dir.parent}",
                 "cache": f"cached references of {self.root_url}",
                 "fetched": f"references fetched from {self.root_url}"}
        return where.get(self.origin, self.origin)

    def __repr__(self) -> str:
        return f"<ReferenceSet {self.describe()}: {len(self._index)} services>"


_M = TypeVar("_M", ServiceModel, ExchangesModel)


def _of_kind(model: ServiceModel | ExchangesModel, kind: type[_M]) -> _M:
    if not isinstance(model, kind):
        raise ReferenceLoadError(model.source, f"an {model.kind} reference, where an "
                                 f"{kind.kind} reference is needed")
    return model


def _version(rel: str) -> int:
    m = _CONVENTIONAL.match(rel)
    return int(m.group(2)[1:]) if m else 0


def _parse(data: bytes, source: str) -> Any:
    from .tree import parse_json

    return parse_json(data, source)


def _store(entry: Path, files: dict[str, bytes], root_url: str, usable: bool,
           cached: Path | None) -> Path:
    """Put freshly fetched ``files`` in the cache (or, when the cache cannot be used, in a
    private temporary mirror) and return the mirror."""
    import shutil
    import tempfile

    from . import cache
    from .tree import content_digest, write_tree

    digest = content_digest(files)  # once: compared with the cached mirror's, then recorded
    if usable:
        try:
            if cached is not None and cached.parent == entry and \
                    _read_json_file(cached / MIRROR_FILE).get("sha256") == digest:
                os.utime(cached / MIRROR_FILE)  # unchanged: fresh again, no new folder
                return cached
            return cache.store(entry, files, root_url, digest)
        except (OSError, ReferenceLoadError, AttributeError) as exc:
            log.warning("cannot write the reference cache %s (%s); using a private copy",
                        entry, exc)
    private = Path(tempfile.mkdtemp(prefix="tcdyn-references-"))
    try:
        write_tree(private, files, root_url, digest)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    return private
