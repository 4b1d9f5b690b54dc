"""Chat Completions through Cohere's Chat API v2 (`POST {base_url}/v2/chat`; base URL as in cohere-python).

    >>> CohereChat().build_request(req, target).url
    'https://api.cohere.com/v2/chat'

The request is built by `request.py`, replies are read by `response.py`, streams by `stream.py`
and error statuses by `errors.py`. Auth is `Authorization: Bearer <key>` (docs.cohere.com).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import orjson

from llmrelay.errors import UpstreamError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.cohere.errors import map_cohere_error
from llmrelay.providers.cohere.request import chat_body
from llmrelay.providers.cohere.response import parse_chat
from llmrelay.providers.cohere.stream import CohereStream
from llmrelay.schemas.chat import ChatCompletion, ChatRequest


class CohereChat:
    """The chat adapter: `ProviderSpec(default_base_url="https://api.cohere.com", chat=CohereChat())`."""

    passthrough: ClassVar[bool] = False

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        headers = cohere_headers(target)
        if req.stream:
            headers["accept"] = "text/event-stream"
        body = orjson.dumps(chat_body(req, target.model))
        return UpstreamRequest("POST", f"{target.base_url}/v2/chat", headers, body)

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        return parse_chat(body, req, target)

    def open_stream(self, req: ChatRequest, target: Target) -> CohereStream:
        return CohereStream(req, target.model)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_cohere_error(status, headers, body)


def cohere_headers(target: Target) -> dict[str, str]:
    """JSON content type, the provider's extra headers, and `Authorization: Bearer <key>` if it has one."""
    headers = {"content-type": "application/json", **target.headers}
    if target.api_key:
        headers["authorization"] = f"Bearer {target.api_key}"
    return headers
