"""KeyStore over SQLite and PostgreSQL, and the key/spend caches in front of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import migrated_database

from llmrelay.errors import InsufficientQuotaError, StorageUnavailableError
from llmrelay.pipeline.context import KeyInfo, Principal
from llmrelay.pipeline.keys import Budgets, KeyCache, StorageHealth, TTLCache
from llmrelay.storage.db import Database
from llmrelay.storage.keys import KeyRow, KeySpec, KeyStore, hash_secret, period_start
from llmrelay.storage.tables import api_keys, usage_records


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind (a PostgreSQL server that is down fails the test)."""
    async with migrated_database(request.param, tmp_path / "keys.db") as database:
        yield database


@pytest.fixture
def store(db: Database) -> KeyStore:
    return KeyStore(db.engine)


async def test_create_stores_only_the_hash_and_finds_by_it(store: KeyStore, db: Database) -> None:
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    spec = KeySpec(
        name="ci",
        permissions="read",
        models=("gpt-4o*", "embed"),
        rpm=60,
        tpm=1000,
        budget_usd=Decimal("2.5"),
        budget_period="month",
        expires_at=expires,
        metadata={"team": "ml", "n": 1},
    )
    row, secret = await store.create(spec)
    assert secret.startswith("sk-lr-") and len(secret) > 40
    assert row.id.startswith("key_") and row.key_prefix == secret[:12]
    found = await store.find(hash_secret(secret))
    assert found == row
    assert found.models == ("gpt-4o*", "embed") and found.budget_usd == Decimal("2.5")
    assert found.expires_at == expires and found.metadata == {"team": "ml", "n": 1}
    async with db.engine.connect() as conn:
        stored = (await conn.execute(sa.select(api_keys))).mappings().one()
    assert secret not in {str(v) for v in stored.values()}
    assert stored["key_hash"] == hash_secret(secret)
    assert await store.find(hash_secret(secret + "x")) is None


async def test_list_update_revoke_rotate(store: KeyStore) -> None:
    a, _ = await store.create(KeySpec(name="a"))
    b, old_secret = await store.create(KeySpec(name="b", rpm=5))
    assert [r.id for r in await store.list()] == [a.id, b.id]
    assert await store.any_active()

    updated = await store.update(b.id, {"rpm": None, "models": ("x*",), "name": "b2"})
    assert updated is not None and updated.rpm is None and updated.models == ("x*",) and updated.name == "b2"
    assert updated.updated_at >= b.updated_at
    assert await store.update("key_missing", {"rpm": 1}) is None
    with pytest.raises(ValueError, match="not updatable"):
        await store.update(b.id, {"key_hash": "x"})

    rotated = await store.rotate(b.id)
    assert rotated is not None
    row, new_secret = rotated
    assert row.id == b.id and new_secret != old_secret
    assert await store.find(hash_secret(old_secret)) is None
    assert (await store.find(hash_secret(new_secret))) == row

    revoked = await store.revoke(a.id)
    assert revoked is not None and revoked.revoked_at is not None and revoked.status(datetime.now(UTC)) == "revoked"
    again = await store.revoke(a.id)
    assert again is not None and again.revoked_at == revoked.revoked_at
    assert [r.id for r in await store.list()] == [b.id]
    assert [r.id for r in await store.list(include_revoked=True)] == [a.id, b.id]
    await store.revoke(b.id)
    assert not await store.any_active()
    assert await store.revoke("key_missing") is None and await store.rotate("key_missing") is None


async def test_spend_per_period(store: KeyStore, db: Database) -> None:
    row, _ = await store.create(KeySpec(name="spender", budget_usd=Decimal(1), budget_period="day"))
    now = datetime.now(UTC)
    month, today = period_start("month", now), period_start("day", now)
    assert month is not None and today is not None and period_start("total", now) is None
    rows = [
        (now - timedelta(days=40), "0.5"),
        (month + timedelta(microseconds=1), "0.25"),
        (now, "0.125"),
    ]
    async with db.engine.begin() as conn:
        for n, (at, cost) in enumerate(rows):
            await conn.execute(usage_records.insert().values(**_usage(n, row.id, at, Decimal(cost))))
        await conn.execute(usage_records.insert().values(**_usage(9, "key_other", now, Decimal(7))))
    assert await store.spend(row.id, None) == Decimal("0.875")
    assert await store.spend(row.id, month) == Decimal("0.375")
    expected_today = Decimal("0.125") + (Decimal("0.25") if rows[1][0] >= today else 0)
    assert await store.spend(row.id, today) == expected_today
    assert await store.spend("key_nobody", None) == 0


