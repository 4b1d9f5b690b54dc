"""Cooldowns: a deployment that keeps failing is taken out for a while, then let back in by one probe.

One small circuit breaker per deployment key (e.g. `"openai/gpt-4o-mini"`):

```
 ok ──(threshold failures within window)──► cooling ──(period over)──► probing
  ▲                                            ▲                          │ available() is True for ONE caller
  └──────────────── the probe succeeds ────────┴──── the probe fails ─────┘
```

While `probing`, the first caller of `available()` holds the probe for `probe_lease` seconds; every
other caller is told no until the probe reports back (or its lease runs out, so a probe whose
request was cancelled cannot keep a deployment out for ever). Success while `ok` changes nothing:
failures count within the window, so a deployment failing every other request still cools down.

Two implementations of the `Cooldowns` protocol, one test suite for both:
`MemoryCooldowns` (one process) and `RedisCooldowns` (state shared by every process using the same
Redis and prefix; each transition is one Lua script, so concurrent processes cannot both take the
probe). Times are wall-clock seconds from the injected `now`, the same clock in every process.

    >>> cooldowns = MemoryCooldowns(CooldownSettings(threshold=3, window=60, period=30))
    >>> await cooldowns.record_failure("openai/gpt-4o-mini", "503 server_error")
    >>> await cooldowns.available("openai/gpt-4o-mini")
    True
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from llmrelay.observability.logging import get_logger

Clock = Callable[[], float]
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class CooldownSettings:
    """`threshold` failures within `window` seconds cool a deployment down for `period` seconds."""

    threshold: int = 3
    window: float = 60.0
    period: float = 30.0
    probe_lease: float = 60.0
    """How long one probe keeps others out; about the longest an attempt may take before its first byte."""

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("threshold must be 1 or more")
        if min(self.window, self.period, self.probe_lease) <= 0:
            raise ValueError("window, period and probe_lease must be positive")


class DeploymentHealth(TypedDict):
    """One deployment as /health shows it. Times are epoch seconds."""

    state: Literal["ok", "cooling", "probing"]
    recent_failures: int
    cooling_until: float | None
    last_success: float | None
    last_error: str | None
    last_error_at: float | None


class Cooldowns(Protocol):
    async def available(self, key: str) -> bool:
        """Whether to try this deployment now; True at most once per probe while probing."""
        ...

    async def record_failure(self, key: str, reason: str = "") -> None:
        """A failure that is the deployment's fault; `reason` (e.g. `"429 rate_limit_exceeded"`) is for /health."""
        ...

    async def record_success(self, key: str) -> None: ...

    async def cooling_until(self, key: str) -> float | None:
        """When the deployment may next be tried (the cooldown's end, or the probe's lease), if not now."""
        ...

    async def status(self) -> dict[str, DeploymentHealth]:
        """Every deployment that has reported anything."""
        ...


@dataclass(slots=True)
class _State:
    failures: deque[float] = field(default_factory=deque)
    until: float = 0.0
    """0 while ok; else cooling until then, probing after."""
    probe: float = 0.0
    last_success: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None


