"""Cooldowns, one suite over MemoryCooldowns and RedisCooldowns (the Redis on 127.0.0.1:6379).

Time is a hand-moved clock, so windows and cool-downs pass without waiting. Each Redis test uses its
own key prefix and deletes its keys after; a Redis server that is down fails these tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from tests.conftest import closed_port

from llmrelay.transport.cooldown import Cooldowns, CooldownSettings, MemoryCooldowns, RedisCooldowns

REDIS_URL = "redis://127.0.0.1:6379/0"
SETTINGS = CooldownSettings(threshold=3, window=60.0, period=30.0, probe_lease=10.0)
KEY = "openai/gpt-4o-mini"
START = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextlib.asynccontextmanager
async def fresh_prefix() -> AsyncIterator[str]:
    """A fresh prefix; fails (never skips) when Redis is down; deletes the prefix's keys after."""
    prefix = f"llmrelay_t_cooldown_{uuid.uuid4().hex}"
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        assert await client.ping()
        yield prefix
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    async with fresh_prefix() as prefix:
        yield prefix


@pytest.fixture(params=["memory", "redis"])
async def cooldowns(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Cooldowns]:
    if request.param == "memory":
        yield MemoryCooldowns(SETTINGS, now=clock)
        return
    async with fresh_prefix() as prefix:
        store = RedisCooldowns(aioredis.Redis.from_url(REDIS_URL), SETTINGS, prefix=prefix, now=clock)
        try:
            yield store
        finally:
            await store.aclose()


async def fail(cooldowns: Cooldowns, times: int, key: str = KEY) -> None:
    for _ in range(times):
        await cooldowns.record_failure(key, "503 server_error")


async def test_a_deployment_never_heard_of_is_available(cooldowns: Cooldowns) -> None:
    assert await cooldowns.available(KEY)
    assert await cooldowns.cooling_until(KEY) is None
    assert await cooldowns.status() == {}


async def test_threshold_failures_within_the_window_cool_it_down(cooldowns: Cooldowns, clock: Clock) -> None:
    await fail(cooldowns, 2)
    assert await cooldowns.available(KEY)
    clock.now += 5
    await fail(cooldowns, 1)
    assert not await cooldowns.available(KEY)
    assert await cooldowns.cooling_until(KEY) == START + 5 + 30
    clock.now += 29.9
    assert not await cooldowns.available(KEY)


async def test_failures_older_than_the_window_do_not_count(cooldowns: Cooldowns, clock: Clock) -> None:
    await fail(cooldowns, 2)
    clock.now += 60  # exactly one window later: those two are out
    await fail(cooldowns, 2)
    assert await cooldowns.available(KEY)
    assert (await cooldowns.status())[KEY]["recent_failures"] == 2
    clock.now += 1
    await fail(cooldowns, 1)
    assert not await cooldowns.available(KEY)


async def test_a_success_while_ok_does_not_forgive_recent_failures(cooldowns: Cooldowns) -> None:
    await fail(cooldowns, 2)
    await cooldowns.record_success(KEY)
    await fail(cooldowns, 1)
    assert not await cooldowns.available(KEY)


async def test_after_the_period_exactly_one_probe_goes_through(cooldowns: Cooldowns, clock: Clock) -> None:
    await fail(cooldowns, 3)
    clock.now += 30
    assert [await cooldowns.available(KEY) for _ in range(4)] == [True, False, False, False]
    assert await cooldowns.cooling_until(KEY) == START + 30 + 10  # the probe's lease
    assert (await cooldowns.status())[KEY]["state"] == "probing"


async def test_a_successful_probe_closes_it(cooldowns: Cooldowns, clock: Clock) -> None:
    await fail(cooldowns, 3)
    clock.now += 30
    assert await cooldowns.available(KEY)
    await cooldowns.record_success(KEY)
    assert [await cooldowns.available(KEY) for _ in range(3)] == [True, True, True]
    assert await cooldowns.cooling_until(KEY) is None
    health = (await cooldowns.status())[KEY]
    assert (health["state"], health["recent_failures"], health["last_success"]) == ("ok", 0, START + 30)
    await fail(cooldowns, 2)  # counting starts again from zero
    assert await cooldowns.available(KEY)


async def test_a_failed_probe_cools_it_down_again(cooldowns: Cooldowns, clock: Clock) -> None:
    await fail(cooldowns, 3)
    clock.now += 31
    assert await cooldowns.available(KEY)
    await cooldowns.record_failure(KEY, "429 rate_limit_exceeded")
    assert not await cooldowns.available(KEY)
    assert await cooldowns.cooling_until(KEY) == START + 31 + 30
    clock.now += 30
    assert await cooldowns.available(KEY)  # the next probe


