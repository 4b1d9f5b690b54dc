"""create_app(config) → the ASGI app: routes, middleware and lifespan. Wiring only.

>>> app = create_app(load("llmrelay.yaml"))
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from llmrelay import __version__
from llmrelay.api import errors, routes
from llmrelay.api.edge import EdgeMiddleware
from llmrelay.api.fastlane import FastLane
from llmrelay.api.gateway import Gateway
from llmrelay.config.load import handoff_path, load
from llmrelay.config.model import Config
from llmrelay.observability.logging import configure, get_logger
from llmrelay.providers.registry import PROVIDERS, ProviderSpec


def create_app(config: Config, registry: Mapping[str, ProviderSpec] = PROVIDERS) -> ASGIApp:
    """The gateway's ASGI app; `registry` replaces the provider table (tests plug adapters in).

    Layers, outermost first: EdgeMiddleware (request id, size limit, access log) → FastLane (hot
    routes straight from ASGI) → FastAPI (every other route, /docs, CORS).
    """
    gateway = Gateway.build(config, registry)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        _log_startup(gateway)
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(title="llmrelay", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.gateway = gateway
    routes.include(app)
    errors.install(app)
    if config.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.server.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-request-id"],
        )
    return EdgeMiddleware(
        FastLane(app, gateway),
        max_body=config.server.max_request_bytes,
        cost=gateway.accounting.cost,
        usage=gateway.usage.submit if gateway.usage else None,
        metrics=gateway.metrics,
        tracing=gateway.tracing,
    )


def factory() -> ASGIApp:
    """Entry point for uvicorn worker processes: config from the CLI's hand-off (see cli.py)."""
    config = load(handoff_path())
    configure(config.log_level)
    tune_gc()
    return create_app(config)


GC_YOUNG_THRESHOLD = 10_000
"""Net container allocations between young-generation collections (CPython's default: 700). What a
collection scans is what is still alive, which a request's objects mostly are not by then: under wrk
at c=16 the default made ~1,500 collections (0.75 s of CPU, ~45 µs a request) where this makes 26
(0.18 s). Cycles wait a little longer to be freed; resident memory stays flat (bench/, 2026-11-22)."""


def tune_gc() -> None:
    """For a serving process (`llmrelay serve`, each worker), not for a library user's."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _log_startup(gateway: Gateway) -> None:
    log = get_logger()
    described = gateway.router.describe()
    log.info(
        "started",
        config=gateway.config.source,
        auth="open (no master key: anyone who can reach this port may call it)"
        if gateway.auth.open_mode
        else "master_key",
        providers=described,
        models=[m.id for m in gateway.router.models()],
    )
    for name, problem in gateway.router.skipped.items():
        log.warning("provider_skipped", provider=name, problem=problem)
    if not described:
        log.warning(
            "no_providers",
            hint="No provider is configured: set OPENAI_API_KEY (or another provider's key) or write llmrelay.yaml.",
        )
