"""The upstream HTTP/1.1 client against servers on 127.0.0.1 that answer byte by byte as scripted:
framing (length, chunked, end of connection, 1xx), keep-alive reuse and its stale-connection retry,
timeouts, failures, flow control, and what it refuses to send."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import trustme

from llmrelay.errors import UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.base import UpstreamRequest
from llmrelay.providers.openai.chat import OpenAIChat
from llmrelay.transport.attempt import HttpUpstream, Timeouts
from llmrelay.transport.http1 import (
    HIGH_WATER,
    BadResponse,
    ConnectFailed,
    Disconnected,
    Http1Client,
    ReadTimeout,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Scripted:
    """A server whose every connection runs `handler`; it counts connections and keeps what arrived."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.heads: list[bytes] = []
        self.port = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            with contextlib.suppress(ConnectionError):
                await self.handler(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def head(self, reader: asyncio.StreamReader) -> bytes:
        """Read one request (head and Content-Length body); b"" when the client closed."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return b""
        self.heads.append(head)
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await reader.readexactly(int(line.split(b":")[1]))
        return head


@contextlib.asynccontextmanager
async def scripted(
    handler: Callable[[Scripted, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[Scripted]:
    holder = Scripted(lambda reader, writer: handler(holder, reader, writer))
    server = await asyncio.start_server(holder._serve, "127.0.0.1", 0)
    holder.port = server.sockets[0].getsockname()[1]
    try:
        yield holder
    finally:
        server.close()
        await holder.stop()
        await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[Http1Client]:
    http = Http1Client()
    yield http
    await http.close()


def answering(raw: bytes) -> Callable[[Scripted, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A handler that reads one request and writes `raw` back."""

    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        writer.write(raw)

    return handler


async def call(client: Http1Client, port: int, path: str = "/v1/x", **headers: str) -> tuple[int, bytes]:
    response = await client.request("POST", f"http://127.0.0.1:{port}{path}", headers, b"{}", connect=5, read=5)
    body = await response.read()
    response.release()
    return response.status, body


async def test_keep_alive_reuses_one_connection() -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await s.head(reader):
            writer.write(OK)

    client = Http1Client({"User-Agent": "t/1"})
    async with scripted(handler) as server:
        assert [await call(client, server.port) for _ in range(3)] == [(200, b"ok")] * 3
        assert server.connections == 1
        assert b"Host: 127.0.0.1:" in server.heads[0] and b"user-agent: t/1" in server.heads[0]
        assert b"Content-Length: 2" in server.heads[0]
    await client.close()


async def test_chunked_body_arrives_as_sent_and_whole(client: Http1Client) -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(0.01)  # a second read on the client's side, not a synchronisation
        writer.write(b"6\r\n world\r\n0\r\n\r\n")

    async with scripted(handler) as server:
        response = await client.request("GET", f"http://127.0.0.1:{server.port}/", {}, b"", connect=5, read=5)
        parts = []
        while part := await response.chunk():
            parts.append(part)
        response.release()
        assert b"".join(parts) == b"hello world"
        assert b"Content-Length" not in server.heads[0]  # a GET without a body says nothing of one


async def test_a_body_ended_by_the_connection_is_whole_and_the_connection_not_reused(client: Http1Client) -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")

    async with scripted(handler) as server:
        assert await call(client, server.port) == (200, b"until the end")
        assert await call(client, server.port) == (200, b"until the end")
        assert server.connections == 2


async def test_an_informational_response_is_skipped(client: Http1Client) -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + OK)

    async with scripted(handler) as server:
        response = await client.request("GET", f"http://127.0.0.1:{server.port}/", {}, b"", connect=5, read=5)
        assert response.status == 200 and "link" not in response.headers
        assert await response.read() == b"ok"
        response.release()


async def test_a_server_that_closes_an_idle_connection_costs_one_silent_retry(client: Http1Client) -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if s.connections == 1:  # answers once, then hangs up on the next request without a word
            await s.head(reader)
            writer.write(OK)
            await s.head(reader)
            return
        while await s.head(reader):
            writer.write(OK)

    async with scripted(handler) as server:
        assert await call(client, server.port) == (200, b"ok")
        assert await call(client, server.port) == (200, b"ok")
        assert server.connections == 2


async def test_silence_is_a_read_timeout(client: Http1Client) -> None:
    release = asyncio.Event()

    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        await release.wait()

    async with scripted(handler) as server:
        with pytest.raises(ReadTimeout):
            await client.request("GET", f"http://127.0.0.1:{server.port}/", {}, b"", connect=5, read=0.05)
        release.set()


async def test_a_refused_connection_names_the_reason(client: Http1Client) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectFailed, match="refused"):
        await call(client, port)


