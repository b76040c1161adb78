"""``tcdyn.aio.reader_writer``: the official ``taskcluster.aio.reader_writer``, readers and
writers for the transfer functions' ``readerFactory`` and ``writerFactory``.

A reader has ``read(max_size)`` giving up to ``max_size`` bytes (``b""`` at the end), a writer
``write(chunk)``; here both are async, as the official ones (tcdyn's transfer functions, sync
and async, take sync or async ones). ``streamingCopy(reader, writer)`` copies one to the other,
reading the next chunk while the last one is written.
"""

from __future__ import annotations

import asyncio
import io
from typing import IO, Any

__all__ = ["BufferReader", "BufferWriter", "FileReader", "FileWriter", "streamingCopy"]

#: Bytes asked of a reader at a time by ``streamingCopy``.
CHUNK_SIZE = 64 * 1024


class BufferWriter:
    """A writer into an in-memory buffer (``getbuffer()`` gives what was written)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()

    async def write(self, chunk: bytes) -> None:
        self.buf.write(chunk)

    def getbuffer(self) -> memoryview:
        return self.buf.getbuffer()


class BufferReader:
    """A reader of bytes in memory."""

    def __init__(self, data: bytes) -> None:
        self.buf = io.BytesIO(data)

    async def read(self, max_size: int) -> bytes:
        return self.buf.read(max_size)


class FileWriter:
    """A writer into a (sync) file opened in binary mode, empty."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file

    async def write(self, chunk: bytes) -> None:
        self.file.write(chunk)


class FileReader:
    """A reader of a (sync) file opened in binary mode, at its beginning."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file

    async def read(self, max_size: int) -> bytes:
        return self.file.read(max_size)


async def streamingCopy(reader: Any, writer: Any) -> None:
    """Copy what ``reader`` gives to ``writer`` (both async) until the reader's end, one
    chunk read ahead; a failure of either ends the copy with that exception."""
    chunks: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)

    async def read_loop() -> None:
        while True:
            chunk = await reader.read(CHUNK_SIZE)
            await chunks.put(chunk)
            if not chunk:
                return

    async def write_loop() -> None:
        while chunk := await chunks.get():
            await writer.write(chunk)

    read_task = asyncio.ensure_future(read_loop())
    write_task = asyncio.ensure_future(write_loop())
    try:
        await asyncio.gather(read_task, write_task)
    finally:
        read_task.cancel()
        write_task.cancel()
