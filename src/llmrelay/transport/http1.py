"""A lean HTTP/1.1 client for upstream calls: keep-alive connections per origin, parsed by httptools.

aiohttp's client took ~29% of the gateway's CPU per passthrough request (py-spy, 2026-11-22): per
call it builds a request object, multidicts of headers, a payload wrapper, a writer and a response
object, and runs the code of proxies, cookies, redirects and tracing, none of which an upstream
call uses. Here a call is one `write` of a head serialised in one go plus the body, and a parser
(llhttp through httptools, which uvicorn already uses) that hands the body over as it arrives.

What it does: `http` and `https` (the system's default TLS context, SNI, ALPN `http/1.1`); bodies
framed by Content-Length, chunked or by the end of the connection, and inflated if a server
compresses them with gzip or deflate although every request asks for `identity`; keep-alive reuse, with idle
connections closed after `keepalive` seconds; a connection whose server hung up while it sat idle
is retried once on a new one (nothing of the request was answered); reading paused while more than
`HIGH_WATER` bytes wait for the caller. Redirects are not followed (the caller decides); requests
have no `Expect: 100-continue`.

Failures are `ConnectFailed` (no connection: refused, unreachable, TLS), `Disconnected` (the server
closed before the response was complete), `BadResponse` (not HTTP), `ConnectTimeout` and
`ReadTimeout` (`read` seconds without a byte while one was awaited): transport/attempt.py maps them.

    >>> client = Http1Client({"User-Agent": "llmrelay/0.1"})
    >>> response = await client.request("POST", "http://127.0.0.1:8000/v1/chat/completions", headers, body,
    ...                                 connect=10.0, read=60.0)
    >>> response.status, await response.read(); response.release()
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import ssl
import time
import zlib
from collections.abc import Mapping
from typing import Protocol, cast
from urllib.parse import quote

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

_PATH_SAFE = "/:@!$&'()*+,;=?%~-._"
_UNSAFE_PATH = re.compile(r"[^A-Za-z0-9/:@!$&'()*+,;=?%~\-._]")
_BAD_NAME = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
HIGH_WATER = 256 * 1024
"""Body bytes waiting for the caller above which the socket is not read (a slow client's stream)."""
_LOW_WATER = HIGH_WATER // 4


class Http1Error(Exception):
    """Any failure of an upstream call other than the caller's own cancellation."""


class ConnectFailed(Http1Error):
    def __init__(self, error: OSError) -> None:
        reason = os.strerror(error.errno) if error.errno else error.strerror or str(error) or type(error).__name__
        super().__init__(reason)  # "Connection refused", not asyncio's "Connect call failed ('10.0.0.7', 443)"
        self.error = error


class ConnectTimeout(Http1Error):
    pass


class ReadTimeout(Http1Error):
    pass


class Disconnected(Http1Error):
    pass


class BadResponse(Http1Error):
    pass


@functools.cache
def default_tls() -> ssl.SSLContext:
    """The system's trust store, verified, ALPN `http/1.1`: loaded once per process (it reads the CA
    files, tens of milliseconds: `Pool.open` asks for it at start-up when a provider uses https)."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


class _Origin:
    __slots__ = ("host", "key", "port", "prefix", "server_hostname", "ssl")

    def __init__(self, key: str, scheme: str, netloc: str, context: ssl.SSLContext | None) -> None:
        host, _, port = netloc.rpartition(":")
        if not port.isdigit():  # no port, or the end of an IPv6 literal
            host, port = netloc, ""
        self.key = key
        self.host = host.strip("[]")  # an IPv6 literal is written in brackets
        self.port = int(port) if port else (443 if scheme == "https" else 80)
        self.ssl = context if scheme == "https" else None
        self.server_hostname = self.host if self.ssl is not None else None
        self.prefix = f"Host: {netloc}\r\n"


class Http1Client:
    """Connections to any origin, reused; `headers` go on every request that does not set them itself."""

    def __init__(
        self, headers: Mapping[str, str] | None = None, *, keepalive: float = 30.0, tls: ssl.SSLContext | None = None
    ) -> None:
        """`tls`: the context for https origins (default: `default_tls()`)."""
        self.keepalive = keepalive
        self._defaults = {name.lower(): value for name, value in (headers or {}).items()}
        self._origins: dict[str, _Origin] = {}
        self._idle: dict[str, list[tuple[_Connection, float]]] = {}
        self._open: set[_Connection] = set()
        self._tls = tls
        self._closed = False

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, *, connect: float, read: float
    ) -> Response:
        """Send the request and wait for the response's status line and headers."""
        origin, path = self._route(url)
        head = self._head(method, path, origin, headers, body)
        conn = self._reuse(origin)
        if conn is not None:
            try:
                return await conn.exchange(head, body, read)
            except Disconnected:
                if conn.answered:
                    raise
                # The server closed the idle connection as the request went out: one more try on a new one.
        conn = await self._connect(origin, connect)
        return await conn.exchange(head, body, read)

    async def close(self) -> None:
        self._closed = True
        for conn in list(self._open):
            conn.abort()
        self._idle.clear()

    def _route(self, url: str) -> tuple[_Origin, str]:
        scheme, sep, rest = url.partition("://")
        if not sep or scheme not in ("http", "https"):
            raise BadResponse(f"unsupported URL scheme in {scheme!r}")
        netloc, slash, path = rest.partition("/")
        netloc = netloc.rpartition("@")[2]  # credentials in a URL are never sent as such
        key = f"{scheme}://{netloc}"
        origin = self._origins.get(key)
        if origin is None:
            if scheme == "https" and self._tls is None:
                self._tls = default_tls()
            origin = self._origins[key] = _Origin(key, scheme, netloc, self._tls)
        return origin, slash + path if slash else "/"

    def _head(self, method: str, path: str, origin: _Origin, headers: Mapping[str, str], body: bytes) -> bytes:
        if _UNSAFE_PATH.search(path):  # a model id from a client may be part of the path
            path = quote(path, safe=_PATH_SAFE)
        lines = [f"{method} {path} HTTP/1.1\r\n", origin.prefix]
        own = set()
        for name, value in headers.items():
            if _BAD_NAME.search(name) or _BAD_VALUE.search(value):
                raise BadResponse(f"the request header {name!r} is not a valid HTTP header")
            own.add(name.lower())
            lines.append(f"{name}: {value}\r\n")
        for name, value in self._defaults.items():
            if name not in own:
                lines.append(f"{name}: {value}\r\n")
        if body or method not in ("GET", "HEAD", "DELETE"):
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("utf-8")

    def _reuse(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin.key)
        if not idle:
            return None
        deadline = time.monotonic() - self.keepalive
        while idle:
            conn, since = idle.pop()
            if since >= deadline and conn.usable():
                return conn
            conn.abort()
        return None

    async def _connect(self, origin: _Origin, seconds: float) -> _Connection:
        if self._closed:
            raise ConnectFailed(ConnectionAbortedError("the client is closed"))
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(seconds):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, origin.key),
                    origin.host,
                    origin.port,
                    ssl=origin.ssl,
                    server_hostname=origin.server_hostname,
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection within {seconds:g} s") from None
        except OSError as exc:  # refused, unreachable, name not found, TLS (ssl.SSLError is an OSError)
            raise ConnectFailed(exc) from None
        self._open.add(conn)
        return conn

    def _release(self, conn: _Connection) -> None:
        if self._closed or not conn.reusable():
            conn.abort()
            return
        conn.reset()
        idle = self._idle.setdefault(conn.origin, [])
        idle.append((conn, time.monotonic()))
        if len(idle) > 1 and idle[0][1] < time.monotonic() - self.keepalive:  # the oldest has sat too long
            idle.pop(0)[0].abort()

    def _forget(self, conn: _Connection) -> None:
        self._open.discard(conn)


