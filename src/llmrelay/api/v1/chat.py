"""POST /v1/chat/completions: parse, relay, render JSON or an event stream.

`chat` is the whole handler, free of any framework: the fast lane (api/fastlane.py) calls it straight
from ASGI, and the FastAPI route below (used for CORS requests, and for /docs) calls the same code.
"""

from __future__ import annotations

import functools
import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, admit, gateway_of, record_of
from llmrelay.api.sse import EventStreamResponse
from llmrelay.pipeline.context import RequestContext, RequestRecord
from llmrelay.pipeline.relay import JSONResult, StreamResult
from llmrelay.schemas.chat import ChatRequest

router = APIRouter()


async def chat(
    gateway: Gateway, authorization: str | None, body: bytes, record: RequestRecord
) -> JSONResult | StreamResult:
    stamp = functools.partial(ChatRequest.parse, created=int(time.time()), request_id=record.request_id)
    principal, req = await admit(gateway, authorization, stamp, body, record)
    return await gateway.relay.chat(RequestContext(principal, record), req)


_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["model", "messages"],
    "additionalProperties": True,
    "properties": {
        "model": {"type": "string", "description": "A model id from GET /v1/models."},
        "messages": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["role"]}},
        "stream": {"type": "boolean"},
        "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
        "provider": {"type": "string", "description": "Pin a configured provider (llmrelay's own field)."},
    },
}


@router.post(
    "/v1/chat/completions",
    summary="Create a chat completion (OpenAI-compatible; every other field is passed through)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def create_chat_completion(request: Request) -> Response:
    body = await request.body()
    result = await chat(gateway_of(request), request.headers.get("authorization"), body, record_of(request.scope))
    if isinstance(result, JSONResult):
        return Response(result.body, media_type="application/json")
    return EventStreamResponse(result.frames)
