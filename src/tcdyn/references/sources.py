"""Where a deployment's reference and schema files come from.

Every source answers one question, ``read(rel) -> bytes | None``: the bytes of a mirror path
(``references/queue/v1/api.json``, ``schemas/queue/v1/task.json``), or None when the source
does not have that file. A file that exists but cannot be read (too large, not a regular file,
a failed download) raises ``ReferenceLoadError``. Indexing and parsing are
``index``'s job; fetching and writing mirrors that of ``fetch``, ``remote`` and ``tree``.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..logger import logger
from .fetch import Budget, Limits, get, read_file
from .tree import MIRROR_FILE, safe_rel, write_file

if TYPE_CHECKING:
    import httpx

log = logger("tcdyn.references")


class Source(Protocol):
    """Files by mirror path."""

    def read(self, rel: str) -> bytes | None:
        """The bytes of ``rel``, None when the source has no such file."""
        ...


class DirectorySource:
    """A mirror's ``references/`` and ``schemas/`` folders (``schemas_dir`` None: a bare
    references folder, which has no schemas)."""

    def __init__(self, references_dir: Path, schemas_dir: Path | None = None) -> None:
        self.references_dir = references_dir
        self.schemas_dir = schemas_dir

    def path(self, rel: str) -> Path | None:
        """Where ``rel`` lies on disk (None: this source keeps no such folder)."""
        top, _, rest = rel.partition("/")
        folder = self.references_dir if top == "references" else \
            self.schemas_dir if top == "schemas" else None
        return None if folder is None else folder / rest

    def read(self, rel: str) -> bytes | None:
        path = self.path(rel)
        if path is None or not (path.exists() or path.is_symlink()):
            return None
        return read_file(path)


class RemoteSource:
    """A deployment's mirror (in the disk cache or a private copy); a file it lacks is fetched
    from ``<rootUrl>/<rel>`` on demand, within the timeout and file cap, and kept in the
    mirror while it still exists. One HTTP client serves every such fetch; it is closed
    with the source."""

    def __init__(self, root_url: str, mirror: Path, timeout: float | None) -> None:
        self.root_url = root_url
        self.mirror = mirror
        self.timeout = timeout
        self.local = DirectorySource(mirror / "references", mirror / "schemas")
        self._client: list[httpx.Client] = []  # the shared httpx.Client, once a fetch needs one
        self._lock = threading.Lock()
        weakref.finalize(self, _close, self._client)

    def read(self, rel: str) -> bytes | None:
        path = self.local.path(rel)
        if path is not None and path.is_file():
            return read_file(path)
        return self.fetch(rel)

    def fetch(self, rel: str) -> bytes:
        """The bytes of ``rel`` from the deployment (``ReferenceLoadError`` when it cannot
        be fetched)."""
        rel = safe_rel(rel, self.root_url)
        budget = Budget(timeout=self.timeout, limits=Limits.from_env())
        data = get(self.client(), f"{self.root_url}/{rel}", budget)
        if (self.mirror / MIRROR_FILE).is_file():
            try:
                write_file(self.mirror, rel, data)
            except OSError as exc:
                log.debug("could not keep %s in %s: %s", rel, self.mirror, exc)
        return data

    def client(self) -> httpx.Client:
        """The one HTTP client of this source's fetches, made on first use."""
        with self._lock:
            if not self._client:
                from .fetch import client

                self._client.append(client())
            return self._client[0]

    def close(self) -> None:
        """Close the HTTP client (a later fetch opens a new one)."""
        with self._lock:
            _close(self._client)


def _close(holder: list[Any]) -> None:
    while holder:
        holder.pop().close()
