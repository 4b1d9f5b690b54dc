"""GET /health: liveness plus what is configured (no URLs, no keys), whether the database answers, and
each model catalog's state; with `?probe=1`, a live check of each provider (api/probe.py).
GET /metrics: Prometheus text (observability/metrics.py)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay import __version__
from llmrelay.api.gateway import gateway_of
from llmrelay.api.probe import probe_all

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
    deployments = await gateway.relay.resilience.health()
    if deployments:
        body["deployments"] = deployments  # cooling deployments do not make the gateway unhealthy
    if request.query_params.get("probe") in ("1", "true"):
        body["probe"] = await probe_all(gateway)
    return Response(orjson.dumps(body), media_type="application/json")


# Unauthenticated, like /health (DESIGN §2): scrapers seldom carry the gateway's keys, and nothing here
# is secret: every label value is capped to the configured names (observability/labels.py), with no
# key, key id, client address or request id. Bind to a private address if the numbers themselves are.
@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    body, content_type = gateway_of(request).metrics.render(request.headers.get("accept", ""))
    return Response(body, headers={"content-type": content_type})
