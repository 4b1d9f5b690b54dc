"""One try against one upstream: send an UpstreamRequest, get bytes or an open stream, or one of our errors.

Every aiohttp failure is mapped here, once: connection failures → UpstreamUnreachableError (502),
timeouts → UpstreamTimeoutError (504), an upstream error status → the adapter's `map_error`.

    >>> body = await upstream.send(adapter, upstream_request)
    >>> stream = await upstream.open_stream(adapter, upstream_request)
    >>> async for data in stream: ...

`Upstream` is the seam: `HttpUpstream` (one pooled aiohttp session) here, `LocalEngine` (the keyless
local model, transport/local.py) beside it.
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


class UpstreamStream(Protocol):
    """A response body read as it arrives. `abort()` stops the upstream at once; `release()` after the end."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def abort(self) -> None: ...

    def release(self) -> None: ...


class Upstream(Protocol):
    async def send(self, adapter: ErrorMapper, request: UpstreamRequest) -> bytes: ...

    async def open_stream(self, adapter: ErrorMapper, request: UpstreamRequest) -> UpstreamStream: ...

    async def close(self) -> None: ...

    def status(self) -> Mapping[str, object]:
        """What /health shows of this upstream beyond its config (empty when there is nothing to say)."""
        ...


class HttpUpstream:
    """An upstream over HTTP through one pooled aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def send(self, adapter: ErrorMapper, request: UpstreamRequest) -> bytes:
        """The upstream's body for a 2xx answer; otherwise raises an UpstreamError."""
        try:
            async with self.session.request(
                request.method, request.url, headers=request.headers, data=request.body
            ) as resp:
                body = await resp.read()
                status, headers = resp.status, resp.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _map_exception(exc, request) from None
        if status >= 400:
            raise adapter.map_error(status, headers, body)
        return body

    async def open_stream(self, adapter: ErrorMapper, request: UpstreamRequest) -> HttpStream:
        """Send the request and wait for a 2xx status line; an error status is read whole and raised."""
        try:
            resp = await self.session.request(request.method, request.url, headers=request.headers, data=request.body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _map_exception(exc, request) from None
        if resp.status < 400:
            return HttpStream(resp)
        try:
            body = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _map_exception(exc, request) from None
        finally:
            resp.release()
        raise adapter.map_error(resp.status, resp.headers, body)

    async def close(self) -> None:
        await self.session.close()

    def status(self) -> Mapping[str, object]:
        return {}


class HttpStream:
    """An upstream response whose body is read as it arrives. `abort()` drops the connection at once."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

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
