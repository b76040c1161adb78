"""Where references are on this machine: the bundled set, the cache folder, and the rule for
trusting what is read from it.

Apart from ``index`` and ``cache`` (which import them from here) so that the shell's
completion (``tcdyn.cli.api_index``) finds its cached index without loading them: the
``*_folder`` forms are plain strings, for a caller that does without ``pathlib``.
"""

from __future__ import annotations

import os
import stat

from ..errors import ReferenceLoadError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see tcdyn/__init__)
if TYPE_CHECKING:
    from pathlib import Path


def bundled_folder() -> str:
    """The reference set shipped with tcdyn, a mirror with references and schemas
    (``tcdyn/_references`` in a wheel, or the checkout's top-level ``references/``)."""
    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # the tcdyn package
    for candidate in (os.path.join(here, "_references"),
                      os.path.join(os.path.dirname(os.path.dirname(here)), "references")):
        if os.path.isfile(os.path.join(candidate, "references", "manifest.json")):
            return candidate
    raise ReferenceLoadError(os.path.join(here, "_references"), "bundled references are missing")


def bundled_dir() -> Path:
    """``bundled_folder()`` as a ``Path``."""
    from pathlib import Path

    return Path(bundled_folder())


def cache_folder() -> str:
    """``$TCDYN_CACHE_DIR``, else ``$XDG_CACHE_HOME/tcdyn``, else ``~/.cache/tcdyn``."""
    from .. import environment

    given = environment.value(environment.CACHE_DIR)
    if given:
        return given
    base = environment.value(environment.XDG_CACHE_HOME) or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tcdyn")


def cache_dir() -> Path:
    """``cache_folder()`` as a ``Path``."""
    from pathlib import Path

    return Path(cache_folder())


def untrusted_info(info: os.stat_result) -> str | None:
    """Why a cache file or folder with this ``lstat``/``fstat`` must not be trusted (None:
    it may): a symbolic link, owned by another user, or writable by group or others."""
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"it is owned by uid {info.st_uid}, not by the current user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "it is writable by group or others"
    return None


def untrusted(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` must not be trusted as a cache entry (None: it may, or it is absent)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return untrusted_info(info)
