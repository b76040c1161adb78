"""The index the shell's completion of ``tcdyn api`` answers from, cached on disk.

For each API service of the references in use (``$TASKCLUSTER_REFERENCES`` or the bundled
set, as ``tcdyn.Queue``): its name and title, and for each method its name, title, route
arguments, query arguments, whether it takes a payload and whether it pages: what the
method's parser needs (``api.method_arguments``), without building a class or reading a
schema. Made once from the references, it is kept in ``<cache>/completion/`` (the cache
folder of ``tcdyn.references.places``) and used while the references are unchanged: each
file under the references folder, its path, size, modification and change times and inode,
is the index's key, compared on every use (a walk of a few dozen ``stat`` calls).

The file is not trusted for being there: it is used only when it and its folder are this
user's and writable by nobody else (``places.untrusted_info``), not a link, at most
``MAX_BYTES``, JSON of the exact shape written, every name a plain word (letters, digits,
``-``, ``_``: the shell puts it on the command line) and every count bounded. Anything else
is ignored, rebuilt and replaced (written privately, then renamed into place); a folder
that cannot be trusted or written leaves the index in memory for this run only.
"""

from __future__ import annotations

import json
import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see tcdyn/__init__)
if TYPE_CHECKING:
    from typing import Any

#: The shape of the file; a file of another format (or tcdyn version) is rebuilt.
FORMAT = 1
#: The largest index read (the bundled references make about 60 KiB).
MAX_BYTES = 1 << 20
#: Reference files walked for the key: past these, nothing is cached (built each time).
MAX_KEY_FILES = 4096
MAX_KEY_DEPTH = 8
_MAX_SERVICES = 512
_MAX_METHODS = 2048
_MAX_WORDS = 64
_MAX_NAME = 128
_MAX_TITLE = 1024


class Method:
    """One method as its parser needs it (``api.MethodShape``)."""

    __slots__ = ("args", "input", "name", "paginated", "query", "title")

    def __init__(self, name: str, title: str, args: tuple[str, ...], query: tuple[str, ...],
                 input: bool, paginated: bool) -> None:
        self.name = name
        self.title = title
        self.args = args
        self.query = query
        self.input = input
        self.paginated = paginated


class Service:
    __slots__ = ("methods", "name", "title")

    def __init__(self, name: str, title: str, methods: list[Method]) -> None:
        self.name = name
        self.title = title
        self.methods = methods


def services() -> list[Service]:
    """The API services of the references in use, from the cached index when it is current,
    else read from the references (and the index written for the next time)."""
    from .. import __version__, environment
    from ..references.places import bundled_folder, cache_folder

    given = environment.value(environment.REFERENCES)
    source = os.path.abspath(os.path.expanduser(given) if given else bundled_folder())
    key = _key(source)
    folder = os.path.join(cache_folder(), "completion")
    path = os.path.join(folder, f"{_short(source)}.json")
    header = {"format": FORMAT, "tcdyn": __version__, "source": source, "key": key}
    if key is not None:
        cached = _read(folder, path, header)
        if cached is not None:
            return cached
    data = _from_references()
    if key is not None:
        _write(folder, path, {**header, "services": data})
    return _services(data)


def _key(source: str) -> list[list[Any]] | None:
    """Every file under the references folder with its ``stat`` (None past the bounds)."""
    top = os.path.join(source, "references")
    if not os.path.isfile(os.path.join(top, "manifest.json")):
        top = source  # a bare references folder
    found: list[list[Any]] = []

    def walk(folder: str, rel: str, depth: int) -> bool:
        if depth > MAX_KEY_DEPTH:
            return False
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return True  # unreadable: the references say so when they are read
        for entry in entries:
            name = f"{rel}{entry.name}"
            try:
                info = entry.stat()  # through links: what the reader will read
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if not walk(entry.path, f"{name}/", depth + 1):
                    return False
            else:
                found.append([name, info.st_size, info.st_mtime_ns, info.st_ctime_ns,
                              info.st_ino])
            if len(found) > MAX_KEY_FILES:
                return False
        return True

    return found if walk(top, "", 0) else None


