"""The objects a request handler needs, built once at start-up and reached through `app.state`.

>>> gateway = Gateway.build(config); await gateway.start(); ...; await gateway.stop()
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request
from starlette.types import Scope

from llmrelay.accounting import prices
from llmrelay.api.edge import RECORD_KEY
from llmrelay.config.model import Config
from llmrelay.pipeline.accounting import Accounting
from llmrelay.pipeline.auth import Authenticator
from llmrelay.pipeline.context import Principal, RequestRecord
from llmrelay.pipeline.relay import Relay
from llmrelay.pipeline.routing import Router
from llmrelay.providers.registry import PROVIDERS, ProviderSpec
from llmrelay.transport.catalog import Catalog, catalogs_from_config
from llmrelay.transport.pool import Pool

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Gateway:
    config: Config
    router: Router
    pool: Pool
    auth: Authenticator
    relay: Relay
    accounting: Accounting
    catalogs: tuple[Catalog, ...] = ()

    @classmethod
    def build(cls, config: Config, registry: Mapping[str, ProviderSpec] = PROVIDERS) -> Gateway:
        catalogs = catalogs_from_config(config)
        router = Router(config, registry, catalogs)
        pool = Pool({**router.upstream_specs(), **{c.name: c.upstream_spec() for c in catalogs}})
        master = config.auth.master_key.get_secret_value() if config.auth.master_key else None
        auth = Authenticator(master or None)
        accounting = Accounting({name: p.type for name, p in config.providers.items()}, catalogs)
        return cls(config, router, pool, auth, Relay(router, pool, auth), accounting, catalogs)

    async def start(self) -> None:
        await self.pool.open()
        # Each waits (bounded) for its first fetch; one that fails keeps retrying in the background.
        await asyncio.gather(*(catalog.start() for catalog in self.catalogs))
        loop = asyncio.get_running_loop()
        # genai-prices costs ~0.1 s to import: load it beside the event loop, not on a request. Then
        # freeze what start-up allocated (framework, tables, price data): the collector stops
        # re-scanning those objects, which otherwise made gen-2 pauses of tens of ms under load.
        loop.run_in_executor(None, prices.preload).add_done_callback(lambda _: loop.call_soon_threadsafe(gc.freeze))

    async def stop(self) -> None:
        for catalog in self.catalogs:
            await catalog.stop()
        await self.pool.close()


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def record_of(scope: Scope) -> RequestRecord:
    record = scope.get(RECORD_KEY)
    if record is None:  # the edge middleware always sets it; this keeps handlers usable without it
        record = scope[RECORD_KEY] = RequestRecord("req_direct")
    return record


def principal_of(request: Request) -> Principal:
    return gateway_of(request).auth.authenticate(request.headers.get("authorization"))


def admit(gateway: Gateway, authorization: str | None, parse: Callable[[bytes], T], body: bytes) -> tuple[Principal, T]:
    """Authenticate, then parse the body: an unknown token gets 401 before any detail of a bad body."""
    principal = gateway.auth.authenticate(authorization)
    gateway.auth.require_verified_unless(principal, gateway.router.has_passthrough)
    return principal, gateway.auth.parse_for(principal, parse, body)
