"""POST /v1/images/generations: parse, relay, render. `images` is the framework-free handler (see chat.py)."""

from __future__ import annotations

import functools
import time

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, admit, gateway_of, record_of
from llmrelay.pipeline.context import RequestContext, RequestRecord
from llmrelay.pipeline.relay import JSONResult
from llmrelay.schemas.images import ImagesRequest

router = APIRouter()


async def images(gateway: Gateway, authorization: str | None, body: bytes, record: RequestRecord) -> JSONResult:
    stamp = functools.partial(ImagesRequest.parse, created=int(time.time()))
    principal, req = await admit(gateway, authorization, stamp, body, record)
    return await gateway.relay.images(RequestContext(principal, record), req)


_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["prompt"],
    "additionalProperties": True,
    "properties": {
        "prompt": {"type": "string"},
        "model": {
            "type": "string",
            "description": "A model id from GET /v1/models; without one, OpenAI's default (dall-e-2, or "
            "gpt-image-1 when a GPT image parameter is present) is routed like any other id.",
        },
        "n": {"type": "integer", "minimum": 1},
        "size": {"type": "string"},
        "quality": {"type": "string"},
        "style": {"type": "string"},
        "response_format": {"type": "string", "enum": ["url", "b64_json"]},
        "provider": {"type": "string", "description": "Pin a configured provider (llmrelay's own field)."},
    },
}


@router.post(
    "/v1/images/generations",
    summary="Generate images (OpenAI-compatible; other fields are passed to the upstream or refused by name)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def create_images(request: Request) -> Response:
    body = await request.body()
    result = await images(gateway_of(request), request.headers.get("authorization"), body, record_of(request.scope))
    return Response(result.body, media_type="application/json")
