"""The objects a request handler needs, built once at start-up and reached through `app.state`.

>>> gateway = Gateway.build(config); await gateway.start(); ...; await gateway.stop()
"""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from starlette.requests import Request
from starlette.types import Scope

from llmrelay.accounting import prices
from llmrelay.api.edge import RECORD_KEY
from llmrelay.api.observed import build_metrics
from llmrelay.config.model import Config
from llmrelay.errors import InsufficientQuotaError, LimitsUnavailableError
from llmrelay.observability.logging import flush_hot
from llmrelay.observability.metrics import Metrics
from llmrelay.observability.tracing import Tracing, build_tracing
from llmrelay.pipeline.accounting import Accounting
from llmrelay.pipeline.auth import Authenticator
from llmrelay.pipeline.balancing import LoadStats, make_strategy
from llmrelay.pipeline.context import Permission, Principal, RequestRecord
from llmrelay.pipeline.keys import Budgets, KeyCache, StorageHealth
from llmrelay.pipeline.limits import Limiter, LimitRefusal, reservation
from llmrelay.pipeline.relay import Relay
from llmrelay.pipeline.resilience import Resilience
from llmrelay.pipeline.responses import Responses
from llmrelay.pipeline.routing import Router
from llmrelay.pipeline.runs import Runner
from llmrelay.pipeline.usage import UsageWriter
from llmrelay.providers.registry import PROVIDERS, ProviderSpec
from llmrelay.storage.db import Database
from llmrelay.storage.files import FileStore
from llmrelay.storage.keys import KeyStore
from llmrelay.storage.threads import ThreadStore
from llmrelay.storage.usage import UsageStore
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
    database: Database | None = None
    usage: UsageWriter | None = None
    keys: KeyCache | None = None
    budgets: Budgets | None = None
    storage: StorageHealth | None = None
    limits: Limiter | None = None
    metrics: Metrics = field(kw_only=True)
    """The process's metrics: the edge counts requests; the relay calls `inc_retry`, `inc_fallback`,
    `inc_cooldown`; `admit` counts its refusals. Closed in `stop`."""
    tracing: Tracing | None = field(default=None, kw_only=True)
    """The OpenTelemetry tracer when `telemetry.otlp_endpoint` is set: the edge emits a request's
    spans at its end; `stop` flushes them."""
    responses: Responses | None = field(default=None, kw_only=True)
    """`/v1/responses`: passed through to upstreams with the Responses API, else translated; stored responses."""
    files: FileStore | None = field(default=None, kw_only=True)
    """/v1/files: rows in `database`, contents in the configured content store (storage/files.py)."""
    threads: ThreadStore | None = field(default=None, kw_only=True)
    """Assistants, threads, messages, runs and run steps in `database` (storage/assistants.py, threads.py)."""
    runner: Runner | None = field(default=None, kw_only=True)
    """Executes runs in the background; `start` settles runs a previous process left, `stop` ends them."""

    @classmethod
    def build(cls, config: Config, registry: Mapping[str, ProviderSpec] = PROVIDERS) -> Gateway:
        tracer = build_tracing(config)  # first: a missing `otel` extra fails before anything is built
        catalogs = catalogs_from_config(config)
        stats = LoadStats()
        router = Router(config, registry, catalogs, make_strategy(config.routing_strategy, stats))
        pool = Pool({**router.upstream_specs(), **{c.name: c.upstream_spec() for c in catalogs}})
        accounting = Accounting.from_config(config, catalogs)
        database = Database(config.database)
        usage = UsageWriter(UsageStore(database.engine))
        storage = StorageHealth()
        key_store, ttl = KeyStore(database.engine), config.auth.key_cache_ttl
        keys, budgets = KeyCache(key_store, storage, ttl=ttl), Budgets(key_store, storage, ttl=ttl)
        auth = _authenticator(config, keys)
        metrics = build_metrics(config, router, catalogs)
        resilience = Resilience.from_config(config, stats, events=metrics)
        relay = Relay(router, pool, auth, resilience)
        return cls(
            config, router, pool, auth, relay, accounting, catalogs, database, usage,
            keys=keys, budgets=budgets, storage=storage, limits=Limiter.from_config(config), metrics=metrics,
            tracing=tracer, responses=Responses.from_config(config, relay, database.engine),
            files=FileStore.from_config(config, database.engine),
            threads=(threads := ThreadStore(database.engine)),
            runner=Runner(threads, relay, usage=usage, cost=accounting.cost, keys=key_store,
                          grace=config.server.shutdown_timeout),
        )  # fmt: skip

    async def start(self) -> None:
        if self.database is not None:
            await self.database.upgrade()
        if self.files is not None:
            await self.files.start()
        if self.keys is not None:
            await self.keys.any_active()  # open mode needs to know whether keys exist, before any request
        if self.usage is not None:
            await self.usage.start()
        if self.limits is not None:
            await self.limits.start()  # loads the Redis scripts (later, if Redis is down now)
        await self.pool.open()
        if self.runner is not None:
            await self.runner.start()  # after the pool and usage writer: resumed runs call models
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
        if self.runner is not None:
            await self.runner.stop()  # before the pool: running runs finish or are marked failed
        await self.pool.close()
        if self.usage is not None:
            await self.usage.stop()  # after the pool: every request, streams included, has ended
        if self.files is not None:
            await self.files.close()
        if self.database is not None:
            await self.database.close()
        if self.limits is not None:
            await self.limits.stop()
        await self.relay.resilience.close()
        self.metrics.close()
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)  # after every request: their spans are queued
        flush_hot()  # the access lines still waiting to be written together


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def record_of(scope: Scope) -> RequestRecord:
    record = scope.get(RECORD_KEY)
    if record is None:  # the edge middleware always sets it; this keeps handlers usable without it
        record = scope[RECORD_KEY] = RequestRecord("req_direct")
    return record


