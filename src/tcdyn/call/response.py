"""What an HTTP response becomes, without I/O: a bounded, decoded body, then a value or a
typed error, decided by status and content type.

``BodyReader`` inflates gzip/deflate itself, chunk by chunk with a ceiling on the output, so
a compressed bomb stops at the size limit instead of filling memory. ``value`` maps a
successful answer to what an API method returns; ``error_for`` (in ``retry``) maps the rest.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import urljoin

from ..errors import InvalidResponse, ResponseTooLarge, TaskclusterRestFailure
from .options import DEFAULT_MAX_RESPONSE_SIZE as DEFAULT_MAX_RESPONSE_SIZE  # re-exported

#: How much of a server's error message goes into the exception text.
MESSAGE_LIMIT = 2000
#: What tcdyn asks servers for: the encodings ``BodyReader`` inflates.
ACCEPT_ENCODING = "gzip, deflate"
#: How much of a body past the limit is kept (for the error's ``.raw_body``).
KEPT_WHEN_TOO_LARGE = 1024 * 1024
_STEP = 1024 * 1024  # inflate at most this much per zlib call


#: What a call returns: a JSON value (``None`` for an empty answer), a ``Redirect`` (a dict)
#: or a ``RawBody`` (bytes).
Result: TypeAlias = "dict[str, Any] | list[Any] | str | int | float | bool | bytes | None"


class Redirect(dict[str, Any]):
    """A 3xx answer (artifact methods answer 303), not followed. As a dict it holds the JSON
    object body when there is one (as the official client returns it), else
    ``{"location": ...}``; ``location`` (absolute), ``status_code`` and ``headers`` are
    attributes."""

    def __init__(self, items: Mapping[str, Any], *, location: str | None, status_code: int,
                 headers: Mapping[str, str]) -> None:
        super().__init__(items)
        self.location = location
        self.status_code = status_code
        self.headers = headers


class RawBody(bytes):
    """A 2xx body whose content type is neither JSON nor HTML, as its exact bytes;
    ``content_type``, ``status_code`` and ``headers`` are attributes."""

    content_type: str | None
    status_code: int
    headers: Mapping[str, str]


@dataclass(slots=True)
class Received:
    """What the transport read: the decoded body, at most the size limit."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str
    #: The body passed the size limit; ``content`` holds its first part.
    too_large: bool = False
    #: Why the content encoding could not be decoded (``content`` is then what was decoded).
    undecodable: str | None = None
    #: The size limit the body was read with.
    limit: int = DEFAULT_MAX_RESPONSE_SIZE


