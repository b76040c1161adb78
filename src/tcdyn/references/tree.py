"""Mirror directories, written safely.

A mirror holds ``references/manifest.json``, ``references/<service>/<version>/*.json``,
``schemas/<service>/...`` and ``MIRROR.json`` (where and when it was fetched). Every file name
comes from the deployment (manifest items, ``references.json`` file names, ``$schema``, entry
``input``/``output``, exchange ``schema``, ``serviceName``, ``$ref``), so each is checked to be
a plain relative path (``safe_rel``) and the file it names is proven to lie inside the
directory being written (``inside``) before a byte is written.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ReferenceLoadError
from .fetch import read_file

if TYPE_CHECKING:

    pass


MIRROR_FILE = "MIRROR.json"
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.~@+=-]{0,254}$")


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
