"""``tcdyn references pull``: mirror a deployment into a directory, replacing an earlier
mirror only once every file has been fetched, and never a directory that is not a mirror."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .. import checks
from ..errors import ReferenceLoadError
from .fetch import DEFAULT_LOAD_TIMEOUT, Limits

if TYPE_CHECKING:

    import httpx

from .remote import download
from .tree import MIRROR_FILE, make_dir, write_tree

_COMPONENTS = ("references", "schemas", MIRROR_FILE)  # MIRROR.json last: the mirror is whole


def pull(root_url: str, target: str | os.PathLike[str], *, client: httpx.Client | None = None,
         schemas: bool = True, timeout: float | None = DEFAULT_LOAD_TIMEOUT,
         limits: Limits | None = None) -> dict[str, list[str]]:
    """Mirror a deployment's manifest, references and schemas into ``target``.

    ``target`` is created, or must be empty or an earlier mirror (holding ``MIRROR.json``):
    any other directory is refused, never overwritten. Nothing is replaced before every file
    has been fetched. Returns what changed: ``{"added": [...], "removed": [...],
    "changed": [...]}`` (mirror-relative paths).
    """
    import shutil

    root_url = checks.root_url(root_url)
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
