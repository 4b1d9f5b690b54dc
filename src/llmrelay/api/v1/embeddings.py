"""POST /v1/embeddings: parse, relay, render. `embeddings` is the framework-free handler (see chat.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, admit, gateway_of, record_of
from llmrelay.pipeline.context import RequestContext, RequestRecord
from llmrelay.pipeline.relay import JSONResult
from llmrelay.schemas.embeddings import EmbeddingsRequest

router = APIRouter()


async def embeddings(gateway: Gateway, authorization: str | None, body: bytes, record: RequestRecord) -> JSONResult:
    principal, req = await admit(gateway, authorization, EmbeddingsRequest.parse, body, record)
    return await gateway.relay.embeddings(RequestContext(principal, record), req)


_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["model", "input"],
    "additionalProperties": True,
    "properties": {
        "model": {"type": "string"},
        "input": {"description": "A string, an array of strings, or token arrays."},
        "encoding_format": {"type": "string", "enum": ["float", "base64"]},
        "dimensions": {"type": "integer", "minimum": 1},
    },
}


@router.post(
    "/v1/embeddings",
    summary="Create embeddings (OpenAI-compatible)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def create_embeddings(request: Request) -> Response:
    body = await request.body()
    result = await embeddings(gateway_of(request), request.headers.get("authorization"), body, record_of(request.scope))
    return Response(result.body, media_type="application/json")
