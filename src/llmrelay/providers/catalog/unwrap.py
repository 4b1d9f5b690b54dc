"""Replies from a catalog host's wrapped handles: take the vendor's body out, then let its adapter read it.

A handle not under `/raw` answers `{"response": <vendor JSON>, "key": …, "cost": …, "stats": …}`
(reference §7.3). Errors come as the vendor's error inside `response`, as a plain `{"error": …}`, or as
the host's own `{"detail": …}`. Streams are the vendor's SSE unchanged, so they go to the inner adapter
as they are. Because the body must be opened, a wrapped OpenAI-like handle is not passthrough: its reply
is parsed and re-encoded.

    >>> chat = UnwrappedChat(OpenAIChat())
    >>> chat.parse_response(b'{"response": {"choices": [...]}, "cost": 0.0001}', req, target)["choices"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

import orjson

from llmrelay.errors import UpstreamError, UpstreamStatusError
from llmrelay.providers.base import (
    ChatAdapter,
    EmbeddingsAdapter,
    ImagesAdapter,
    StreamTranslator,
    Target,
    UpstreamRequest,
)
from llmrelay.providers.common import retry_headers
from llmrelay.schemas.chat import ChatCompletion, ChatRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest, EmbeddingsResponse
from llmrelay.schemas.images import ImagesRequest, ImagesResponse

_WRAPPED_ERROR_STATUS = 502
"""The status given to a vendor error that arrives inside a 2xx wrapper (the host relayed a failure)."""


def unwrap(body: bytes) -> tuple[bytes, bool]:
    """The vendor body inside a wrapper, and whether it is an error; anything unwrapped is returned as is."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body, False
    if not isinstance(parsed, dict):
        return body, False
    inner = parsed.get("response")
    if isinstance(inner, dict | list):
        return orjson.dumps(inner), _is_error(inner)
    return body, _is_error(parsed) and "choices" not in parsed


def _is_error(obj: object) -> bool:
    return isinstance(obj, dict) and ("error" in obj or obj.get("type") == "error")


class ErrorMapper(Protocol):
    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


def map_wrapped_error(inner: ErrorMapper, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    """An error answer of the host: the vendor's error unwrapped for `inner.map_error`, or the host's `detail`."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        response = parsed.get("response")
        if isinstance(response, dict):
            return inner.map_error(status, headers, orjson.dumps(response))
        detail = parsed.get("detail")
        if "error" not in parsed and detail is not None:
            return _detail_error(status, headers, detail, body)
    return inner.map_error(status, headers, body)


def _detail_error(status: int, headers: Mapping[str, str], detail: object, raw: bytes) -> UpstreamStatusError:
    """FastAPI-style `{"detail": "..."}` (or a list of validation problems) from the catalog host itself."""
    if isinstance(detail, list):
        text = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    else:
        text = str(detail)
    kept = retry_headers(headers)
    return UpstreamStatusError(status, f"The model catalog host answered HTTP {status}: {text}", headers=kept, raw=raw)


class _Unwrapping:
    """What every wrapped-handle adapter shares: the vendor body taken out of a reply, errors unwrapped."""

    passthrough: ClassVar[bool] = False
    inner: ErrorMapper

    def _vendor_body(self, body: bytes) -> bytes:
        vendor, failed = unwrap(body)
        if failed:
            raise self.inner.map_error(_WRAPPED_ERROR_STATUS, {}, vendor)
        return vendor

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_wrapped_error(self.inner, status, headers, body)


class UnwrappedChat(_Unwrapping):
    """Chat through a wrapped handle: requests and streams as `inner` makes them, replies unwrapped first."""

    inner: ChatAdapter

    def __init__(self, inner: ChatAdapter) -> None:
        self.inner = inner
        self.stream_framing: str = getattr(inner, "stream_framing", "sse")

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        return self.inner.build_request(req, target)

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        return self.inner.parse_response(self._vendor_body(body), req, target)

    def open_stream(self, req: ChatRequest, target: Target) -> StreamTranslator:
        return self.inner.open_stream(req, target)


class UnwrappedEmbeddings(_Unwrapping):
    """Embeddings through a wrapped handle: the vendor's reply is unwrapped, then read by `inner`."""

    inner: EmbeddingsAdapter

    def __init__(self, inner: EmbeddingsAdapter) -> None:
        self.inner = inner

    def build_request(self, req: EmbeddingsRequest, target: Target) -> UpstreamRequest:
        return self.inner.build_request(req, target)

    def parse_response(self, body: bytes, req: EmbeddingsRequest, target: Target) -> EmbeddingsResponse:
        return self.inner.parse_response(self._vendor_body(body), req, target)


class UnwrappedImages(_Unwrapping):
    """Image generation through a wrapped handle: the vendor's reply is unwrapped, then read by `inner`."""

    inner: ImagesAdapter

    def __init__(self, inner: ImagesAdapter) -> None:
        self.inner = inner

    def build_request(self, req: ImagesRequest, target: Target) -> UpstreamRequest:
        return self.inner.build_request(req, target)

    def parse_response(self, body: bytes, req: ImagesRequest, target: Target) -> ImagesResponse:
        return self.inner.parse_response(self._vendor_body(body), req, target)