def _authenticator(config: Config, keys: KeyCache) -> Authenticator:
    master = config.auth.master_key.get_secret_value() if config.auth.master_key else None
    bypass = [key.get_secret_value() for key in config.auth.bypass_keys]
    return Authenticator(master or None, bypass, keys)


async def principal_of(request: Request, permission: Permission = "read") -> Principal:
    """The caller, who must hold `permission` (401 unknown token, 403 missing permission)."""
    principal = await gateway_of(request).auth.authenticate(request.headers.get("authorization"))
    Authenticator.require(principal, permission)
    return principal


async def caller(
    gateway: Gateway, authorization: str | None, record: RequestRecord | None, permission: Permission
) -> Principal:
    """Who calls an inference route: an unknown token is refused unless a passthrough provider may take
    it; a virtual key needs `permission` (403). Recorded against its key even when refused later."""
    principal = await gateway.auth.authenticate(authorization)
    if record is not None:
        record.key_id = principal.key_id
    gateway.auth.require_verified_unless(principal, gateway.router.has_passthrough)
    if principal.key is not None:
        Authenticator.require(principal, permission)
    return principal


async def admit(
    gateway: Gateway,
    authorization: str | None,
    parse: Callable[[bytes], T],
    body: bytes,
    record: RequestRecord | None = None,
) -> tuple[Principal, T]:
    """Authenticate, then parse the body: an unknown token gets 401 before any detail of a bad body.
    A virtual key needs 'read-write' (403) and budget left (429 insufficient_quota). Then the rate
    limits (429 with retry-after); the admitted request's place in its window goes on `record`."""
    principal = await caller(gateway, authorization, record, "read-write")
    if principal.key is not None and gateway.budgets is not None:
        try:
            await gateway.budgets.check(principal)
        except InsufficientQuotaError:
            gateway.metrics.inc_rate_limited("budget")  # before parsing: no model to name yet
            raise
    req = gateway.auth.parse_for(principal, parse, body)
    limits = gateway.limits
    # Most callers have no limit: then nothing below runs (no estimate, no coroutine).
    if limits is not None and record is not None and (quota := limits.quota(principal, record.client)) is not None:
        estimate = functools.partial(reservation, req, gateway.config.limits.default_max_tokens)
        try:
            record.limits = await limits.admit(principal, record.client, estimate, quota)
        except (LimitRefusal, LimitsUnavailableError) as exc:
            model = getattr(req, "model", None)
            limit = exc.limit if isinstance(exc, LimitRefusal) else "unavailable"
            gateway.metrics.inc_rate_limited(limit, model=model if isinstance(model, str) else None)
            raise
    return principal, req
