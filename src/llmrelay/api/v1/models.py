"""GET /v1/models and /v1/models/{id}: what this gateway serves, in OpenAI's list shape."""

from __future__ import annotations

import time
from fnmatch import fnmatchcase

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import gateway_of, principal_of
from llmrelay.errors import ModelNotFoundError
from llmrelay.pipeline.context import Principal
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


def _visible(principal: Principal, model_id: str) -> bool:
    """A key with a model allowlist sees only the models it may use (as OpenAI lists a project's)."""
    patterns = principal.key.models if principal.key is not None else ()
    return not patterns or any(fnmatchcase(model_id, pattern) for pattern in patterns)


@router.get("/v1/models", summary="List the models this gateway serves (those the caller's key may use)")
async def list_models(request: Request) -> Response:
    principal = await principal_of(request, "read")
    entries = gateway_of(request).router.models()
    data = [_model_object(entry) for entry in entries if _visible(principal, entry.id)]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


@router.get("/v1/models/{model_id:path}", summary="Retrieve one model (ids may contain '/')")
async def retrieve_model(model_id: str, request: Request) -> Response:
    principal = await principal_of(request, "read")
    entry = gateway_of(request).router.model(model_id)
    if not _visible(principal, entry.id):
        raise ModelNotFoundError(f"The model '{model_id}' does not exist.", param="model")
    return Response(orjson.dumps(_model_object(entry)), media_type="application/json")