def _short(text: str) -> str:
    """A file name for ``text`` (the file holds ``text`` itself, compared on reading)."""
    import zlib

    return f"{zlib.crc32(text.encode('utf-8', 'surrogateescape')):08x}"


def _from_references() -> list[dict[str, Any]]:
    """The index read from the references (the default deployment's models)."""
    from ..default import default
    from .api import api_services

    deployment = default()
    out = []
    for class_name in api_services(deployment):
        try:
            model = deployment.references.api_model(class_name)
        except Exception:
            continue  # a reference that cannot be used offers nothing to complete
        if not _word(model.serviceName):
            continue
        methods = [{"name": e.name, "title": e.title[:_MAX_TITLE], "args": list(e.args),
                    "query": list(e.query), "input": bool(e.input),
                    "paginated": bool(e.paginated)}
                   for e in model.entries.values()
                   if not e.name.startswith("_") and _word(e.name)
                   and all(_word(a) for a in (*e.args, *e.query))]
        out.append({"name": model.serviceName, "title": model.title[:_MAX_TITLE],
                    "methods": methods[:_MAX_METHODS]})
    return out[:_MAX_SERVICES]


def _word(value: object) -> bool:
    """A name the shell may put on the command line as it is."""
    return (isinstance(value, str) and 0 < len(value) <= _MAX_NAME and value.isascii()
            and value.replace("-", "a").replace("_", "a").isalnum())


def _read(folder: str, path: str, header: dict[str, Any]) -> list[Service] | None:
    """The cached index if it is trusted, well formed and for ``header``; else None."""
    from ..references.places import untrusted

    if untrusted(folder) is not None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    from ..references.places import untrusted_info

    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or untrusted_info(info) is not None \
                or info.st_size > MAX_BYTES:
            return None
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_BYTES:
        return None
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or set(value) != {*header, "services"} or any(
            value[k] != v for k, v in header.items()):
        return None
    try:
        return _services(value["services"])
    except (TypeError, ValueError):
        return None


def _services(data: object) -> list[Service]:
    """The services of ``data``, checked to the last field (``ValueError`` if anything
    differs from what ``_from_references`` writes)."""
    out = []
    for service in _items(data, _MAX_SERVICES, {"name", "title", "methods"}):
        methods = [Method(_name(m["name"]), _title(m["title"]), _names(m["args"]),
                          _names(m["query"]), _flag(m["input"]), _flag(m["paginated"]))
                   for m in _items(service["methods"], _MAX_METHODS,
                                   {"name", "title", "args", "query", "input", "paginated"})]
        out.append(Service(_name(service["name"]), _title(service["title"]), methods))
    return out


def _items(value: object, most: int, keys: set[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > most or not all(
            isinstance(item, dict) and set(item) == keys for item in value):
        raise ValueError("not an index")
    return value


def _name(value: object) -> str:
    if not _word(value):
        raise ValueError("not a name")
    return str(value)


def _names(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > _MAX_WORDS:
        raise ValueError("not a list of names")
    return tuple(_name(v) for v in value)


def _title(value: object) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TITLE:
        raise ValueError("not a title")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not a flag")
    return value


def _write(folder: str, path: str, value: dict[str, Any]) -> None:
    """Write the index privately and rename it into place; nothing when the folder cannot
    be made, trusted or written (the index then lives for this run only)."""
    from ..references.places import untrusted

    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return
    if untrusted(folder) is not None:
        return
    data = json.dumps(value, separators=(",", ":")).encode()
    if len(data) > MAX_BYTES:
        return
    temp = f"{path}.{os.urandom(6).hex()}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except OSError:
        with _quiet():
            os.unlink(temp)


def _quiet() -> Any:
    import contextlib

    return contextlib.suppress(OSError)
