"""Chat Completions to an OpenAI-compatible upstream: only the model id changes on the way out.

The request body is forwarded as the client sent it, byte for byte, with just the `model` value
rewritten in place (and llmrelay's own `provider` field removed). Responses need no translation, so
the relay streams them through; `parse_response` and `open_stream` exist for callers that want
objects (e.g. runs executed by the gateway itself).

    >>> OpenAIChat().build_request(req, target).body     # b'{"model":"gpt-4o-mini-2024-07-18", ...}'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, cast

import orjson

from llmrelay.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.common import retry_headers
from llmrelay.schemas.chat import ChatCompletion, ChatCompletionChunk, ChatRequest, Usage
from llmrelay.schemas.sse import SSEEvent

_GATEWAY_FIELDS = ("provider",)
"""Body fields that are llmrelay's own and never go upstream."""


class OpenAIChat:
    passthrough: ClassVar[bool] = True

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        headers = bearer_headers(target)
        if req.stream:
            headers["accept"] = "text/event-stream"
        body = rewrite_model(req.raw, req.body, req.model, target.model)
        return UpstreamRequest("POST", f"{target.base_url}/chat/completions", headers, body)

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("The upstream answered with a body that is not JSON.") from None
        if not isinstance(parsed, dict) or "choices" not in parsed:
            raise UpstreamProtocolError("The upstream answered with JSON that is not a chat completion.")
        return cast(ChatCompletion, parsed)

    def open_stream(self, req: ChatRequest, target: Target) -> OpenAIStream:
        return OpenAIStream()

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_openai_error(status, headers, body)


class OpenAIStream:
    """OpenAI chunks are already what we emit: parse them; the usage-only chunk becomes `usage`."""

    def __init__(self) -> None:
        self._usage: Usage | None = None

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]:
        if event.data == "[DONE]" or not event.data:
            return []
        try:
            chunk = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("The upstream sent a stream event that is not JSON.") from None
        if not isinstance(chunk, dict):
            raise UpstreamProtocolError("The upstream sent a stream event that is not a JSON object.")
        if "error" in chunk:
            raise map_openai_error(500, {}, event.data.encode())
        usage = chunk.pop("usage", None)
        if usage:
            self._usage = usage
        if not chunk.get("choices"):
            return []
        return [cast(ChatCompletionChunk, chunk)]

    def close(self) -> list[ChatCompletionChunk]:
        return []

    @property
    def usage(self) -> Usage | None:
        return self._usage


def models_probe(target: Target) -> UpstreamRequest:
    """`GET /models`: the cheapest authenticated call an OpenAI-compatible server answers (/health?probe=1)."""
    return UpstreamRequest("GET", f"{target.base_url}/models", bearer_headers(target), b"")


def bearer_headers(target: Target) -> dict[str, str]:
    """JSON content type, the provider's extra headers, and `Authorization: Bearer <key>` if it has one."""
    headers = {"content-type": "application/json", **target.headers}
    if target.api_key:
        headers["authorization"] = f"Bearer {target.api_key}"
    return headers


def rewrite_model(raw: bytes, body: Mapping[str, object], old: str, model: str) -> bytes:
    """The request body with `model` set to `model`, keeping every other byte where it can.

    The value is spliced in place when the top-level `"model": "<old>"` pair is the only one in the
    body; otherwise (a nested "model" key, an escaped spelling, a gateway field to drop) the body is
    re-encoded with orjson, which keeps every field and value but may change whitespace and escapes.
    """
    if any(name in body for name in _GATEWAY_FIELDS):
        out = {k: v for k, v in body.items() if k not in _GATEWAY_FIELDS}
        out["model"] = model
        return orjson.dumps(out)
    if old == model:
        return raw
    at = raw.find(b'"model"')
    if at >= 0 and raw.find(b'"model"', at + 7) < 0:
        value = _value_start(raw, at + 7)
        encoded_old = orjson.dumps(old)
        if value >= 0 and raw.startswith(encoded_old, value):
            return raw[:value] + orjson.dumps(model) + raw[value + len(encoded_old) :]
    return orjson.dumps({**body, "model": model})


def _value_start(raw: bytes, at: int) -> int:
    """Where the value after a key ends at `at` starts (past whitespace and the colon), or -1."""
    length = len(raw)
    while at < length and raw[at] in b" \t\r\n":
        at += 1
    if at >= length or raw[at] != ord(":"):
        return -1
    at += 1
    while at < length and raw[at] in b" \t\r\n":
        at += 1
    return at


def map_openai_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    """An OpenAI-style error body (or anything else) to an UpstreamStatusError with the same status."""
    kept = retry_headers(headers)
    message, error_type, param, code = _read_error(body, status)
    return UpstreamStatusError(status, message, error_type=error_type, param=param, code=code, headers=kept, raw=body)


def _read_error(body: bytes, status: int) -> tuple[str, str | None, str | None, str | None]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        return (
            str(message) if message else f"The upstream answered HTTP {status}.",
            _str_or_none(error.get("type")),
            _str_or_none(error.get("param")),
            _str_or_none(error.get("code")),
        )
    if isinstance(error, str):
        return error, None, None, None
    text = body[:200].decode("utf-8", "replace").strip()
    suffix = f": {text}" if text else "."
    return f"The upstream answered HTTP {status}{suffix}", None, None, None


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    return str(value)
