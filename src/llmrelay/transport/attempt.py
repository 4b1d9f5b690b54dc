"""One try against one upstream: send an UpstreamRequest, get bytes or an open stream, or one of our errors.

Every transport failure is mapped here, once: connection failures → UpstreamUnreachableError (502),
timeouts → UpstreamTimeoutError (504), an upstream error status → the adapter's `map_error`.

`Timeouts` bound one try: `connect`, `first_byte` (request sent → response headers, and for a stream
its first chunk too, so `open_stream` returns with the first bytes in hand), `read` (the idle gap
between body reads) and `total` (the caller's deadline for an answer, retries included: not used here).

    >>> body = await upstream.send(adapter, upstream_request, timeouts)
    >>> stream = await upstream.open_stream(adapter, upstream_request, timeouts)
    >>> async for data in stream: ...

`Upstream` is the seam: `HttpUpstream` (one pooled HTTP/1.1 client, transport/http1.py) here,
`LocalEngine` (the keyless local model, transport/local.py) beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from llmrelay.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from llmrelay.providers.base import UpstreamRequest
from llmrelay.transport.http1 import (
    BadResponse,
    ConnectFailed,
    ConnectTimeout,
    Disconnected,
    Http1Client,
    Http1Error,
    ReadTimeout,
    Response,
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `read` bounds every gap between body reads (the idle timeout); `first_byte` the wait
    for the response headers and a stream's first chunk (None: `read`); `total` the answer deadline."""

    connect: float = 10.0
    read: float = 60.0
    first_byte: float | None = None
    total: float | None = None

    @classmethod
    def from_seconds(cls, seconds: float) -> Timeouts:
        return cls(connect=min(seconds, 10.0), read=seconds, first_byte=seconds, total=seconds)

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
    """An upstream over HTTP through one pooled client."""

    def __init__(self, client: Http1Client) -> None:
        self.client = client

    async def send(self, adapter: ErrorMapper, request: UpstreamRequest, timeouts: Timeouts | None = None) -> bytes:
        """The upstream's body for a 2xx answer; otherwise raises an UpstreamError."""
        timeouts = timeouts or _DEFAULT
        try:
            async with _first_byte_bound(timeouts):
                resp = await self._request(request, timeouts)
        except TimeoutError:
            raise _no_first_byte(request, timeouts) from None
        body = await _body(resp, request)
        if resp.status >= 300:
            raise _status_error(adapter, resp, body, request)
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
                if resp.status < 300:
                    return await HttpStream.primed(resp, request)
        except TimeoutError:
            raise _no_first_byte(request, timeouts) from None
        raise _status_error(adapter, resp, await _body(resp, request), request)

    async def _request(self, request: UpstreamRequest, timeouts: Timeouts) -> Response:
        """The response with its headers read; the client's failures mapped (a first-byte timeout is the caller's)."""
        try:
            return await self.client.request(
                request.method, request.url, request.headers, request.body,
                connect=timeouts.connect, read=timeouts.read,
            )  # fmt: skip
        except Http1Error as exc:
            raise _map_exception(exc, request) from None

    async def close(self) -> None:
        await self.client.close()

    def status(self) -> Mapping[str, object]:
        return {}


def _status_error(adapter: ErrorMapper, resp: Response, body: bytes, request: UpstreamRequest) -> UpstreamError:
    """An error status as the adapter maps it; a redirect (never followed) as a protocol error."""
    if resp.status < 400:
        where = resp.headers.get("location", "elsewhere")
        return UpstreamProtocolError(
            f"The upstream at {_origin(request.url)} answered {resp.status}, a redirect to {_origin(where)}: "
            "set the provider's base_url to the address it names."
        )
    return adapter.map_error(resp.status, resp.headers, body)


async def _body(resp: Response, request: UpstreamRequest) -> bytes:
    """The whole body, its connection back in the pool; a read failure mapped like any other."""
    try:
        body = await resp.read()
    except Http1Error as exc:
        raise _map_exception(exc, request) from None
    resp.release()
    return body


def _first_byte_bound(timeouts: Timeouts) -> AbstractAsyncContextManager[object]:
    """A deadline for the headers and first chunk, only when it is tighter than the idle timeout: the
    client's `read` timeout already bounds that wait, so the common case costs no extra timer per request."""
    if timeouts.first < timeouts.read:
        return asyncio.timeout(timeouts.first)
    return _NO_BOUND


_NO_BOUND = contextlib.nullcontext()


class HttpStream:
    """An upstream response whose body is read as it arrives. `abort()` drops the connection at once."""

    __slots__ = ("_first", "_response")

    def __init__(self, response: Response) -> None:
        self._response = response
        self._first: bytes | None = None

    @classmethod
    async def primed(cls, response: Response, request: UpstreamRequest) -> HttpStream:
        """The stream with its first chunk already read (b"" for an empty body); a failure is raised now,
        before anything reaches the client, so that the try can be retried. Closes the response on failure."""
        stream = cls(response)
        try:
            stream._first = await response.chunk()  # the response closes itself when this fails
        except Http1Error as exc:
            raise _map_exception(exc, request) from None
        return stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        first, self._first = self._first, None
        if first:
            yield first
        response = self._response
        try:
            while data := await response.chunk():
                yield data
        except Http1Error as exc:
            raise _map_exception(exc, None) from None

    def abort(self) -> None:
        self._response.close()

    def release(self) -> None:
        self._response.release()


def _no_first_byte(request: UpstreamRequest, timeouts: Timeouts) -> UpstreamTimeoutError:
    return UpstreamTimeoutError(
        f"The upstream at {_origin(request.url)} sent nothing within the first-byte timeout ({timeouts.first:g} s)."
    )


def _map_exception(exc: Http1Error, request: UpstreamRequest | None) -> UpstreamError:
    where = f" at {_origin(request.url)}" if request is not None else ""
    if isinstance(exc, ReadTimeout | ConnectTimeout):
        return UpstreamTimeoutError(f"The upstream{where} did not answer in time.")
    if isinstance(exc, ConnectFailed):
        return UpstreamUnreachableError(f"Could not connect to the upstream{where}: {exc}.")
    if isinstance(exc, Disconnected):
        return UpstreamProtocolError(f"The upstream{where} closed the connection before the response was complete.")
    if isinstance(exc, BadResponse):
        return UpstreamProtocolError(f"The upstream{where} sent a response that could not be read: {exc}.")
    return UpstreamProtocolError(f"The upstream{where} sent a response that could not be read: {type(exc).__name__}.")


def _origin(url: str) -> str:
    """scheme://host:port only: never a path or query, which may hold a key."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rpartition('@')[2]}"
