"""One try against one upstream: send an UpstreamRequest, get bytes or an open stream, or one of our errors.

Every aiohttp failure is mapped here, once: connection failures → UpstreamUnreachableError (502),
timeouts → UpstreamTimeoutError (504), an upstream error status → the adapter's `map_error`.

    >>> body = await send(session, adapter, upstream_request)
    >>> stream = await open_stream(session, adapter, upstream_request)
    >>> async for data in stream: ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import aiohttp

from llmrelay.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from llmrelay.providers.base import UpstreamRequest


class ErrorMapper(Protocol):
    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


async def send(session: aiohttp.ClientSession, adapter: ErrorMapper, request: UpstreamRequest) -> bytes:
    """The upstream's body for a 2xx answer; otherwise raises an UpstreamError."""
    try:
        async with session.request(request.method, request.url, headers=request.headers, data=request.body) as resp:
            body = await resp.read()
            status, headers = resp.status, resp.headers
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _map_exception(exc, request) from None
    if status >= 400:
        raise adapter.map_error(status, headers, body)
    return body


class UpstreamStream:
    """An upstream response whose body is read as it arrives. `abort()` drops the connection at once."""

    __slots__ = ("_response", "_url", "headers", "status")

    def __init__(self, response: aiohttp.ClientResponse, url: str) -> None:
        self._response = response
        self._url = url
        self.status = response.status
        self.headers = response.headers

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.content.iter_any():
                yield data
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _map_exception(exc, None) from None

    def abort(self) -> None:
        self._response.close()

    def release(self) -> None:
        self._response.release()


async def open_stream(session: aiohttp.ClientSession, adapter: ErrorMapper, request: UpstreamRequest) -> UpstreamStream:
    """Send the request and wait for a 2xx status line; an error status is read whole and raised."""
    try:
        resp = await session.request(request.method, request.url, headers=request.headers, data=request.body)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _map_exception(exc, request) from None
    if resp.status < 400:
        return UpstreamStream(resp, request.url)
    try:
        body = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _map_exception(exc, request) from None
    finally:
        resp.release()
    raise adapter.map_error(resp.status, resp.headers, body)


def _map_exception(exc: BaseException, request: UpstreamRequest | None) -> UpstreamError:
    where = f" at {_origin(request.url)}" if request is not None else ""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return UpstreamTimeoutError(f"The upstream{where} did not answer in time.")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnreachableError(f"Could not connect to the upstream{where}: {exc.os_error.strerror or exc}.")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return UpstreamProtocolError(f"The upstream{where} closed the connection before the response was complete.")
    if isinstance(exc, aiohttp.ClientConnectionError):
        return UpstreamUnreachableError(f"The connection to the upstream{where} failed: {type(exc).__name__}.")
    return UpstreamProtocolError(f"The upstream{where} sent a response that could not be read: {type(exc).__name__}.")


def _origin(url: str) -> str:
    """scheme://host:port only: never a path or query, which may hold a key."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rpartition('@')[2]}"
