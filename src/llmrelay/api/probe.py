"""`GET /health?probe=1`: a cheap live check of every provider, all at once, each bounded in time.

What a check is belongs to the provider type (`ProviderSpec.probe` in the registry: `GET /models`
for OpenAI-compatible servers, `GET /v1/models` for Anthropic); a type without one reports its
upstream's state (the local model: loaded or not) with `ok: null`, and a catalog reports how its
list fetches are going. A result never holds a URL, a key or an upstream's message (which may
quote either): only ok, the latency, and the error's status and code.

    >>> await probe_all(gateway)
    {'up': {'ok': True, 'latency_ms': 3.1}, 'down': {'ok': False, 'latency_ms': 0.8, 'status': 502, 'error': 'upstream_unreachable'}}
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from llmrelay.errors import RelayError
from llmrelay.transport.attempt import ErrorMapper

if TYPE_CHECKING:
    from llmrelay.api.gateway import Gateway
    from llmrelay.providers.registry import ProviderSpec
    from llmrelay.transport.catalog import Catalog

PROBE_SECONDS = 5.0
Result = dict[str, object]


async def probe_all(gateway: Gateway, seconds: float = PROBE_SECONDS) -> dict[str, Result]:
    """Every configured provider's check, concurrently; catalogs from their list's state."""
    names = list(gateway.router.describe())
    results = await asyncio.gather(*(_probe(gateway, name, seconds) for name in names))
    out = dict(zip(names, results, strict=True))
    out.update((catalog.name, _catalog(catalog)) for catalog in gateway.catalogs)
    return out


async def _probe(gateway: Gateway, name: str, seconds: float) -> Result:
    # A pinned plan for no model gives the provider's own target: its base URL, key and headers.
    deployment = gateway.router.plan("", name).first
    spec = deployment.spec
    upstream = gateway.pool.session(name)
    if spec.probe is None:
        return {"ok": None, "check": "none for this provider type", **upstream.status()}
    mapper = _error_mapper(spec)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            await upstream.send(mapper, spec.probe(deployment.target))
    except RelayError as exc:
        return {"ok": False, "latency_ms": _ms(started), "status": exc.status_code, "error": exc.code or exc.error_type}
    except TimeoutError:
        return {"ok": False, "latency_ms": _ms(started), "status": 504, "error": "probe_timeout"}
    return {"ok": True, "latency_ms": _ms(started)}


def _catalog(catalog: Catalog) -> Result:
    status = catalog.status()
    return {"ok": status["state"] == "ok", "state": status["state"], "last_error": status["last_error"]}


def _error_mapper(spec: ProviderSpec) -> ErrorMapper:
    """Any of the type's adapters maps its error bodies; a spec with a probe has at least one."""
    adapters: tuple[ErrorMapper | None, ...] = (spec.chat, spec.embeddings, spec.completions, spec.images)
    return next(adapter for adapter in adapters if adapter is not None)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
