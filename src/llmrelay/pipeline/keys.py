"""Virtual keys on the request path without a database round-trip per request.

`KeyCache` keeps each presented token's key row (or the fact that there is none) for `ttl` seconds,
found by the SHA-256 of the token. `Budgets` keeps each key's spend in its current budget period the
same way. What that means:

- One process reads a given key from the database at most once per `ttl` (default 5 s): a revoked,
  rotated or changed key takes effect everywhere within `ttl`. Concurrent misses for one token share
  one query; while a stale entry is being refreshed, other requests keep using it.
- Spend is the sum of the key's usage records in the period, re-read at most once per `ttl` per key.
  Usage records are written in batches, so a key can overspend by what it used in the last flush
  interval plus `ttl`; the check is made before a request, never in the middle of one.
- When the database fails (down, dropped, slower than `timeout`), every key already cached keeps
  working with what was last read, a token seen for the first time gets 503, the failure is logged
  once (`storage_unreachable`) and `/health` shows it until a query succeeds again.

    >>> keys = KeyCache(KeyStore(db.engine), StorageHealth(), ttl=5.0)
    >>> row = await keys.resolve("sk-lr-…")     # KeyRow | None
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from llmrelay.errors import InsufficientQuotaError, StorageUnavailableError
from llmrelay.observability.logging import get_logger
from llmrelay.pipeline.context import KeyInfo, Principal
from llmrelay.storage.keys import SECRET_PREFIX, STORAGE_ERRORS, KeyRow, KeyStore, hash_secret, period_start

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class StorageHealth:
    """Whether the database answered the last query; transitions are logged once each."""

    def __init__(self) -> None:
        self.reachable = True
        self.error: str | None = None
        self.since = time.time()
        self.log = get_logger()

    def ok(self) -> None:
        if not self.reachable:
            self.reachable, self.error, self.since = True, None, time.time()
            self.log.info("storage_reachable")

    def failed(self, exc: BaseException) -> None:
        # The class name only: driver messages can carry the database URL and its password.
        error = type(exc).__name__
        if self.reachable:
            self.reachable, self.error, self.since = False, error, time.time()
            self.log.warning("storage_unreachable", error=error, hint="cached keys keep working")

    def describe(self) -> dict[str, object]:
        state: dict[str, object] = {"database": "reachable" if self.reachable else "unreachable"}
        if not self.reachable:
            state.update(error=self.error, since=round(self.since, 3))
        return state


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    fresh_until: float


class TTLCache(Generic[K, V]):
    """`load(key)` at most once per `ttl` per key; a stale value outlives a failing load."""

    def __init__(
        self,
        load: Callable[[K], Awaitable[V]],
        health: StorageHealth,
        *,
        ttl: float,
        timeout: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load, self._health, self._ttl, self._timeout = load, health, ttl, timeout
        self._max, self._clock = max_entries, clock
        self._entries: dict[K, _Entry[V]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}

    def expire(self, key: K) -> None:
        """Make the next `get` reload (keeping the value in case the database fails then)."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.fresh_until = float("-inf")

    def peek(self, key: K) -> V | None:
        entry = self._entries.get(key)
        return None if entry is None else entry.value

    def fresh(self, key: K) -> _Entry[V] | None:
        """The entry when it is fresh (no load needed), else None: `get` without a coroutine."""
        entry = self._entries.get(key)
        return entry if entry is not None and entry.fresh_until > self._clock() else None

    async def get(self, key: K) -> V:
        entry = self._entries.get(key)
        if entry is not None and entry.fresh_until > self._clock():
            return entry.value
        task = self._loading.get(key)
        if task is None:
            task = self._loading[key] = asyncio.ensure_future(self._refresh(key, entry))
            task.add_done_callback(_retrieve)
        elif entry is not None:
            return entry.value  # someone is refreshing it: do not wait
        return await asyncio.shield(task)

    async def _refresh(self, key: K, entry: _Entry[V] | None) -> V:
        try:
            async with asyncio.timeout(self._timeout):
                value = await self._load(key)
        except STORAGE_ERRORS as exc:
            self._health.failed(exc)
            if entry is None:
                raise StorageUnavailableError(
                    "The gateway cannot reach its database to check this key; try again shortly."
                ) from None
            entry.fresh_until = self._clock() + self._ttl  # try the database again after another ttl
            return entry.value
        finally:
            self._loading.pop(key, None)
        self._health.ok()
        self._entries.pop(key, None)
        if len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = _Entry(value, self._clock() + self._ttl)
        return value


