"""The adapter seam: value types and the protocols every provider adapter implements.

An adapter turns an OpenAI-shaped request plus a resolved `Target` into an `UpstreamRequest`, and
the upstream's bytes (or SSE events) back into OpenAI objects. It does no I/O; `transport/` sends.

    >>> target = Target(provider="up", base_url="http://127.0.0.1:9/v1", model="gpt-4o-mini")
    >>> OpenAIChat().build_request(ChatRequest.parse(raw), target).url
    'http://127.0.0.1:9/v1/chat/completions'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar, Protocol

from llmrelay.errors import UpstreamError
from llmrelay.schemas.chat import ChatCompletion, ChatCompletionChunk, ChatRequest, Usage
from llmrelay.schemas.completions import CompletionRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest, EmbeddingsResponse
from llmrelay.schemas.images import ImagesRequest, ImagesResponse
from llmrelay.schemas.sse import SSEEvent


@dataclass(frozen=True, slots=True)
class Target:
    """One resolved deployment: everything an adapter needs, so it never looks anything up."""

    provider: str
    base_url: str
    model: str
    api_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    """Type-specific settings (e.g. a Workers AI `account_id`)."""

    def with_api_key(self, api_key: str | None) -> Target:
        return replace(self, api_key=api_key)


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


class StreamTranslator(Protocol):
    """Stateful per-stream translation: upstream SSE events in, OpenAI chunks out.

    It yields the content chunks and the chunk carrying `finish_reason`, and keeps the usage; the
    relay adds what every OpenAI stream needs whatever the upstream sent: `"usage": null` on each
    chunk and a final usage chunk when `stream_options.include_usage` was asked, then `[DONE]`.
    An upstream error inside the stream is raised as an UpstreamError.
    """

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]: ...

    def close(self) -> list[ChatCompletionChunk]: ...

    @property
    def usage(self) -> Usage | None: ...


class ChatAdapter(Protocol):
    """Chat Completions through one upstream wire format.

    `passthrough` adapters speak OpenAI upstream: the relay may then send `build_request`'s bytes and
    relay the upstream's bytes back unchanged, reading only what it needs (usage, errors).

    An adapter whose upstream streams one JSON object per line instead of SSE declares
    `stream_framing: ClassVar[str] = "lines"`; the relay then feeds its translator line events.
    """

    passthrough: ClassVar[bool]

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest: ...

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion: ...

    def open_stream(self, req: ChatRequest, target: Target) -> StreamTranslator: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


class EmbeddingsAdapter(Protocol):
    """Embeddings through one upstream wire format; vectors come back as floats.

    A `passthrough` adapter's upstream speaks OpenAI: its reply goes to the client unchanged, so it
    honours `encoding_format` itself. Otherwise the relay encodes base64 when the client asked for it.
    """

    passthrough: ClassVar[bool]

    def build_request(self, req: EmbeddingsRequest, target: Target) -> UpstreamRequest: ...

    def parse_response(self, body: bytes, req: EmbeddingsRequest, target: Target) -> EmbeddingsResponse: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


class CompletionsAdapter(Protocol):
    """Legacy completions, passthrough only: the upstream speaks OpenAI's `/completions`, and its reply
    (JSON or SSE) goes to the client unchanged."""

    def build_request(self, req: CompletionRequest, target: Target) -> UpstreamRequest: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


class ImagesAdapter(Protocol):
    """Image generation (`POST /v1/images/generations`) through one upstream wire format.

    A `passthrough` adapter's upstream speaks OpenAI: its reply goes to the client unchanged. Otherwise
    `parse_response` builds OpenAI's `ImagesResponse` from the upstream's reply. Adapters cannot fetch
    anything, so one whose upstream only returns URLs rejects `response_format: b64_json` with a 400.
    """

    passthrough: ClassVar[bool]

    def build_request(self, req: ImagesRequest, target: Target) -> UpstreamRequest: ...

    def parse_response(self, body: bytes, req: ImagesRequest, target: Target) -> ImagesResponse: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...
