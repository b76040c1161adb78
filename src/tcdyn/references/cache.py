"""The on-disk cache of fetched references, shared safely by concurrent processes.

Each rootUrl has an entry directory (``index.cache_path(rootUrl)``) holding whole mirrors
in versioned folders (``v-<time>-<random>``) and a ``current`` file naming the one to read. A
refresh writes a new folder completely, then replaces ``current`` with ``os.replace``: readers
and writers in any number of processes only ever see a whole mirror, and nothing is locked.
A folder that is no longer current is removed once ``current`` has not changed for a minute
(readers open theirs within milliseconds; a long-lived process re-fetches a file that has gone);
an entry of another rootUrl not refreshed for 30 days is removed.

An entry (or its ``current`` file or folder) that is a symbolic link, is not owned by the
current user, or is writable by group or others is not trusted: it is ignored with a warning.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from ..logger import logger
from .places import untrusted
from .tree import MIRROR_FILE, make_dir, token, write_tree

log = logger("tcdyn.references")

POINTER = "current"
#: Seconds ``current`` must have been unchanged before superseded folders are removed.
GRACE = 60.0
#: Seconds after which another rootUrl's entry that was not refreshed is removed.
PRUNE_AFTER = 30 * 24 * 3600.0
_ENTRY = re.compile(r"^[A-Za-z0-9._-]{0,60}-[0-9a-f]{12}$")
_VERSION = re.compile(r"^v-[0-9]{1,20}-[0-9a-f]{8}$")
_LEFTOVER = 3600.0  # a staging folder this old belongs to a process that died


def trusted(entry: Path) -> bool:
    """Whether ``entry`` (absent counts as trusted) may be used; warns when it may not."""
    for path in (entry, entry / POINTER):
        why = untrusted(path)
        if why:
            log.warning("ignoring the cached references in %s: %s", entry, why)
            return False
    return True


def current(entry: Path) -> Path | None:
    """The whole mirror ``entry`` points to, or None. Call ``trusted(entry)`` first."""
    try:
        with open(entry / POINTER, "rb") as f:
            name = f.read(64).decode("ascii", "replace").strip()
    except (FileNotFoundError, NotADirectoryError):
        # a cache written by tcdyn before versioned folders: usable until replaced
        return entry if (entry / MIRROR_FILE).is_file() else None
    if not _VERSION.match(name):
        return None
    version = entry / name
    why = untrusted(version)
    if why:
        log.warning("ignoring the cached references in %s: %s", version, why)
        return None
    return version if (version / MIRROR_FILE).is_file() else None


def store(entry: Path, files: dict[str, bytes], root_url: str,
          digest: str | None = None) -> Path:
    """Write ``files`` as a new whole mirror in ``entry`` and make it current (``digest``:
    their ``tree.content_digest``, when known)."""
    entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        entry.mkdir(mode=0o755)
    staging = make_dir(entry, ".tmp-")
    try:
        write_tree(staging, files, root_url, digest)
        version = entry / f"v-{time.time_ns()}-{token(4)}"
        os.rename(staging, version)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    point(entry, version)
    return version


def point(entry: Path, version: Path) -> None:
    """Make ``version`` the current mirror of ``entry`` (atomically)."""
    tmp = entry / f".tmp-{token(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(version.name + "\n")
    os.replace(tmp, entry / POINTER)


def prune(entry: Path) -> None:
    """Remove superseded mirrors of ``entry``, dead staging folders, and other rootUrls'
    entries not refreshed for ``PRUNE_AFTER``. Best effort: errors are ignored."""
    now = time.time()
    try:
        pointer = (entry / POINTER).stat().st_mtime
        keep = (entry / POINTER).read_text().strip()
        for child in entry.iterdir():
            name = child.name
            superseded = _VERSION.match(name) and name != keep and now - pointer > GRACE
            dead = name.startswith(".") and now - child.lstat().st_mtime > _LEFTOVER
            former = name in ("references", "schemas", MIRROR_FILE)  # before versioned folders
            if superseded or dead or former:
                _remove(child)
    except OSError as exc:
        log.debug("pruning %s: %s", entry, exc)
    try:
        for other in entry.parent.iterdir():
            if other == entry or not _ENTRY.match(other.name) or untrusted(other):
                continue
            mark = next((m for m in (other / POINTER, other / MIRROR_FILE) if m.is_file()),
                        None)  # only tcdyn's own entries
            if mark is not None and now - mark.stat().st_mtime > PRUNE_AFTER:
                _remove(other)
    except OSError as exc:
        log.debug("pruning %s: %s", entry.parent, exc)


def _remove(path: Path) -> None:
    """Rename aside (atomic, so no reader sees it half-deleted), then delete."""
    trash = path.with_name(f".trash-{token(6)}")
    try:
        os.rename(path, trash)
    except OSError:
        return  # another process got there first
    if trash.is_dir() and not trash.is_symlink():
        import shutil

        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink(missing_ok=True)
