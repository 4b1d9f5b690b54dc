"""The sliding-window counters, one suite over MemoryLimits and RedisLimits (the Redis on 127.0.0.1:6379).

Time is a hand-moved clock in both, so windows expire without waiting. Each Redis test uses its own
key prefix and deletes its keys after; a Redis server that is down fails the tests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from tests.conftest import REDIS_URL, delete_redis_prefix

from llmrelay.storage.counters import LimitStore, LimitStoreError, MemoryLimits, RedisLimits

WINDOW = 60_000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[LimitStore]:
    if request.param == "memory":
        yield MemoryLimits(clock)
        return
    prefix = f"llmrelay_t_{uuid.uuid4().hex}:"
    limits = RedisLimits(REDIS_URL, prefix=prefix, clock=clock)
    await limits.start()
    try:
        yield limits
    finally:
        await limits.close()
        await delete_redis_prefix(prefix)


async def test_rpm_admits_exactly_the_limit(store: LimitStore) -> None:
    decisions = [await store.acquire("key:a", rpm=3, tpm=0, tokens=0, window_ms=WINDOW) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.requests for d in decisions] == [1, 2, 3, 3, 3]
    assert decisions[3].retry_after_ms == WINDOW


async def test_the_window_slides(store: LimitStore, clock: Clock) -> None:
    await store.acquire("key:a", rpm=2, tpm=0, tokens=0, window_ms=WINDOW)
    clock.now += 20_000
    await store.acquire("key:a", rpm=2, tpm=0, tokens=0, window_ms=WINDOW)
    refused = await store.acquire("key:a", rpm=2, tpm=0, tokens=0, window_ms=WINDOW)
    assert not refused.allowed
    assert refused.retry_after_ms == 40_000  # when the first request leaves the window
    assert refused.reset_requests_ms == 40_000
    clock.now += 39_999
    assert not (await store.acquire("key:a", rpm=2, tpm=0, tokens=0, window_ms=WINDOW)).allowed
    clock.now += 1  # exactly 60 s after the first: it is out
    admitted = await store.acquire("key:a", rpm=2, tpm=0, tokens=0, window_ms=WINDOW)
    assert admitted.allowed
    assert admitted.requests == 2
    assert admitted.reset_requests_ms == 20_000  # the second request leaves next


async def test_subjects_are_independent(store: LimitStore) -> None:
    assert (await store.acquire("key:a", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)).allowed
    assert (await store.acquire("key:b", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)).allowed
    assert not (await store.acquire("key:a", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)).allowed


async def test_tpm_counts_reserved_tokens(store: LimitStore, clock: Clock) -> None:
    first = await store.acquire("key:a", rpm=0, tpm=100, tokens=60, window_ms=WINDOW)
    assert (first.allowed, first.tokens) == (True, 60)
    clock.now += 10_000
    second = await store.acquire("key:a", rpm=0, tpm=100, tokens=30, window_ms=WINDOW)
    assert (second.allowed, second.tokens) == (True, 90)
    refused = await store.acquire("key:a", rpm=0, tpm=100, tokens=20, window_ms=WINDOW)
    assert not refused.allowed
    assert refused.tokens == 90
    assert refused.retry_after_ms == 50_000  # the first entry's 60 tokens must leave
    bigger = await store.acquire("key:a", rpm=0, tpm=100, tokens=80, window_ms=WINDOW)
    assert bigger.retry_after_ms == 60_000  # both entries must leave


async def test_a_request_larger_than_the_limit_never_fits(store: LimitStore) -> None:
    refused = await store.acquire("key:a", rpm=0, tpm=100, tokens=101, window_ms=WINDOW)
    assert not refused.allowed
    assert refused.retry_after_ms is None


async def test_settle_replaces_the_reservation(store: LimitStore) -> None:
    first = await store.acquire("key:a", rpm=0, tpm=100, tokens=90, window_ms=WINDOW)
    assert not (await store.acquire("key:a", rpm=0, tpm=100, tokens=20, window_ms=WINDOW)).allowed
    await store.settle("key:a", first.entry, tokens=15, window_ms=WINDOW)
    after = await store.acquire("key:a", rpm=0, tpm=100, tokens=20, window_ms=WINDOW)
    assert (after.allowed, after.tokens) == (True, 35)


async def test_settle_after_the_entry_left_changes_nothing(store: LimitStore, clock: Clock) -> None:
    first = await store.acquire("key:a", rpm=0, tpm=100, tokens=50, window_ms=WINDOW)
    clock.now += WINDOW
    await store.settle("key:a", first.entry, tokens=500, window_ms=WINDOW)
    after = await store.acquire("key:a", rpm=0, tpm=100, tokens=100, window_ms=WINDOW)
    assert (after.allowed, after.tokens) == (True, 100)


async def test_both_limits_and_the_longer_wait(store: LimitStore, clock: Clock) -> None:
    await store.acquire("key:a", rpm=2, tpm=100, tokens=10, window_ms=WINDOW)
    clock.now += 5_000
    await store.acquire("key:a", rpm=2, tpm=100, tokens=80, window_ms=WINDOW)
    refused = await store.acquire("key:a", rpm=2, tpm=100, tokens=50, window_ms=WINDOW)
    assert not refused.allowed
    assert refused.retry_after_ms == 60_000  # rpm frees at 55 s, but 50 tokens fit only at 60 s


async def test_a_refusal_takes_nothing(store: LimitStore) -> None:
    assert (await store.acquire("key:a", rpm=5, tpm=100, tokens=100, window_ms=WINDOW)).allowed
    for _ in range(3):
        assert not (await store.acquire("key:a", rpm=5, tpm=100, tokens=1, window_ms=WINDOW)).allowed
    nothing = await store.acquire("key:a", rpm=5, tpm=0, tokens=0, window_ms=WINDOW)
    assert nothing.requests == 2


async def test_concurrent_acquires_admit_exactly_the_limit(store: LimitStore) -> None:
    results = await asyncio.gather(
        *(store.acquire("key:a", rpm=7, tpm=0, tokens=0, window_ms=WINDOW) for _ in range(30))
    )
    assert sum(d.allowed for d in results) == 7


async def test_two_redis_clients_share_one_window(clock: Clock) -> None:
    prefix = f"llmrelay_t_{uuid.uuid4().hex}:"
    one = RedisLimits(REDIS_URL, prefix=prefix, clock=clock)
    two = RedisLimits(REDIS_URL, prefix=prefix, clock=clock)
    try:
        calls = [(one if i % 2 else two).acquire("key:a", rpm=5, tpm=0, tokens=0, window_ms=WINDOW) for i in range(20)]
        results = await asyncio.gather(*calls)
        assert sum(d.allowed for d in results) == 5
    finally:
        await one.close()
        await two.close()
        await delete_redis_prefix(prefix)


async def test_redis_uses_its_own_clock_by_default() -> None:
    prefix = f"llmrelay_t_{uuid.uuid4().hex}:"
    limits = RedisLimits(REDIS_URL, prefix=prefix)
    try:
        first = await limits.acquire("key:a", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)
        refused = await limits.acquire("key:a", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)
        assert first.allowed
        assert not refused.allowed
        assert 0 < (refused.retry_after_ms or 0) <= WINDOW
    finally:
        await limits.close()
        await delete_redis_prefix(prefix)


async def test_scripts_are_reloaded_after_a_flush(clock: Clock) -> None:
    prefix = f"llmrelay_t_{uuid.uuid4().hex}:"
    limits = RedisLimits(REDIS_URL, prefix=prefix, clock=clock)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        await limits.start()
        await admin.script_flush()
        assert (await limits.acquire("key:a", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)).allowed
    finally:
        await admin.aclose()
        await limits.close()
        await delete_redis_prefix(prefix)


async def test_redis_down_raises_limit_store_error(clock: Clock) -> None:
    limits = RedisLimits("redis://127.0.0.1:1/0", clock=clock)
    try:
        await limits.start()  # does not raise: the scripts load on the first call that reaches Redis
        with pytest.raises(LimitStoreError):
            await limits.acquire("key:a", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)
    finally:
        await limits.close()


async def test_memory_forgets_idle_subjects(clock: Clock) -> None:
    limits = MemoryLimits(clock)
    for i in range(100):
        await limits.acquire(f"ip:10.0.0.{i}", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)
    clock.now += 2 * WINDOW
    await limits.acquire("ip:10.0.0.1", rpm=1, tpm=0, tokens=0, window_ms=WINDOW)
    assert len(limits._windows) == 1
