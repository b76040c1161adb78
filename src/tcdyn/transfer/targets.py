"""Where a transfer's bytes come from and go: readers over buffers and files for uploads,
in-memory and file targets for downloads (a path written atomically, with its mode)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import TaskclusterArgumentError
from . import leftovers


class BufReader:
    """A reader over a buffer that never copies it: ``read`` gives read-only views of a
    ``bytes`` (which cannot change while they are sent and hashed), copies of slices of any
    other buffer."""

    __slots__ = ("pos", "view", "views")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.view = memoryview(data).cast("B")
        self.views = isinstance(data if not isinstance(data, memoryview) else data.obj, bytes)
        self.pos = 0

    def read(self, max_size: int = -1) -> bytes | memoryview:
        end = len(self.view) if max_size is None or max_size < 0 else self.pos + max_size
        chunk = self.view[self.pos:end]
        self.pos += len(chunk)
        return chunk if self.views else bytes(chunk)


def check_buffer(data: Any) -> Any:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TaskclusterArgumentError(f"uploadFromBuf() argument 'data' must be bytes, got "
                                       f"{type(data).__name__}")
    return data


def file_reader_factory(func: str, file: Any) -> Callable[[], Any]:
    """A ``readerFactory`` reading a seekable binary file object from its start (each retry
    of an upload reads it again)."""
    if not callable(getattr(file, "read", None)) or not callable(getattr(file, "seek", None)):
        raise TaskclusterArgumentError(f"{func}() argument 'file' must be a binary file "
                                       f"object open for reading, got {type(file).__name__}")

    def readerFactory() -> Any:
        file.seek(0)
        return file

    return readerFactory


class Buf:
    """The writer factory of a download into memory, and its result."""

    def __init__(self) -> None:
        self.buf: io.BytesIO | None = None

    def factory(self) -> io.BytesIO:
        self.buf = io.BytesIO()
        return self.buf

    def value(self) -> bytes:
        return self.buf.getvalue() if self.buf is not None else b""


class Target:
    """Where a download to a file goes, and how to undo it.

    A path: a temporary file beside it (``.<name>.<random>.part``), renamed over the path
    only by ``commit`` (after the hashes were verified), removed by ``discard`` (or by
    ``leftovers.end`` when the process ends before either). It is made
    with the mode the path will have: an existing file's permission bits (so content meant
    to be private is never readable by others, even while written), else what the umask
    leaves of 0666, as ``open()`` makes a new file. A file object: written from its start;
    ``discard`` truncates it back to empty.
    """

    def __init__(self, func: str, file: Any) -> None:
        self.path: Path | None = None
        self.tmp: Path | None = None
        self.file: Any = None
        if isinstance(file, (str, os.PathLike)):
            self.path = Path(file)
            if self.path.is_dir():
                raise TaskclusterArgumentError(f"{func}() target {str(file)!r} is a directory")
            if not self.path.parent.is_dir():
                raise TaskclusterArgumentError(f"{func}() target directory "
                                               f"{str(self.path.parent)!r} does not exist")
        elif all(callable(getattr(file, m, None)) for m in ("write", "seek", "truncate")):
            self.file = file
        else:
            raise TaskclusterArgumentError(
                f"{func}() argument 'file' must be a path or a binary file object open for "
                f"writing (seekable, truncatable), got {type(file).__name__}")

    def writer(self) -> Any:
        """A fresh, empty writer (called for every attempt)."""
        if self.file is None:
            self.file = self._create()
        self.file.seek(0)
        self.file.truncate()
        return self.file

    def _create(self) -> Any:
        import secrets
        import stat

        assert self.path is not None
        try:
            mode: int | None = stat.S_IMODE(self.path.stat().st_mode) & 0o777
        except OSError:
            mode = None  # a new file: 0666 less the umask
        while True:
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.part")
            leftovers.add_file(tmp)  # before it exists: removed if the process ends now
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o666 if mode is None else mode)
                break
            except FileExistsError:
                leftovers.forget_file(tmp)  # someone else's
                continue
            except BaseException:
                leftovers.forget_file(tmp)
                raise
        self.tmp = tmp
        if mode is not None:
            os.fchmod(fd, mode)  # the umask does not apply to an existing file's mode
        return os.fdopen(fd, "wb")

    def commit(self) -> None:
        if self.path is None:
            return
        # no attempt wrote anything (not expected): an empty file
        file = self.writer() if self.file is None else self.file
        file.flush()
        os.fsync(file.fileno())
        file.close()
        assert self.tmp is not None
        os.replace(self.tmp, self.path)
        leftovers.forget_file(self.tmp)
        self.tmp = None

    def discard(self) -> None:
        import contextlib

        with contextlib.suppress(OSError, ValueError):
            if self.path is None:
                if self.file is not None:
                    self.file.seek(0)
                    self.file.truncate()
                return
            if self.file is not None:
                self.file.close()
            if self.tmp is not None:
                self.tmp.unlink()
                leftovers.forget_file(self.tmp)
                self.tmp = None