async def test_line_breaks_in_headers_are_refused_and_unsafe_paths_encoded(client: Http1Client) -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await s.head(reader):
            writer.write(OK)

    async with scripted(handler) as server:
        with pytest.raises(BadResponse, match="not a valid HTTP header"):
            await call(client, server.port, authorization="Bearer x\r\nX-Injected: 1")
        await call(client, server.port, path="/v1/models/my model\r\nX: y:generate")
        assert server.heads[0].startswith(b"POST /v1/models/my%20model%0D%0AX:%20y:generate HTTP/1.1\r\n")
        assert len(server.heads) == 1  # nothing of the refused request reached the server


async def test_a_stream_nobody_reads_stops_being_read_past_the_high_water_mark(client: Http1Client) -> None:
    total = HIGH_WATER * 4

    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        for _ in range(total // 65536):
            writer.write(b"x" * 65536)
            await writer.drain()  # blocks once the client stops reading: flow control works end to end

    async with scripted(handler) as server:
        response = await client.request("GET", f"http://127.0.0.1:{server.port}/", {}, b"", connect=5, read=5)
        received = len(await response.chunk())
        conn = response._conn
        while not conn.paused and not conn.complete:  # the client fills to its mark, then stops reading
            await conn.wait(5)
        assert conn.paused and not conn.complete and received + conn.buffered < total
        while part := await response.chunk():
            received += len(part)
        response.release()
        assert received == total


async def test_a_redirect_is_reported_not_followed() -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        writer.write(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://elsewhere.example/v1\r\nContent-Length: 0\r\n\r\n"
        )

    upstream = HttpUpstream(Http1Client())
    async with scripted(handler) as server:
        request = UpstreamRequest("POST", f"http://127.0.0.1:{server.port}/v1/chat/completions", {}, b"{}")
        with pytest.raises(UpstreamProtocolError, match=r"307, a redirect to https://elsewhere.example"):
            await upstream.send(OpenAIChat(), request, Timeouts())
        assert server.connections == 1
    await upstream.close()


async def test_error_headers_outlive_the_connection_going_back_to_the_pool() -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await s.head(reader):
            body = b'{"error": {"message": "slow down", "type": "requests"}}'
            writer.write(
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )

    upstream = HttpUpstream(Http1Client())
    async with scripted(handler) as server:
        request = UpstreamRequest("POST", f"http://127.0.0.1:{server.port}/v1/chat/completions", {}, b"{}")
        with pytest.raises(UpstreamStatusError) as caught:
            await upstream.send(OpenAIChat(), request, Timeouts())
        assert caught.value.status_code == 429 and caught.value.headers == {"Retry-After": "7"}
    await upstream.close()


async def test_https_with_a_certificate_the_client_trusts() -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(head), head))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    client = Http1Client(tls=client_tls)
    try:
        response = await client.request("GET", f"https://127.0.0.1:{port}/v1/models", {}, b"", connect=5, read=5)
        assert response.status == 200
        assert (await response.read()).startswith(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:")
        response.release()
        untrusting = Http1Client(tls=ssl.create_default_context())  # the system's store: not our CA
        with pytest.raises(ConnectFailed):
            await untrusting.request("GET", f"https://127.0.0.1:{port}/", {}, b"", connect=5, read=5)
        await untrusting.close()
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_body_is_inflated(encoding: str) -> None:
    packed = gzip.compress(b'{"ok": true}') if encoding == "gzip" else zlib.compress(b'{"ok": true}')

    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await s.head(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n" % (encoding.encode(), len(packed))
        )
        writer.write(packed)

    client = Http1Client({"Accept-Encoding": "identity"})
    async with scripted(handler) as server:
        assert await call(client, server.port) == (200, b'{"ok": true}')
        assert b"accept-encoding: identity" in server.heads[0]
    await client.close()


async def test_bytes_on_an_idle_connection_retire_it(client: Http1Client) -> None:
    async def handler(s: Scripted, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await s.head(reader):
            writer.write(OK + b"HTTP/1.1 500 Unasked\r\nContent-Length: 0\r\n\r\n")  # a second, unasked answer

    async with scripted(handler) as server:
        assert await call(client, server.port) == (200, b"ok")
        assert await call(client, server.port) == (200, b"ok")  # not the unasked 500


@pytest.mark.parametrize(
    ("answer", "error", "match"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", Disconnected, "before the response was complete"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", BadResponse, "not HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nxyz", BadResponse, "'br'"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\nnot gzip",
            BadResponse,
            "not HTTP/1.1",
        ),
    ],
    ids=["cut-short", "not-http", "unreadable-encoding", "corrupt-gzip"],
)
async def test_a_broken_answer_is_an_error_not_a_hang(
    client: Http1Client, answer: bytes, error: type[Exception], match: str
) -> None:
    async with scripted(answering(answer)) as server:
        with pytest.raises(error, match=match):
            await call(client, server.port)


async def test_sloppy_servers_are_read_as_aiohttp_read_them(client: Http1Client) -> None:
    sloppy = b"HTTP/1.1 200 OK\nX-Odd: caf\xe9\x01\nTransfer-Encoding: chunked\n\n2  \r\nok\r\n0\r\n\r\n"
    async with scripted(answering(sloppy)) as server:
        assert await call(client, server.port) == (200, b"ok")
