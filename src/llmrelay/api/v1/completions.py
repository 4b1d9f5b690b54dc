"""POST /v1/completions (legacy): parse, relay, render. `completions` is the framework-free handler."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, admit, gateway_of, record_of
from llmrelay.api.sse import EventStreamResponse
from llmrelay.pipeline.context import RequestContext, RequestRecord
from llmrelay.pipeline.relay import JSONResult, StreamResult
from llmrelay.schemas.completions import CompletionRequest

router = APIRouter()


async def completions(
    gateway: Gateway, authorization: str | None, body: bytes, record: RequestRecord
) -> JSONResult | StreamResult:
    principal, req = await admit(gateway, authorization, CompletionRequest.parse, body, record)
    return await gateway.relay.completions(RequestContext(principal, record), req)


_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["model", "prompt"],
    "additionalProperties": True,
    "properties": {
        "model": {"type": "string"},
        "prompt": {"description": "A string, an array of strings, or token arrays."},
        "stream": {"type": "boolean"},
    },
}


@router.post(
    "/v1/completions",
    summary="Create a (legacy) text completion",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def create_completion(request: Request) -> Response:
    body = await request.body()
    result = await completions(
        gateway_of(request), request.headers.get("authorization"), body, record_of(request.scope)
    )
    if isinstance(result, JSONResult):
        return Response(result.body, media_type="application/json")
    return EventStreamResponse(result.frames)