class BodyReader:
    """Collects a body fed as raw chunks, inflating gzip or deflate (stacked as the
    ``Content-Encoding`` lists them), up to ``limit`` bytes.

    ``feed`` keeps what it decodes and returns False once reading further is pointless
    (over the limit, or corrupt). ``pieces`` is the same decoding for a body streamed
    elsewhere (a download): it keeps nothing. Either way a zlib call makes at most 1 MiB, so
    a compressed bomb costs a few MiB whatever it inflates to.
    """

    __slots__ = ("_chunks", "_decoders", "_size", "limit", "too_large", "undecodable")

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self.too_large = False
        self.undecodable: str | None = None
        self._decoders: list[Any] = []
        if content_encoding:
            for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
                if coding in ("gzip", "x-gzip"):
                    self._decoders.append(zlib.decompressobj(zlib.MAX_WBITS | 16))
                elif coding == "deflate":
                    self._decoders.append(_Deflate())
                elif coding not in ("identity", ""):
                    self.undecodable = f"unsupported content encoding {coding!r}"

    @property
    def size(self) -> int:
        """How many decoded bytes were counted (at most ``limit``)."""
        return min(self._size, self.limit)

    def feed(self, raw: bytes) -> bool:
        if self.undecodable or self.too_large:
            return False
        if not self._decoders:
            self._chunks.append(self._counted(raw))
            return not self.too_large
        self._chunks.extend(self.pieces(raw))
        return not (self.too_large or self.undecodable)

    def pieces(self, raw: bytes) -> Iterator[bytes]:
        """``raw`` decoded, in pieces of at most 1 MiB, counted against ``limit``: the piece
        that passes it is cut there and is the last (``too_large``); a corrupt body ends
        too (``undecodable``)."""
        if self.undecodable or self.too_large:
            return
        if not self._decoders:
            piece = self._counted(raw)
            if piece:
                yield piece
            return
        try:
            yield from self._inflated(raw, 0)
        except zlib.error as exc:
            self.undecodable = f"corrupt compressed body: {exc}"

    def _inflated(self, data: bytes, level: int) -> Iterator[bytes]:
        decoder = self._decoders[level]
        last = level == len(self._decoders) - 1
        while not self.too_large:
            step = max(1, min(self.limit - self._size + 1, _STEP)) if last else _STEP
            out = decoder.decompress(data, step)
            data = decoder.unconsumed_tail
            if out:
                if last:
                    piece = self._counted(out)
                    if piece:
                        yield piece
                else:
                    yield from self._inflated(out, level + 1)
            if not data and len(out) < step:  # input used up, no output held back
                break

    def _counted(self, data: bytes) -> bytes:
        """``data`` counted; cut where it passes the limit (then ``too_large``)."""
        self._size += len(data)
        if self._size > self.limit:
            self.too_large = True
            return data[:len(data) - (self._size - self.limit)]
        return data

    def content(self) -> bytes:
        """What was read; past the limit only its first ``KEPT_WHEN_TOO_LARGE`` bytes (no
        second copy of a huge body)."""
        chunks = self._chunks
        if self.too_large:
            kept, size = [], 0
            for chunk in chunks:
                kept.append(chunk[:KEPT_WHEN_TOO_LARGE - size])
                size += len(kept[-1])
                if size >= KEPT_WHEN_TOO_LARGE:
                    break
            return b"".join(kept)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or raw (as httpx also accepts)."""

    __slots__ = ("_obj", "_started")

    def __init__(self) -> None:
        self._obj = zlib.decompressobj()
        self._started = False

    @property
    def unconsumed_tail(self) -> bytes:
        return self._obj.unconsumed_tail

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if not self._started:
            self._started = True
            try:
                return self._obj.decompress(data, max_length)
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._obj.decompress(data, max_length)


# -- values -------------------------------------------------------------------------------

def media_type(headers: Mapping[str, str]) -> str | None:
    value = headers.get("content-type")
    return value.split(";", 1)[0].strip().lower() if value else None


def is_json(mime: str | None) -> bool:
    return mime is None or mime == "application/json" or mime.endswith("+json")


def parse_json(content: bytes) -> tuple[Any, str | None]:
    """(value, None), or (None, why it is not JSON); never raises."""
    try:
        return json.loads(content), None
    except RecursionError:
        return None, "JSON nested too deeply to parse"
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8: {exc.reason}"
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"


def value(service: str, name: str, method: str, received: Received, attempts: int
          ) -> Result:
    """A successful (< 400) answer's value; raises ``ResponseTooLarge``/``InvalidResponse``.

    204 or an empty body: ``None``. 3xx: a ``Redirect``. JSON (or no content type): the
    parsed value. HTML: ``InvalidResponse``. Any other type: ``RawBody``.
    """
    status, content, headers = received.status, received.content, received.headers

    def fail(cls: type[TaskclusterRestFailure], why: str) -> TaskclusterRestFailure:
        return cls(f"{why} (content type {headers.get('content-type') or 'none'})",
                   status_code=status, service=service, method_name=name, http_method=method,
                   url=received.url, attempts=attempts)

    if received.too_large:
        raise fail(ResponseTooLarge, f"response body larger than {received_limit(received)} "
                                     "(the client option max_response_size)")
    if 300 <= status < 400:
        location = headers.get("location")
        location = urljoin(received.url, location) if location else None
        body = parse_json(content)[0] if content and not received.undecodable else None
        return Redirect(body if isinstance(body, dict) else {"location": location},
                        location=location, status_code=status, headers=headers)
    if received.undecodable:
        raise fail(InvalidResponse, received.undecodable)
    if status == 204 or not content:
        return None
    mime = media_type(headers)
    if is_json(mime):
        result, problem = parse_json(content)
        if problem is None:
            parsed: Result = result
            return parsed
        raise fail(InvalidResponse, f"the response is not JSON: {problem}")
    if mime in ("text/html", "application/xhtml+xml"):
        raise fail(InvalidResponse, "the response is an HTML page, not JSON (a proxy or a "
                                    "captive portal answering instead of the service?)")
    raw = RawBody(content)
    raw.content_type, raw.status_code, raw.headers = mime, status, headers
    return raw


def received_limit(received: Received) -> str:
    return size_text(received.limit)


def size_text(size: int) -> str:
    """``size`` bytes as a person reads a limit: ``64 MiB``, ``1000 bytes``."""
    return f"{size / 1048576:g} MiB" if size >= 1048576 else f"{size} bytes"


def error_text(received: Received) -> tuple[Any, str | None, str | None]:
    """(parsed JSON body or None, raw text when not JSON, a note when incomplete) of an
    error answer."""
    note = None
    if received.undecodable:
        note = f"body not decodable: {received.undecodable}"
    elif received.too_large:
        note = f"body larger than {received_limit(received)}, cut"
    content = received.content
    if not content:
        return None, None, note
    body, problem = parse_json(content) if not received.too_large else (None, "truncated")
    if problem is None:
        return body, None, note
    return None, content.decode("utf-8", "replace"), note


def clip(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` cut to ``limit`` characters, saying how much was left out."""
    if len(message) <= limit:
        return message
    return (f"{message[:limit]}... [{len(message) - limit} more characters; the whole body "
            "is on the exception's .body / .raw_body]")