class MemoryCooldowns:
    """Cooldown state in this process only."""

    def __init__(self, settings: CooldownSettings | None = None, *, now: Clock = time.time) -> None:
        self.settings = settings or CooldownSettings()
        self._now = now
        self._states: dict[str, _State] = {}

    async def available(self, key: str) -> bool:
        state = self._states.get(key)
        if state is None or not state.until:
            return True
        now = self._now()
        if now < state.until or now < state.probe:
            return False
        state.probe = now + self.settings.probe_lease
        return True

    async def record_failure(self, key: str, reason: str = "") -> None:
        now, state = self._now(), self._states.setdefault(key, _State())
        state.last_error, state.last_error_at = reason, now
        if state.until:
            if now >= state.until:  # the probe failed: cool down again
                self._open(state, now)
            return
        while state.failures and state.failures[0] <= now - self.settings.window:
            state.failures.popleft()
        state.failures.append(now)
        if len(state.failures) >= self.settings.threshold:
            self._open(state, now)

    def _open(self, state: _State, now: float) -> None:
        state.until, state.probe = now + self.settings.period, 0.0
        state.failures.clear()

    async def record_success(self, key: str) -> None:
        now, state = self._now(), self._states.get(key)
        if state is None:  # not setdefault: that would build a _State (and its deque) on every success
            state = self._states[key] = _State()
        state.last_success = now
        if state.until and now >= state.until:
            state.until = state.probe = 0.0

    async def cooling_until(self, key: str) -> float | None:
        state = self._states.get(key)
        if state is None:
            return None
        return _next_try(self._now(), state.until, state.probe)

    async def status(self) -> dict[str, DeploymentHealth]:
        now, window = self._now(), self.settings.window
        return {
            key: _health(now, state, sum(1 for t in state.failures if t > now - window))
            for key, state in self._states.items()
        }


# KEYS: state hash, failures zset, key set. ARGV[1]: now. Times travel as strings (Lua returns integers).
_AVAILABLE = """
local cooling = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if cooling == 0 then return 1 end
local now = tonumber(ARGV[1])
if now < cooling or now < tonumber(redis.call('HGET', KEYS[1], 'probe') or '0') then return 0 end
redis.call('HSET', KEYS[1], 'probe', now + tonumber(ARGV[2]))
return 1
"""
# ARGV: now, threshold, window, period, retention_ms, deployment, reason
_FAILURE = """
local now = tonumber(ARGV[1])
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('HSET', KEYS[1], 'last_error', ARGV[7], 'last_error_at', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
local cooling = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local open = cooling > 0 and now >= cooling
if cooling == 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
  redis.call('ZADD', KEYS[2], now, redis.call('HINCRBY', KEYS[1], 'seq', 1))
  redis.call('PEXPIRE', KEYS[2], math.ceil(tonumber(ARGV[3]) * 1000))
  open = redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2])
end
if open then
  redis.call('HSET', KEYS[1], 'until', now + tonumber(ARGV[4]), 'probe', 0)
  redis.call('DEL', KEYS[2])
end
return 1
"""
# ARGV: now, retention_ms, deployment
_SUCCESS = """
local now = tonumber(ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[1], 'last_success', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local cooling = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if cooling > 0 and now >= cooling then
  redis.call('HSET', KEYS[1], 'until', 0, 'probe', 0)
  redis.call('DEL', KEYS[2])
end
return 1
"""
_FIELDS = ("until", "probe", "last_success", "last_error", "last_error_at")


