"""Chat Completions through the native Gemini API: the `ChatAdapter` that ties request, reply, stream
and error translation together (reference §3; the field-by-field table is in `request`).

    >>> target = Target(provider="g", base_url="https://generativelanguage.googleapis.com", model="gemini-2.5-flash")
    >>> GeminiChat().build_request(req, target).url
    'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import orjson

from llmrelay.errors import UpstreamError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.gemini.errors import map_error
from llmrelay.providers.gemini.request import request_body
from llmrelay.providers.gemini.response import completion_of, decode
from llmrelay.providers.gemini.stream import GeminiStream
from llmrelay.providers.gemini.wire import api_headers, resource_name
from llmrelay.schemas.chat import ChatCompletion, ChatRequest


class GeminiChat:
    passthrough: ClassVar[bool] = False

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        body = orjson.dumps(request_body(req.body))
        method = "streamGenerateContent?alt=sse" if req.stream else "generateContent"
        url = f"{target.base_url}/v1beta/{resource_name(target.model)}:{method}"
        return UpstreamRequest("POST", url, api_headers(target.api_key, dict(target.headers)), body)

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        return completion_of(decode(body), req, target.model)

    def open_stream(self, req: ChatRequest, target: Target) -> GeminiStream:
        return GeminiStream(req, target.model)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_error(status, headers, body)
