"""GET /health: liveness plus what is configured (no URLs, no keys), whether the database answers, and
each model catalog's state."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay import __version__
from llmrelay.api.gateway import gateway_of

router = APIRouter()


@router.get("/health", summary="Liveness and configuration summary")
async def health(request: Request) -> Response:
    gateway = gateway_of(request)
    body: dict[str, object] = {
        "status": "ok",
        "version": __version__,
        "config": gateway.config.source,
        "auth": gateway.auth.mode,
        "providers": gateway.router.describe(),
        "skipped_providers": gateway.router.skipped,
        "models": len(gateway.router.models()),
    }
    if gateway.keys is not None:
        body["storage"] = await gateway.keys.probe()
    if gateway.catalogs:
        body["catalogs"] = {catalog.name: catalog.status() for catalog in gateway.catalogs}
    upstreams = {name: dict(status) for name, u in gateway.pool.upstreams().items() if (status := u.status())}
    if upstreams:
        body["upstreams"] = upstreams
    return Response(orjson.dumps(body), media_type="application/json")
