"""Sliding-window request and token counters: in memory for one process, in Redis for many.

Both implementations keep a *sliding log*: every admitted request is one entry (time admitted, tokens
reserved) in its subject's window, and a request is admitted only if, counting it, the entries of the
last `window_ms` stay within the limits. A log, rather than a sliding counter (two fixed windows
blended by weight), because the limit must hold exactly: "N per minute" means no 60-second span ever
sees N + 1, which a blended counter only approximates. It costs one entry per admitted request in
the window, which is bounded by the RPM limit when there is one. Token reservations are adjusted in
place when the request settles (`settle`), and an entry leaves the window whole, with its tokens.

    >>> store = MemoryLimits()
    >>> decision = await store.acquire("key:k1", rpm=2, tpm=1000, tokens=40, window_ms=60_000)
    >>> decision.allowed, decision.requests, decision.tokens
    (True, 1, 40)
    >>> await store.settle("key:k1", decision.entry, tokens=25, window_ms=60_000)

In Redis each subject is two keys (`{prefix}{subject}:log`, a ZSET of entry id → time, and
`{prefix}{subject}:tok`, a HASH of entry id → tokens plus the running total), changed only by two Lua
scripts, so every check-and-add is atomic across processes. The scripts read Redis's own clock
(`TIME`), so gateways on machines whose clocks disagree still share one window. They are loaded once
with SCRIPT LOAD and called with EVALSHA, reloaded if Redis restarted and forgot them.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

Clock = Callable[[], int]
"""Milliseconds on some fixed origin; only differences matter."""


class LimitStoreError(Exception):
    """The shared counters cannot be reached (Redis down or failing); the caller applies its policy."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one `acquire`, with what the rate-limit headers need.

    `requests` and `tokens` are the window's totals after this request (before it, when refused).
    `reset_*_ms`: until the oldest entry leaves the window, i.e. when remaining next goes up (0 when
    the window is empty). `retry_after_ms`: for a refusal, until this very request would fit; None
    when it never can (its tokens alone exceed the TPM limit).
    """

    allowed: bool
    entry: str
    requests: int
    tokens: int
    reset_requests_ms: int
    reset_tokens_ms: int
    retry_after_ms: int | None = None


class LimitStore(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def acquire(self, subject: str, *, rpm: int, tpm: int, tokens: int, window_ms: int) -> Decision:
        """Admit one request reserving `tokens`, or refuse it; a limit of 0 is no limit."""
        ...

    async def settle(self, subject: str, entry: str, *, tokens: int, window_ms: int) -> None:
        """Replace an admitted entry's reservation by what it really used (no-op once it left the window)."""
        ...


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


def _new_entry() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class _Entry:
    at: int
    id: str
    tokens: int


class _Window:
    """One subject's log: entries oldest first, their ids, and the running token total."""

    __slots__ = ("by_id", "entries", "total")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        self.by_id: dict[str, _Entry] = {}
        self.total = 0

    def trim(self, cutoff: int) -> None:
        while self.entries and self.entries[0].at <= cutoff:
            gone = self.entries.popleft()
            del self.by_id[gone.id]
            self.total -= gone.tokens

    def token_retry(self, tokens: int, tpm: int, now: int, window_ms: int) -> int | None:
        """Until enough of the oldest entries leave for `tokens` more to fit under `tpm`."""
        if tokens > tpm:
            return None
        freed = 0
        for entry in self.entries:
            freed += entry.tokens
            if self.total - freed + tokens <= tpm:
                return entry.at + window_ms - now
        return 0


class MemoryLimits:
    """The sliding log in this process's memory: exact for one process (one event loop, no awaits
    inside a check-and-add). Several workers each keep their own; set `redis:` to share one."""

    def __init__(self, clock: Clock = _monotonic_ms) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._next_sweep = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._windows.clear()

    async def acquire(self, subject: str, *, rpm: int, tpm: int, tokens: int, window_ms: int) -> Decision:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now - window_ms)
            self._next_sweep = now + window_ms
        window = self._windows.setdefault(subject, _Window())
        window.trim(now - window_ms)
        count = len(window.entries)
        oldest = window.entries[0].at + window_ms - now if window.entries else 0
        retry: int | None = 0
        if rpm > 0 and count >= rpm:
            retry = oldest
        if tpm > 0 and window.total + tokens > tpm:
            token_retry = window.token_retry(tokens, tpm, now, window_ms)
            retry = None if token_retry is None or retry is None else max(retry, token_retry)
        if retry != 0:
            return Decision(False, "", count, window.total, oldest, oldest, retry)
        entry = _Entry(now, _new_entry(), tokens)
        window.entries.append(entry)
        window.by_id[entry.id] = entry
        window.total += tokens
        reset = window.entries[0].at + window_ms - now
        return Decision(True, entry.id, count + 1, window.total, reset, reset)

    async def settle(self, subject: str, entry: str, *, tokens: int, window_ms: int) -> None:
        window = self._windows.get(subject)
        if window is None:
            return
        window.trim(self._clock() - window_ms)
        found = window.by_id.get(entry)
        if found is not None:
            window.total += tokens - found.tokens
            found.tokens = tokens

    def _sweep(self, cutoff: int) -> None:
        """Trim every window and drop the empty ones, so idle subjects (client IPs) do not pile up.
        Once per window length, so a request costs O(1) however many subjects there are."""
        for subject in list(self._windows):
            window = self._windows[subject]
            window.trim(cutoff)
            if not window.entries:
                del self._windows[subject]