def _usage(n: int, key_id: str, at: datetime, cost: Decimal) -> dict[str, object]:
    return {
        "created_at": at,
        "request_id": f"req_{n}",
        "key_id": key_id,
        "model": "m",
        "cost_usd": cost,
        "latency_ms": 1.0,
        "status": 200,
        "streamed": False,
        "path": "/v1/chat/completions",
        "tokens_estimated": False,
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_key_cache_reads_once_per_ttl_and_sees_revocation_after_it(store: KeyStore) -> None:
    row, secret = await store.create(KeySpec(name="cached"))
    clock, calls = Clock(), []

    async def find(digest: str) -> KeyRow | None:
        calls.append(digest)
        return await store.find(digest)

    cache = KeyCache(store, StorageHealth(), ttl=5.0)
    cache._rows = TTLCache(find, cache.health, ttl=5.0, timeout=3.0, clock=clock)
    for _ in range(20):
        assert (await cache.resolve(secret)) == row
    assert len(calls) == 1
    assert await cache.resolve("sk-upstream-token") is None and len(calls) == 1  # not ours: no lookup

    await store.revoke(row.id)
    clock.now = 4.9
    cached = await cache.resolve(secret)
    assert cached is not None and cached.revoked_at is None
    clock.now = 5.1
    fresh = await cache.resolve(secret)
    assert fresh is not None and fresh.revoked_at is not None and len(calls) == 2


async def test_concurrent_misses_share_one_query(store: KeyStore) -> None:
    _, secret = await store.create(KeySpec(name="burst"))
    calls = 0
    gate = asyncio.Event()

    async def slow_find(digest: str) -> KeyRow | None:
        nonlocal calls
        calls += 1
        await gate.wait()
        return await store.find(digest)

    cache = KeyCache(store, StorageHealth())
    cache._rows = TTLCache(slow_find, cache.health, ttl=5.0, timeout=3.0)
    waiters = [asyncio.ensure_future(cache.resolve(secret)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    rows = await asyncio.gather(*waiters)
    assert calls == 1 and all(r is not None and r.name == "burst" for r in rows)


async def test_database_failure_serves_cached_keys_and_refuses_new_ones(store: KeyStore) -> None:
    row, secret = await store.create(KeySpec(name="survivor"))
    _, unseen = await store.create(KeySpec(name="unseen"))
    clock, failing = Clock(), False

    async def find(digest: str) -> KeyRow | None:
        if failing:
            raise ConnectionRefusedError("database down")
        return await store.find(digest)

    health = StorageHealth()
    cache = KeyCache(store, health)
    cache._rows = TTLCache(find, health, ttl=5.0, timeout=3.0, clock=clock)
    assert await cache.resolve(secret) == row
    failing, clock.now = True, 60.0
    assert await cache.resolve(secret) == row  # stale, but served
    assert not health.reachable and health.describe()["error"] == "ConnectionRefusedError"
    with pytest.raises(StorageUnavailableError):
        await cache.resolve(unseen)
    failing, clock.now = False, 120.0
    assert await cache.resolve(unseen) is not None and health.reachable


async def test_budget_check_reads_spend_once_per_ttl(store: KeyStore, db: Database) -> None:
    row, _ = await store.create(KeySpec(name="budget", budget_usd=Decimal("0.01"), budget_period="day"))
    key = KeyInfo(row.id, row.name, budget_usd=row.budget_usd, budget_period="day")
    principal = Principal("key", "sk-lr-x", key)
    budgets = Budgets(store, StorageHealth(), ttl=3600)
    await budgets.check(principal)
    async with db.engine.begin() as conn:
        await conn.execute(usage_records.insert().values(**_usage(1, row.id, datetime.now(UTC), Decimal("0.02"))))
    await budgets.check(principal)  # the spend is cached: still allowed (documented overspend)
    fresh = Budgets(store, StorageHealth(), ttl=3600)
    with pytest.raises(InsufficientQuotaError) as caught:
        await fresh.check(principal)
    assert caught.value.status_code == 429 and caught.value.code == "insufficient_quota"
    await fresh.check(Principal("master", "sk-master"))  # no key, no budget
