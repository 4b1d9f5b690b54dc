"""Chat Completions through Anthropic's Messages API: the adapter the registry names `anthropic`.

`Target.base_url` is the official SDK's base URL (`https://api.anthropic.com`); the adapter
appends `/v1/messages`. Headers: `x-api-key`, `anthropic-version: 2023-06-01` (a provider `headers`
entry may set another version, or `anthropic-beta`), `content-type: application/json`.

    >>> AnthropicChat().build_request(req, target).url
    'https://api.anthropic.com/v1/messages'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, cast

import orjson

from llmrelay.errors import UpstreamError, UpstreamProtocolError
from llmrelay.providers.anthropic.errors import map_error
from llmrelay.providers.anthropic.request import build_body
from llmrelay.providers.anthropic.response import to_completion
from llmrelay.providers.anthropic.stream import AnthropicStream
from llmrelay.providers.anthropic.tools import json_mode
from llmrelay.providers.anthropic.wire import API_VERSION, Message
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.schemas.chat import ChatCompletion, ChatRequest


class AnthropicChat:
    passthrough: ClassVar[bool] = False

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        body = orjson.dumps(build_body(req, target))
        return UpstreamRequest("POST", f"{target.base_url}/v1/messages", headers(target), body)

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        try:
            reply = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("The upstream answered with a body that is not JSON.") from None
        if not isinstance(reply, dict) or reply.get("type") != "message" or not isinstance(reply.get("content"), list):
            raise UpstreamProtocolError("The upstream answered with JSON that is not an Anthropic message.")
        try:
            return to_completion(cast(Message, reply), req, json_mode=json_mode(req.body))
        except (KeyError, TypeError, AttributeError):
            raise UpstreamProtocolError("The upstream answered with a malformed Anthropic message.") from None

    def open_stream(self, req: ChatRequest, target: Target) -> AnthropicStream:
        return AnthropicStream(req, json_mode=json_mode(req.body))

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_error(status, headers, body)


def models_probe(target: Target) -> UpstreamRequest:
    """`GET /v1/models?limit=1`: authenticated and free, for /health?probe=1."""
    return UpstreamRequest("GET", f"{target.base_url}/v1/models?limit=1", headers(target), b"")


def headers(target: Target) -> dict[str, str]:
    """JSON content type, `anthropic-version`, the provider's headers (lower-cased, so they override), the key."""
    out = {"content-type": "application/json", "anthropic-version": API_VERSION}
    out.update({name.lower(): value for name, value in target.headers.items()})
    if target.api_key:
        out["x-api-key"] = target.api_key
    return out
