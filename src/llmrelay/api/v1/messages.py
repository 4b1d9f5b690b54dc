"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages API, for Anthropic-SDK
clients (coding agents among them) pointed at llmrelay, on any model it serves (pipeline/messages.py).

Auth: `x-api-key: KEY` (what the SDK's `api_key` sends) or `Authorization: Bearer KEY` (its
`auth_token`), the same keys as every route (master key, virtual keys, open mode; a passthrough
provider gets the client's key). `anthropic-version` and `anthropic-beta` are accepted, and forwarded
to Anthropic upstreams. Every error on these routes is in Anthropic's envelope with its status and a
`request-id` header, so the SDK raises its own exception classes (dialects/anthropic_errors.py).
"""

from __future__ import annotations

import functools
import time

import orjson
from fastapi import APIRouter, Request
from starlette.datastructures import Headers
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, admit, caller, gateway_of, record_of
from llmrelay.api.sse import EventStreamResponse
from llmrelay.dialects.anthropic_errors import error_body
from llmrelay.errors import RelayError
from llmrelay.pipeline.context import RequestContext, RequestRecord
from llmrelay.pipeline.messages import MessagesRequest, count_tokens, create_message
from llmrelay.pipeline.relay import JSONResult, StreamResult
from llmrelay.providers.anthropic.inbound import FORWARDED_HEADERS

router = APIRouter()


def authorization(headers: Headers) -> str | None:
    """The caller's key as the gateway's auth reads it: `x-api-key` first, else the Authorization header."""
    key = headers.get("x-api-key")
    return f"Bearer {key}" if key else headers.get("authorization")


def forwarded(headers: Headers) -> dict[str, str]:
    return {name: headers[name] for name in FORWARDED_HEADERS if name in headers}


def anthropic_error(error: RelayError, request_id: str) -> Response:
    headers = {**error.headers, "request-id": request_id}
    body = orjson.dumps(error_body(error, request_id))
    return Response(body, status_code=error.status_code, headers=headers, media_type="application/json")


async def messages(gateway: Gateway, headers: Headers, body: bytes, record: RequestRecord) -> JSONResult | StreamResult:
    parse = functools.partial(MessagesRequest.parse_messages, created=int(time.time()), request_id=record.request_id)
    principal, req = await admit(gateway, authorization(headers), parse, body, record)
    return await create_message(gateway.relay, RequestContext(principal, record), req, forwarded(headers))


async def tokens(gateway: Gateway, headers: Headers, body: bytes, record: RequestRecord) -> JSONResult:
    """Counting costs nothing upstream, so it needs only a known caller ('read'), not a budget or a rate."""
    principal = await caller(gateway, authorization(headers), record, "read")
    parse = functools.partial(MessagesRequest.parse_messages, count=True, request_id=record.request_id)
    req = gateway.auth.parse_for(principal, parse, body)
    return await count_tokens(gateway.relay, RequestContext(principal, record), req, forwarded(headers))


_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["model", "max_tokens", "messages"],
    "additionalProperties": True,
    "properties": {
        "model": {"type": "string", "description": "A model id from GET /v1/models (any provider)."},
        "max_tokens": {"type": "integer", "minimum": 1},
        "messages": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["role", "content"]}},
        "system": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
        "stream": {"type": "boolean"},
        "provider": {"type": "string", "description": "Pin a configured provider (llmrelay's own field)."},
    },
}


@router.post(
    "/v1/messages",
    summary="Create a message (Anthropic's Messages API, on any model)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def create_message_route(request: Request) -> Response:
    record = record_of(request.scope)
    try:
        result = await messages(gateway_of(request), request.headers, await request.body(), record)
    except RelayError as error:
        return anthropic_error(error, record.request_id)
    if isinstance(result, JSONResult):
        return Response(result.body, media_type="application/json", headers={"request-id": record.request_id})
    return EventStreamResponse(result.frames, headers=[(b"request-id", record.request_id.encode())])


@router.post("/v1/messages/count_tokens", summary="Count the input tokens of a Messages request")
async def count_tokens_route(request: Request) -> Response:
    record = record_of(request.scope)
    try:
        result = await tokens(gateway_of(request), request.headers, await request.body(), record)
    except RelayError as error:
        return anthropic_error(error, record.request_id)
    return Response(result.body, media_type="application/json", headers={"request-id": record.request_id})
