"""A multipart/form-data body read part by part as it arrives, never held whole in memory.

Starlette's `request.form()` spools each file to a temporary file before the handler sees it; an
upload route here instead streams a file part straight to its destination, with python-multipart's
push parser underneath. Text fields are read whole, up to a small limit.

    >>> reader = MultipartReader(request.stream(), boundary_of(request.headers.get("content-type")))
    >>> while (part := await reader.next_part()) is not None:
    ...     if part.filename is None:
    ...         value = await reader.read_text(64 * 1024)
    ...     else:
    ...         await destination.put(reader.read())          # the part's bytes, chunk by chunk
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from llmrelay.errors import InvalidRequestError

_HEADERS, _DATA, _END, _DONE = range(4)


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    filename: str | None
    """None for a text field; a file part's name as the client gave it (possibly empty)."""
    content_type: str | None


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data Content-Type; 400 for any other body."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidRequestError("The request body must be multipart/form-data (with a boundary).")
    return boundary


class MultipartReader:
    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._events: deque[tuple[int, object]] = deque()
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[str, str] = {}
        self._ended = False  # the closing boundary was parsed
        self._exhausted = False  # the body has no more bytes
        try:
            self._parser = MultipartParser(
                boundary,
                {
                    "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
                    "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
                    "on_header_end": self._header_end,
                    "on_headers_finished": self._headers_finished,
                    "on_part_data": lambda data, start, end: self._events.append((_DATA, bytes(data[start:end]))),
                    "on_part_end": lambda: self._events.append((_END, None)),
                    "on_end": lambda: self._events.append((_DONE, None)),
                },
            )
        except ValueError:  # FormParserError: a boundary longer than the RFC allows
            raise InvalidRequestError("The multipart boundary is not valid.") from None

    def _header_end(self) -> None:
        name = self._field.decode("latin-1").strip().lower()
        self._headers[name] = self._value.decode("latin-1").strip()
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        self._events.append((_HEADERS, self._headers))
        self._headers = {}

    async def _next(self) -> tuple[int, object] | None:
        while not self._events:
            if self._exhausted:
                if not self._ended:
                    raise InvalidRequestError("The multipart body ended before its closing boundary.")
                return None
            chunk = await anext(self._body, None)
            if chunk is None:
                self._exhausted = True
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError:
                raise InvalidRequestError("The multipart body is malformed.") from None
        event = self._events.popleft()
        if event[0] == _DONE:
            self._ended = True
        return event

    async def next_part(self) -> Part | None:
        """The next part's headers (skipping what is left of the current part), or None at the end."""
        while (event := await self._next()) is not None:
            kind, value = event
            if kind == _HEADERS:
                assert isinstance(value, dict)
                return _part(value)
        return None

    async def read(self) -> AsyncIterator[bytes]:
        """The current part's bytes, chunk by chunk as they arrive."""
        while (event := await self._next()) is not None:
            kind, value = event
            if kind == _DATA:
                assert isinstance(value, bytes)
                if value:
                    yield value
            elif kind in (_END, _DONE):
                return

    async def read_text(self, limit: int, name: str) -> str:
        """The current part as UTF-8 text; 400 naming the field when it passes `limit` bytes or is not text."""
        buffer = bytearray()
        async for chunk in self.read():
            buffer += chunk
            if len(buffer) > limit:
                raise InvalidRequestError(f"The field '{name}' is longer than {limit} bytes.", param=name)
        try:
            return buffer.decode()
        except UnicodeDecodeError:
            raise InvalidRequestError(f"The field '{name}' is not UTF-8 text.", param=name) from None


def _part(headers: dict[str, str]) -> Part:
    disposition, options = parse_options_header(headers.get("content-disposition"))
    if disposition != b"form-data" or b"name" not in options:
        raise InvalidRequestError("Each multipart part needs 'Content-Disposition: form-data; name=...'.")
    filename = options.get(b"filename")
    return Part(
        name=_text(options[b"name"]),
        filename=None if filename is None else _text(filename),
        content_type=headers.get("content-type") or None,
    )


def _text(raw: bytes) -> str:
    """A header parameter: clients send UTF-8 (httpx, browsers); anything else is kept as Latin-1."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")