async def test_a_lost_probe_lets_another_one_through_after_its_lease(cooldowns: Cooldowns, clock: Clock) -> None:
    await fail(cooldowns, 3)
    clock.now += 30
    assert await cooldowns.available(KEY)  # this probe never reports back (its request was cancelled)
    clock.now += 9.9
    assert not await cooldowns.available(KEY)
    clock.now += 0.1
    assert await cooldowns.available(KEY)
    assert not await cooldowns.available(KEY)


async def test_a_late_failure_while_cooling_does_not_extend_it(cooldowns: Cooldowns, clock: Clock) -> None:
    await fail(cooldowns, 3)
    clock.now += 10
    await fail(cooldowns, 5)  # requests that were already under way when it cooled down
    assert await cooldowns.cooling_until(KEY) == START + 30
    await cooldowns.record_success(KEY)  # nor does a late success end it early
    assert not await cooldowns.available(KEY)


async def test_deployments_are_independent(cooldowns: Cooldowns) -> None:
    await fail(cooldowns, 3, "a/m")
    assert not await cooldowns.available("a/m")
    assert await cooldowns.available("b/m")
    assert await cooldowns.cooling_until("b/m") is None


async def test_status_shows_each_deployment_for_health(cooldowns: Cooldowns, clock: Clock) -> None:
    await cooldowns.record_success("b/m")
    clock.now += 1
    await fail(cooldowns, 3, "a/m")
    status = await cooldowns.status()
    assert status["a/m"] == {
        "state": "cooling",
        "recent_failures": 0,
        "cooling_until": START + 1 + 30,
        "last_success": None,
        "last_error": "503 server_error",
        "last_error_at": START + 1,
    }
    assert status["b/m"] == {
        "state": "ok",
        "recent_failures": 0,
        "cooling_until": None,
        "last_success": START,
        "last_error": None,
        "last_error_at": None,
    }


async def test_two_redis_processes_share_state_and_one_probe(redis_prefix: str, clock: Clock) -> None:
    one = RedisCooldowns(aioredis.Redis.from_url(REDIS_URL), SETTINGS, prefix=redis_prefix, now=clock)
    two = RedisCooldowns(aioredis.Redis.from_url(REDIS_URL), SETTINGS, prefix=redis_prefix, now=clock)
    try:
        await fail(one, 2)
        await fail(two, 1)
        assert not await one.available(KEY)
        assert not await two.available(KEY)
        clock.now += 30
        granted = await asyncio.gather(*(c.available(KEY) for c in (one, two) * 10))
        assert granted.count(True) == 1
        await two.record_success(KEY)
        assert await one.available(KEY)
    finally:
        await one.aclose()
        await two.aclose()


async def test_redis_forgets_an_expired_deployment(redis_prefix: str, clock: Clock) -> None:
    store = RedisCooldowns(aioredis.Redis.from_url(REDIS_URL), SETTINGS, prefix=redis_prefix, now=clock)
    try:
        await fail(store, 1)
        assert KEY in await store.status()
        client = aioredis.Redis.from_url(REDIS_URL)
        await client.delete(f"{redis_prefix}:state:{KEY}")  # what the retention expiry does
        await client.aclose()
        assert await store.status() == {}
        assert await store.available(KEY)
    finally:
        await store.aclose()


async def test_an_unreachable_redis_fails_open_and_is_left_alone_for_a_while(clock: Clock) -> None:
    client = CountingRedis(host="127.0.0.1", port=closed_port(), retry=Retry(NoBackoff(), 0))
    store = RedisCooldowns(client, SETTINGS, now=clock, reconnect_after=5.0)
    try:
        await fail(store, 5)
        await store.record_success(KEY)
        assert await store.available(KEY)
        assert await store.cooling_until(KEY) is None
        assert await store.status() == {}
        assert store.degraded
        assert client.commands == 1  # the first call found it down; the others did not try
        clock.now += 5
        assert await store.available(KEY)
        assert client.commands == 2
    finally:
        await store.aclose()


async def test_redis_recovers_after_an_outage(redis_prefix: str, clock: Clock) -> None:
    store = RedisCooldowns.from_url(f"redis://127.0.0.1:{closed_port()}/0", SETTINGS, prefix=redis_prefix)
    working = RedisCooldowns(aioredis.Redis.from_url(REDIS_URL), SETTINGS, prefix=redis_prefix, now=clock)
    try:
        await store.record_failure(KEY)
        assert store.degraded
        working.degraded = True  # as if it had failed before: it tries again once the pause is over
        await fail(working, 3)
        assert not working.degraded
        assert not await working.available(KEY)
    finally:
        await store.aclose()
        await working.aclose()


class CountingRedis(aioredis.Redis):
    """Counts the commands sent (scripts included), to show an unreachable server is not hammered."""

    commands = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.commands += 1
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(
    "changes",
    [{"threshold": 0}, {"window": 0.0}, {"period": -1.0}, {"probe_lease": 0.0}],
)
def test_nonsense_settings_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the refusal is the point)
        CooldownSettings(**changes)  # type: ignore[arg-type]
