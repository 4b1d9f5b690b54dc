"""The BITO chat adapter: request, response, stream and errors wired to the ChatAdapter seam.

BITO only streams, so `build_request` always asks for a stream and `parse_response` reads the whole
streamed body (the relay's non-stream path hands it every byte) into one completion.

    >>> BitoChat().build_request(req, target).url
    'https://bitoai.bito.ai/ai/v2/chat/'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import orjson

from llmrelay.errors import UpstreamError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.bito.errors import map_bito_error
from llmrelay.providers.bito.request import CHAT_PATH, bito_body, bito_headers
from llmrelay.providers.bito.response import BitoStream, parse_whole
from llmrelay.schemas.chat import ChatCompletion, ChatRequest


class BitoChat:
    passthrough: ClassVar[bool] = False
    stream_framing: ClassVar[str] = "lines"
    """BITO writes one JSON object per line, `data:` optional and blank lines often missing (reference §6)."""

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        body = orjson.dumps(bito_body(req, target))
        return UpstreamRequest("POST", f"{target.base_url}{CHAT_PATH}", bito_headers(target), body)

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        return parse_whole(body, req, target.model)

    def open_stream(self, req: ChatRequest, target: Target) -> BitoStream:
        return BitoStream(req, target.model)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_bito_error(status, headers, body)