# KEYS[1]: the log (ZSET entry → ms admitted); KEYS[2]: tokens (HASH entry → tokens, "_sum" → total).
# ARGV: now_ms ("" = Redis TIME), window_ms, rpm, tpm, entry, tokens. 0 = no limit.
# Returns {allowed, requests, tokens, reset_requests_ms, retry_after_ms (-1 = never)}.
_PRELUDE = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local window = tonumber(ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
for i = 1, #gone, 500 do
  local batch = {unpack(gone, i, math.min(i + 499, #gone))}
  local freed = 0
  for _, n in ipairs(redis.call('HMGET', KEYS[2], unpack(batch))) do freed = freed + (tonumber(n) or 0) end
  redis.call('HDEL', KEYS[2], unpack(batch))
  if freed ~= 0 then redis.call('HINCRBY', KEYS[2], '_sum', -freed) end
end
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window) end
"""

ACQUIRE = (
    _PRELUDE
    + """
local rpm, tpm, tokens = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local count = redis.call('ZCARD', KEYS[1])
local total = tonumber(redis.call('HGET', KEYS[2], '_sum') or '0')
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local oldest = 0
if #first > 0 then oldest = tonumber(first[2]) + window - now end
local retry = 0
if rpm > 0 and count >= rpm then retry = oldest end
if tpm > 0 and total + tokens > tpm then
  local wait = -1
  if tokens <= tpm then
    wait = 0
    local log = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    local freed = 0
    for i = 1, #log, 2 do
      freed = freed + (tonumber(redis.call('HGET', KEYS[2], log[i])) or 0)
      if total - freed + tokens <= tpm then wait = tonumber(log[i + 1]) + window - now break end
    end
  end
  if wait < 0 or retry < 0 then retry = -1 elseif wait > retry then retry = wait end
end
if retry ~= 0 then return {0, count, total, oldest, retry} end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('HSET', KEYS[2], ARGV[5], tokens)
total = redis.call('HINCRBY', KEYS[2], '_sum', tokens)
if count == 0 then oldest = window end
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return {1, count + 1, total, oldest, 0}
"""
)

SETTLE = (
    _PRELUDE
    + """
local old = redis.call('HGET', KEYS[2], ARGV[3])
if old then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  redis.call('HINCRBY', KEYS[2], '_sum', tonumber(ARGV[4]) - tonumber(old))
end
return {0}
"""
)


class RedisLimits:
    """The sliding log in Redis, shared by every gateway process that uses the same server and prefix.

    Any Redis failure raises LimitStoreError; whether that admits or refuses is the caller's policy.
    `clock` replaces Redis's TIME (tests move time by hand); leave it None in production.
    """

    def __init__(self, url: str, *, prefix: str = "llmrelay:rl:", clock: Clock | None = None) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix
        self._clock = clock
        self._shas: dict[str, str] = {}

    async def start(self) -> None:
        """Load the scripts; if Redis is down now, they are loaded by the first call that reaches it."""
        try:
            await self._load()
        except RedisError:
            self._shas.clear()

    async def close(self) -> None:
        await self._redis.aclose()

    async def acquire(self, subject: str, *, rpm: int, tpm: int, tokens: int, window_ms: int) -> Decision:
        entry = _new_entry()
        args = (self._now(), window_ms, rpm, tpm, entry, tokens)
        allowed, count, total, oldest, retry = await self._call(ACQUIRE, subject, args)
        if allowed:
            return Decision(True, entry, count, total, oldest, oldest)
        return Decision(False, "", count, total, oldest, oldest, None if retry < 0 else retry)

    async def settle(self, subject: str, entry: str, *, tokens: int, window_ms: int) -> None:
        await self._call(SETTLE, subject, (self._now(), window_ms, entry, tokens))

    def _now(self) -> int | str:
        return "" if self._clock is None else self._clock()

    async def _load(self) -> None:
        for script in (ACQUIRE, SETTLE):
            self._shas[script] = await self._redis.script_load(script)

    async def _call(self, script: str, subject: str, args: tuple[int | str, ...]) -> list[int]:
        # The {subject} hash tag keeps a subject's two keys in one Redis Cluster slot.
        keys = (f"{self._prefix}{{{subject}}}:log", f"{self._prefix}{{{subject}}}:tok")
        try:
            if script not in self._shas:
                await self._load()
            try:
                result = await self._redis.evalsha(self._shas[script], 2, *keys, *args)
            except NoScriptError:  # Redis restarted or SCRIPT FLUSH: load again, once
                await self._load()
                result = await self._redis.evalsha(self._shas[script], 2, *keys, *args)
        except RedisError as exc:
            raise LimitStoreError(f"{type(exc).__name__}: {exc}") from exc
        return [int(value) for value in result]