def _retrieve(task: asyncio.Task[object]) -> None:
    """Mark a load's exception as seen even when every waiter was cancelled."""
    if not task.cancelled():
        task.exception()


class KeyCache:
    def __init__(self, store: KeyStore, health: StorageHealth, *, ttl: float = 5.0, timeout: float = 3.0) -> None:
        self.store, self.health, self._timeout = store, health, timeout
        self._rows: TTLCache[str, KeyRow | None] = TTLCache(store.find, health, ttl=ttl, timeout=timeout)
        self._any: TTLCache[bool, bool] = TTLCache(self._any_active, health, ttl=ttl, timeout=timeout)

    async def _any_active(self, _: bool) -> bool:
        return await self.store.any_active()

    async def resolve(self, token: str) -> KeyRow | None:
        """The stored key for a presented token, revoked and expired keys included; None if unknown.

        The secret is never compared: the lookup is by the SHA-256 of the presented token, and learning
        by timing how the hash of one's own guess compares with stored hashes reveals nothing about any
        secret (finding a preimage of SHA-256 is infeasible). The `compare_digest` below only guards
        against a cache or database that returned the wrong row.
        """
        if not token.startswith(SECRET_PREFIX):
            return None  # not one of ours (e.g. a passthrough client's upstream key): no lookup at all
        digest = hash_secret(token)
        row = await self._rows.get(digest)
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        return row

    async def any_active(self) -> bool:
        """Whether any unrevoked key is stored (cached like a key); open mode needs there to be none."""
        return await self._any.get(True)

    def forget(self, key_hash: str) -> None:
        """Drop a key this process just changed, so the change applies here at once."""
        self._rows.expire(key_hash)

    def forget_any(self) -> None:
        self._any.expire(True)

    def any_active_cached(self) -> bool:
        return bool(self._any.peek(True))

    def fresh_any(self) -> _Entry[bool] | None:
        """`any_active`'s answer when its cache entry is fresh (no coroutine needed), else None."""
        return self._any.fresh(True)

    async def probe(self) -> dict[str, object]:
        """Ask the database now (for /health) and say whether it answered."""
        try:
            async with asyncio.timeout(self._timeout):
                await self.store.ping()
        except STORAGE_ERRORS as exc:
            self.health.failed(exc)
        else:
            self.health.ok()
        return self.health.describe()


def key_info(row: KeyRow) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        permissions=row.permissions,
        models=row.models,
        rpm=row.rpm,
        tpm=row.tpm,
        budget_usd=row.budget_usd,
        budget_period=row.budget_period,
        expires_at=row.expires_at,
    )


class Budgets:
    """A key's spend in its current budget period, cached; 429 `insufficient_quota` once it is spent.

    A spend that cannot be read (database down, nothing cached) lets the request through: budgets
    are soft by nature (see the module docstring), and the failure shows on /health.
    """

    def __init__(self, store: KeyStore, health: StorageHealth, *, ttl: float = 5.0, timeout: float = 3.0) -> None:
        self.store = store
        self._spend: TTLCache[tuple[str, datetime | None], Decimal] = TTLCache(
            self._load, health, ttl=ttl, timeout=timeout
        )

    async def _load(self, key: tuple[str, datetime | None]) -> Decimal:
        return await self.store.spend(*key)

    async def spent(self, key: KeyInfo) -> Decimal:
        return await self._spend.get((key.id, period_start(key.budget_period, datetime.now(UTC))))

    async def check(self, principal: Principal) -> None:
        key = principal.key
        if key is None or key.budget_usd is None:
            return
        try:
            spent = await self.spent(key)
        except StorageUnavailableError:
            return
        if spent >= key.budget_usd:
            period = key.budget_period or "total"
            raise InsufficientQuotaError(
                f"This key has spent its budget of ${key.budget_usd} ({period}): ${spent:.6f} used."
            )
