"""One try against one upstream: send an UpstreamRequest, get bytes or an open stream, or one of our errors.

Every aiohttp failure is mapped here, once: connection failures → UpstreamUnreachableError (502),
timeouts → UpstreamTimeoutError (504), an upstream error status → the adapter's `map_error`.

`Timeouts` bound one try: `connect`, `first_byte` (request sent → response headers, and for a stream
its first chunk too, so `open_stream` returns with the first bytes in hand), `read` (the idle gap
between body reads) and `total` (the caller's deadline for an answer, retries included: not used here).

    >>> body = await upstream.send(adapter, upstream_request, timeouts)
    >>> stream = await upstream.open_stream(adapter, upstream_request, timeouts)
    >>> async for data in stream: ...

`Upstream` is the seam: `HttpUpstream` (one pooled aiohttp session) here, `LocalEngine` (the keyless
local model, transport/local.py) beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from llmrelay.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from llmrelay.providers.base import UpstreamRequest


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `read` bounds every gap between body reads (the idle timeout); `first_byte` the wait
    for the response headers and a stream's first chunk (None: `read`); `total` the answer deadline."""

    connect: float = 10.0
    read: float = 60.0
    first_byte: float | None = None
    total: float | None = None
    _client: aiohttp.ClientTimeout = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # built once: a request passes it as it is
        object.__setattr__(
            self, "_client", aiohttp.ClientTimeout(total=None, connect=self.connect, sock_read=self.read)
        )

    @classmethod
    def from_seconds(cls, seconds: float) -> Timeouts:
        return cls(connect=min(seconds, 10.0), read=seconds, first_byte=seconds, total=seconds)

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return self._client

    @property
    def first(self) -> float:
        return self.read if self.first_byte is None else self.first_byte


_DEFAULT = Timeouts()


class ErrorMapper(Protocol):
    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


class UpstreamStream(Protocol):
    """A response body read as it arrives. `abort()` stops the upstream at once; `release()` after the end."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def abort(self) -> None: ...

    def release(self) -> None: ...


class Upstream(Protocol):
    async def send(self, adapter: ErrorMapper, request: UpstreamRequest, timeouts: Timeouts | None = None) -> bytes: ...

    async def open_stream(
        self, adapter: ErrorMapper, request: UpstreamRequest, timeouts: Timeouts | None = None
    ) -> UpstreamStream: ...

    async def close(self) -> None: ...

    def status(self) -> Mapping[str, object]:
        """What /health shows of this upstream beyond its config (empty when there is nothing to say)."""
        ...


class HttpUpstream:
    """An upstream over HTTP through one pooled aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def send(self, adapter: ErrorMapper, request: UpstreamRequest, timeouts: Timeouts | None = None) -> bytes:
        """The upstream's body for a 2xx answer; otherwise raises an UpstreamError."""
        timeouts = timeouts or _DEFAULT
        try:
            async with _first_byte_bound(timeouts):
                resp = await self._request(request, timeouts)
        except TimeoutError:
            raise _no_first_byte(request, timeouts) from None
        body = await _body(resp, request)
        if resp.status >= 400:
            raise adapter.map_error(resp.status, resp.headers, body)
        return body

    async def open_stream(
        self, adapter: ErrorMapper, request: UpstreamRequest, timeouts: Timeouts | None = None
    ) -> HttpStream:
        """Send the request and wait for a 2xx status line and the first chunk of the body, within the
        first-byte timeout; an error status is read whole and raised."""
        timeouts = timeouts or _DEFAULT
        try:
            async with _first_byte_bound(timeouts):
                resp = await self._request(request, timeouts)
                if resp.status < 400:
                    return await HttpStream.primed(resp, request)
        except TimeoutError:
            raise _no_first_byte(request, timeouts) from None
        raise adapter.map_error(resp.status, resp.headers, await _body(resp, request))

    async def _request(self, request: UpstreamRequest, timeouts: Timeouts) -> aiohttp.ClientResponse:
        """The response with its headers read; aiohttp's own failures mapped (a first-byte timeout is the caller's)."""
        try:
            return await self.session.request(
                request.method, request.url, headers=request.headers, data=request.body,
                timeout=timeouts.client_timeout(),
            )  # fmt: skip
        except (aiohttp.ClientError, aiohttp.ServerTimeoutError) as exc:
            raise _map_exception(exc, request) from None

    async def close(self) -> None:
        await self.session.close()

    def status(self) -> Mapping[str, object]:
        return {}


async def _body(resp: aiohttp.ClientResponse, request: UpstreamRequest) -> bytes:
    """The whole body, its connection back in the pool; a read failure mapped like any other."""
    try:
        return await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _map_exception(exc, request) from None
    finally:
        resp.release()


def _first_byte_bound(timeouts: Timeouts) -> AbstractAsyncContextManager[object]:
    """A deadline for the headers and first chunk, only when it is tighter than the idle timeout: aiohttp's
    `sock_read` (= `read`) already bounds that wait, so the common case costs no extra timer per request."""
    if timeouts.first < timeouts.read:
        return asyncio.timeout(timeouts.first)
    return _NO_BOUND


_NO_BOUND = contextlib.nullcontext()


class HttpStream:
    """An upstream response whose body is read as it arrives. `abort()` drops the connection at once."""

    __slots__ = ("_first", "_reads", "_response")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._first: bytes | None = None
        self._reads: AsyncIterator[bytes] = self._read()

    @classmethod
    async def primed(cls, response: aiohttp.ClientResponse, request: UpstreamRequest) -> HttpStream:
        """The stream with its first chunk already read (b"" for an empty body); a failure is raised now,
        before anything reaches the client, so that the try can be retried. Closes the response on failure."""
        stream = cls(response)
        try:
            stream._first = await anext(stream._reads, b"")
        except BaseException:
            response.close()
            raise
        return stream

    async def _read(self) -> AsyncIterator[bytes]:
        try:
            async for data in self._response.content.iter_any():
                yield data
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _map_exception(exc, None) from None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        first, self._first = self._first, None
        if first:
            yield first
        async for data in self._reads:
            yield data

    def abort(self) -> None:
        self._response.close()

    def release(self) -> None:
        self._response.release()


def _no_first_byte(request: UpstreamRequest, timeouts: Timeouts) -> UpstreamTimeoutError:
    return UpstreamTimeoutError(
        f"The upstream at {_origin(request.url)} sent nothing within the first-byte timeout ({timeouts.first:g} s)."
    )


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