class RedisCooldowns:
    """Cooldown state in Redis, shared by every process with the same `prefix`.

    When Redis cannot be reached the gateway keeps serving: every deployment counts as available and
    reports are dropped (logged once per outage; `status()` is `{}` and `degraded` is True meanwhile).
    `retention`: seconds a deployment's record outlives its last report.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        settings: CooldownSettings | None = None,
        *,
        prefix: str = "llmrelay:cooldown",
        now: Clock = time.time,
        retention: float = 86400.0,
        reconnect_after: float = 5.0,
    ) -> None:
        self.settings = settings or CooldownSettings()
        self.degraded, self.reconnect_after, self._retry_at = False, reconnect_after, 0.0
        self._redis, self._prefix, self._now = client, prefix, now
        self._retention_ms = str(round(retention * 1000))
        self._available = client.register_script(_AVAILABLE)
        self._failure = client.register_script(_FAILURE)
        self._success = client.register_script(_SUCCESS)
        self._log = get_logger()

    @classmethod
    def from_url(
        cls, url: str, settings: CooldownSettings | None = None, *, prefix: str = "llmrelay:cooldown"
    ) -> RedisCooldowns:
        """From the config's `redis:` URL; close with `aclose()`.

        Short timeouts and one immediate retry (for a connection Redis closed while idle): a client that
        backs off and retries for seconds would hold every request up while Redis is down.
        """
        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=1.0, retry=Retry(NoBackoff(), 1)
        )
        return cls(client, settings, prefix=prefix)

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _keys(self, key: str) -> list[str]:
        return [f"{self._prefix}:state:{key}", f"{self._prefix}:fails:{key}", f"{self._prefix}:keys"]

    async def _call(self, op: Callable[[], Awaitable[R]], fallback: R) -> R:
        """Run one Redis operation; on a Redis failure, fail open with `fallback` (see the class docstring).

        After a failure Redis is left alone for `reconnect_after` seconds, so that an unreachable server
        costs the requests of that time nothing rather than a connect timeout each.
        """
        if self.degraded and self._now() < self._retry_at:
            return fallback
        try:
            result = await op()
        except (RedisError, OSError) as error:
            if not self.degraded:
                self._log.warning("cooldown_store_unreachable", error=repr(error))
            self.degraded, self._retry_at = True, self._now() + self.reconnect_after
            return fallback
        if self.degraded:
            self._log.info("cooldown_store_recovered")
        self.degraded = False
        return result

    async def available(self, key: str) -> bool:
        lease = repr(self.settings.probe_lease)
        result = await self._call(lambda: self._available(self._keys(key), [repr(self._now()), lease]), 1)
        return bool(result)

    async def record_failure(self, key: str, reason: str = "") -> None:
        s = self.settings
        args: list[str | int] = [repr(self._now()), s.threshold, repr(s.window), repr(s.period)]
        args += [self._retention_ms, key, reason]
        await self._call(lambda: self._failure(self._keys(key), args), 1)

    async def record_success(self, key: str) -> None:
        args = [repr(self._now()), self._retention_ms, key]
        await self._call(lambda: self._success(self._keys(key), args), 1)

    async def cooling_until(self, key: str) -> float | None:
        state = self._keys(key)[0]
        unknown: list[bytes | str | None] = [None, None]
        values = await self._call(lambda: self._redis.hmget(state, ["until", "probe"]), unknown)
        return _next_try(self._now(), _float(values[0]) or 0.0, _float(values[1]) or 0.0)

    async def status(self) -> dict[str, DeploymentHealth]:
        return await self._call(self._status, {})

    async def _status(self) -> dict[str, DeploymentHealth]:
        names = sorted(_text(k) for k in await self._redis.smembers(f"{self._prefix}:keys"))
        now = self._now()
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                hash_key, fails, _ = self._keys(name)
                pipe.hmget(hash_key, list(_FIELDS))
                pipe.zcount(fails, f"({now - self.settings.window!r}", "+inf")
            replies = await pipe.execute()
        out: dict[str, DeploymentHealth] = {}
        for index, name in enumerate(names):
            until, probe, success, error, error_at = replies[2 * index]
            if until is None and success is None and error is None:  # expired: retention ran out
                await self._redis.srem(f"{self._prefix}:keys", name)
                continue
            state = _State(
                until=_float(until) or 0.0,
                probe=_float(probe) or 0.0,
                last_success=_float(success),
                last_error=None if error is None else _text(error),
                last_error_at=_float(error_at),
            )
            out[name] = _health(now, state, int(replies[2 * index + 1]))
        return out


def _next_try(now: float, until: float, probe: float) -> float | None:
    if not until:
        return None
    later = max(until, probe)
    return later if later > now else None


def _health(now: float, state: _State, failures: int) -> DeploymentHealth:
    until = state.until
    name: Literal["ok", "cooling", "probing"] = "ok" if not until else ("cooling" if now < until else "probing")
    return {
        "state": name,
        "recent_failures": failures,
        "cooling_until": _next_try(now, until, state.probe),
        "last_success": state.last_success,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at,
    }


def _float(value: bytes | str | None) -> float | None:
    return None if value is None else float(value)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
