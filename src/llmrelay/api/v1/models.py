"""GET /v1/models and /v1/models/{id}: what this gateway serves, in OpenAI's list shape."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import gateway_of, principal_of
from llmrelay.pipeline.routing import ModelEntry

router = APIRouter()
_STARTED = int(time.time())


def _model_object(entry: ModelEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "object": "model",
        "created": _STARTED,
        "owned_by": entry.owned_by,
        "capabilities": dict(entry.capabilities),
    }


@router.get("/v1/models", summary="List the models this gateway serves")
async def list_models(request: Request) -> Response:
    await principal_of(request, "read")
    data = [_model_object(entry) for entry in gateway_of(request).router.models()]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


@router.get("/v1/models/{model_id:path}", summary="Retrieve one model (ids may contain '/')")
async def retrieve_model(model_id: str, request: Request) -> Response:
    await principal_of(request, "read")
    entry = gateway_of(request).router.model(model_id)
    return Response(orjson.dumps(_model_object(entry)), media_type="application/json")