class _Connection(asyncio.Protocol):
    """One connection and the response being read on it (httptools calls the `on_*` methods)."""

    def __init__(self, client: Http1Client, origin: str) -> None:
        self.client = client
        self.origin = origin
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        # As lenient with servers as aiohttp's response parser is outside its debug mode: a header
        # value with an odd character, a bare LF, spaces after a chunk size.
        self.parser.set_dangerous_leniencies(
            lenient_headers=True, lenient_optional_cr_before_lf=True, lenient_spaces_after_chunk_size=True
        )
        self.closed = False
        self.reset()

    def reset(self) -> None:
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.status = 0
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.framed = False
        self.encoding = b""
        self.decoder: _Decoder | None = None
        """A gzip or deflate body (a server that compresses though asked for identity) is inflated."""
        self.answered = False
        """Some byte of a response arrived on this connection for the current request."""
        self.busy = False
        """A request went out on it and its response is not over yet."""
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.paused = False
        self.streaming = False
        """Read chunk by chunk (flow control applies); a whole-body read is never paused."""
        self.error: Http1Error | None = None
        self.waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # bytes nobody asked for (an idle connection): the server is not speaking HTTP/1.1
            self.abort()
            return
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__cause__ or exc.__context__, _Unasked):  # the answer in hand stands
                self.keep_alive = False
                return
            self.fail(BadResponse(f"the upstream's response is not HTTP/1.1: {exc}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client._forget(self)
        if not self.complete:
            if self.headers_done and not self.framed:
                self.complete = True  # a body delimited by the end of the connection
                self.wake()
            else:
                self.fail(Disconnected("the upstream closed the connection before the response was complete"))

    # httptools
    def on_message_begin(self) -> None:
        if self.complete:  # a second response to one request: stop reading, retire the connection
            raise _Unasked

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length" or lower == b"transfer-encoding":
            self.framed = True
        elif lower == b"content-encoding":
            self.encoding = value.strip().lower()

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status >= 200:
            self.status, self.headers_done = status, True
            if status in (204, 304):
                self.framed = True
            if self.encoding not in (b"", b"identity"):
                self.decoder = _decoder(self.encoding)
                if self.decoder is None:
                    self.fail(
                        BadResponse(f"the upstream sent a body in {self.encoding.decode('latin-1')!r}, asked not to")
                    )
            self.wake()

    def on_body(self, body: bytes) -> None:
        if self.decoder is not None:
            body = self.decoder.decompress(body)
        self.chunks.append(body)
        self.buffered += len(body)
        if self.streaming and self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self.wake()

    def on_message_complete(self) -> None:
        if not self.headers_done:  # an informational (1xx) response: the real one follows
            self.raw_headers, self.framed = [], False
            return
        if self.decoder is not None:
            self.chunks.append(self.decoder.flush())
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # now: the parser forgets once this returns
        self.wake()

    # the caller's side
    async def exchange(self, head: bytes, body: bytes, read: float) -> Response:
        transport = self.transport
        assert transport is not None
        self.busy = True
        try:
            if body and len(body) < 65536:
                transport.write(head + body)
            else:
                transport.write(head)
                if body:
                    transport.write(body)
            while not self.headers_done:
                await self.wait(read)
            if self.error is not None:  # refused at the headers (a body encoding it cannot read)
                raise self.error
        except BaseException:
            self.abort()
            raise
        return Response(self, read)

    async def wait(self, read: float) -> None:
        """Until the parser has more for the caller; ReadTimeout after `read` seconds of nothing."""
        if self.error is not None:
            raise self.error
        waiter = self.waiter = self.loop.create_future()
        timer = self.loop.call_later(read, _expire, waiter, read)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None
        if self.error is not None and not self.chunks and not self.complete:
            raise self.error

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, error: Http1Error) -> None:
        if self.error is None:
            self.error = error
        self.wake()

    def take(self) -> bytes:
        chunks, self.chunks = self.chunks, []
        self.buffered = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and self.error is None and self.usable()

    def abort(self) -> None:
        self.closed = True
        self.client._forget(self)
        if self.transport is not None:
            self.transport.abort()


class _Unasked(Exception):
    pass


class _Decoder(Protocol):
    def decompress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


def _decoder(encoding: bytes) -> _Decoder | None:
    if encoding in (b"gzip", b"x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == b"deflate":
        return zlib.decompressobj()
    return None


def _expire(waiter: asyncio.Future[None], read: float) -> None:
    if not waiter.done():
        waiter.set_exception(ReadTimeout(f"nothing arrived within {read:g} s"))


class Response:
    """A response whose headers are in; read its body whole or in chunks, then `release()` it."""

    __slots__ = ("_conn", "_headers", "_raw", "_read", "_released", "status")

    def __init__(self, conn: _Connection, read: float) -> None:
        self._conn = conn
        self._raw = conn.raw_headers  # kept: the connection starts a new list for its next response
        self._read = read
        self._headers: CIMultiDictProxy[str] | None = None
        self._released = False
        self.status = conn.status

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        if self._headers is None:
            raw = self._raw
            self._headers = CIMultiDictProxy(CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw))
        return self._headers

    async def read(self) -> bytes:
        """The whole body."""
        conn = self._conn
        try:
            while not conn.complete:
                await conn.wait(self._read)
        except BaseException:
            self.close()
            raise
        return conn.take()

    async def chunk(self) -> bytes:
        """What has arrived of the body since the last call (waiting for something); b"" at its end."""
        conn = self._conn
        conn.streaming = True
        try:
            while not conn.chunks:
                if conn.complete:
                    return b""
                await conn.wait(self._read)
        except BaseException:
            self.close()
            raise
        return conn.take()

    def release(self) -> None:
        """Done with it: the connection goes back to the pool if the response was read to its end."""
        if not self._released:
            self._released = True
            self._conn.client._release(self._conn)

    def close(self) -> None:
        """Drop the connection now (a response not read to its end, a caller that gave up)."""
        self._released = True
        self._conn.abort()
