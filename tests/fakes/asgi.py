"""Raw-ASGI plumbing shared by the fakes: read a request, send a response that notices a disconnect.

    body = await read_body(receive)               # None if the client went away first
    async with Responder(receive, send, on_disconnect=fake.disconnected.set) as out:
        await out.start(200, {"content-type": "text/event-stream"})
        await out.chunk(b"data: {}\\n\\n")        # one ASGI body message per call
        await out.end()                           # or: await out.abort() to drop the socket

While a :class:`Responder` is open, a task keeps calling ``receive()`` and records ``http.disconnect``
(the pattern of ``starlette.responses.StreamingResponse``). It is stopped before the final body
message, because uvicorn also answers ``receive()`` with ``http.disconnect`` once a response is
complete, and that must not count as the client going away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import NoReturn

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes.server import AbortConnection


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or ``None`` if the client disconnected before sending it."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def header_dict(scope: Scope) -> dict[str, str]:
    """Request headers with lowercased names; repeated headers are joined with ``", "``."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _encode_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def send_bytes(send: Send, status: int, body: bytes, headers: Mapping[str, str]) -> None:
    """Send a complete response in one body message, with ``content-length`` set."""
    all_headers = {**headers, "content-length": str(len(body))}
    await send({"type": "http.response.start", "status": status, "headers": _encode_headers(all_headers)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(send: Send, status: int, payload: object, headers: Mapping[str, str]) -> None:
    """Send ``payload`` as a compact JSON response."""
    await send_bytes(send, status, orjson.dumps(payload), {"content-type": "application/json", **headers})


class Responder:
    """One response whose sender learns when the client disconnects."""

    def __init__(self, receive: Receive, send: Send, on_disconnect: Callable[[], None]) -> None:
        self._receive = receive
        self._send = send
        self._on_disconnect = on_disconnect
        self.disconnected = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Responder:
        self._watcher = asyncio.create_task(self._watch())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop_watching()

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.disconnected.set()
        self._on_disconnect()

    async def _stop_watching(self) -> None:
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
            await asyncio.wait([self._watcher])

    async def wait_disconnect(self, within: float | None = None) -> bool:
        """Wait up to ``within`` seconds (forever if ``None``); return whether the client is gone."""
        try:
            async with asyncio.timeout(within):
                await self.disconnected.wait()
        except TimeoutError:
            return False
        return True

    async def start(self, status: int, headers: Mapping[str, str]) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": _encode_headers(headers)})

    async def chunk(self, data: bytes) -> None:
        """Send ``data`` as its own ASGI body message, leaving the response open."""
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self, data: bytes = b"") -> None:
        await self._stop_watching()
        await self._send({"type": "http.response.body", "body": data, "more_body": False})

    async def abort(self) -> NoReturn:
        """Drop the connection without finishing the body (uvicorn closes the socket)."""
        await self._stop_watching()
        raise AbortConnection("fake upstream dropped the connection on purpose")
