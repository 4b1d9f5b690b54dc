"""The Responses API: `POST /v1/responses`, `GET` / `DELETE /v1/responses/{id}`,
`GET /v1/responses/{id}/input_items`. Parse, call pipeline/responses.py, render JSON or an event stream.

Creating a response needs what any inference call needs (`admit`: auth, budget, rate limits);
reading a stored one needs the `read` permission, deleting one `read-write`. Stored responses belong
to the key that made them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, admit, gateway_of, principal_of, record_of
from llmrelay.api.sse import EventStreamResponse
from llmrelay.dialects.responses import ResponsesRequest
from llmrelay.errors import InvalidRequestError
from llmrelay.pipeline.context import Permission, RequestContext
from llmrelay.pipeline.relay import JSONResult
from llmrelay.pipeline.responses import Responses

router = APIRouter()

_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["model"],
    "additionalProperties": True,
    "properties": {
        "model": {"type": "string", "description": "A model id from GET /v1/models."},
        "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]},
        "instructions": {"type": "string"},
        "previous_response_id": {"type": "string"},
        "store": {"type": "boolean", "default": True},
        "stream": {"type": "boolean"},
        "provider": {"type": "string", "description": "Pin a configured provider (llmrelay's own field)."},
    },
}


def _responses(gateway: Gateway) -> Responses:
    if gateway.responses is None:  # a Gateway built by hand without it (tests of other parts)
        raise InvalidRequestError("The Responses API is not enabled on this gateway.")
    return gateway.responses


async def _context(request: Request, permission: Permission) -> RequestContext:
    principal = await principal_of(request, permission)
    return RequestContext(principal, record_of(request.scope))


@router.post(
    "/v1/responses",
    summary="Create a model response (OpenAI's Responses API, on any model)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def create_response(request: Request) -> Response:
    gateway, record = gateway_of(request), record_of(request.scope)
    body = await request.body()
    principal, req = await admit(gateway, request.headers.get("authorization"), ResponsesRequest.parse, body, record)
    result = await _responses(gateway).create(RequestContext(principal, record), req)
    if isinstance(result, JSONResult):
        return Response(result.body, media_type="application/json")
    return EventStreamResponse(result.frames)


@router.get("/v1/responses/{response_id}", summary="Retrieve a stored model response")
async def retrieve_response(request: Request, response_id: str) -> Response:
    ctx = await _context(request, "read")
    body = await _responses(gateway_of(request)).retrieve(ctx, response_id)
    return Response(body, media_type="application/json")


@router.delete("/v1/responses/{response_id}", summary="Delete a stored model response")
async def delete_response(request: Request, response_id: str) -> Response:
    ctx = await _context(request, "read-write")
    body = await _responses(gateway_of(request)).delete(ctx, response_id)
    return Response(body, media_type="application/json")


@router.get("/v1/responses/{response_id}/input_items", summary="List the input items of a stored model response")
async def list_input_items(request: Request, response_id: str) -> Response:
    ctx = await _context(request, "read")
    query = {k: v for k, v in request.query_params.items() if k in ("limit", "order", "after")}
    body = await _responses(gateway_of(request)).input_items(ctx, response_id, query)
    return Response(body, media_type="application/json")
