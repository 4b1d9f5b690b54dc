"""Chat Completions through Cloudflare Workers AI: the `/ai/run/{model}` envelope, or the OpenAI-compatible
endpoint for a `v1/` model id (`route.py`).

Both ways the reply is parsed and re-encoded, never relayed as bytes: the run envelope needs
translating, and the compat endpoint's replies need normalising (`response.py`, `stream.py`).

    >>> WorkersAIChat().build_request(req, target).url
    'https://api.cloudflare.com/client/v4/accounts/0123abcd/ai/run/@cf/meta/llama-3.1-8b-instruct'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import orjson

from llmrelay.errors import UpstreamError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.openai.chat import bearer_headers, rewrite_model
from llmrelay.providers.workers_ai.errors import loads, map_error, unwrap
from llmrelay.providers.workers_ai.request import run_body
from llmrelay.providers.workers_ai.response import completion_from
from llmrelay.providers.workers_ai.route import route
from llmrelay.providers.workers_ai.stream import WorkersAIStream
from llmrelay.schemas.chat import ChatCompletion, ChatRequest


class WorkersAIChat:
    passthrough: ClassVar[bool] = False

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        where = route(target, "chat")
        headers = bearer_headers(target)
        if req.stream:
            headers["accept"] = "text/event-stream"
        body = rewrite_model(req.raw, req.body, req.model, where.model) if where.openai else orjson.dumps(run_body(req))
        return UpstreamRequest("POST", where.url, headers, body)

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        return completion_from(unwrap(loads(body), body), req, route(target, "chat").model)

    def open_stream(self, req: ChatRequest, target: Target) -> WorkersAIStream:
        return WorkersAIStream(req, route(target, "chat").model)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_error(status, headers, body)
