"""A deployment's references: where they come from and how they are indexed.

``index`` (``ReferenceSet``: the index over one source, provenance, problems), ``sources``
(files by mirror path: a directory, or a cached mirror that fetches what it lacks),
``fetch`` (bounded GETs and file reads: size caps, one deadline), ``remote`` (downloading a
deployment's whole set), ``names`` (the schema files a reference names), ``tree`` (safe
mirror paths and the tree writer), ``pull`` (``tcdyn references pull``) and ``cache`` (the
on-disk cache shared by processes), ``places`` (where the bundled set and the cache are, and
the trust rule of the cache), and ``drift`` (``diff``: what one set adds, removes and
changes against another).

``tcdyn.references.ReferenceSet``, ``bundled_dir``, ``cache_dir``, ``cache_path``, ``pull``,
``diff`` and ``DEFAULT_MAX_AGE`` are the public names, imported on first access (importing a module
of this package loads only that module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .drift import diff as diff
    from .index import DEFAULT_MAX_AGE as DEFAULT_MAX_AGE
    from .index import ReferenceSet as ReferenceSet
    from .index import cache_path as cache_path
    from .places import bundled_dir as bundled_dir
    from .places import cache_dir as cache_dir
    from .pull import pull as pull

__all__ = ["DEFAULT_MAX_AGE", "ReferenceSet", "bundled_dir", "cache_dir", "cache_path", "diff",
           "pull"]
_FROM = {"pull": "pull", "diff": "drift", "bundled_dir": "places", "cache_dir": "places"}

if not TYPE_CHECKING:
    def __getattr__(name: str) -> Any:
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(f".{_FROM.get(name, 'index')}", __name__), name)
        globals()[name] = value
        return value
