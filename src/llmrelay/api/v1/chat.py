"""POST /v1/chat/completions: parse, relay, render JSON or an event stream."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import context, gateway_of, principal_of
from llmrelay.api.sse import EventStreamResponse
from llmrelay.errors import InvalidRequestError
from llmrelay.pipeline.auth import Authenticator
from llmrelay.pipeline.relay import JSONResult
from llmrelay.schemas.chat import ChatRequest

router = APIRouter()

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
    gateway = gateway_of(request)
    principal = principal_of(request)
    unverified = principal.kind == "unverified"
    if unverified and not gateway.router.has_passthrough:
        Authenticator.require_verified(principal)
    try:
        req = ChatRequest.parse(await request.body())
    except InvalidRequestError:
        if unverified:  # a caller we do not know learns nothing about the request
            Authenticator.require_verified(principal)
        raise
    ctx = context(request, principal)
    result = await gateway.relay.chat(ctx, req)
    if isinstance(result, JSONResult):
        return Response(result.body, media_type="application/json")
    return EventStreamResponse(result.frames)
