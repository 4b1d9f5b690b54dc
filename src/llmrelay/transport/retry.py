"""RetryPolicy: which upstream failures another try may cure, and how long to wait before it.

Two questions, asked of one error:

- `should_fall_back(error)`: is the failure the upstream's, so that another deployment may answer?
  A 408, a 429, any 5xx (Anthropic's 529 included), or no usable answer at all: connection refused or
  reset, a timeout or an unreadable reply before the first byte. Never another 4xx: the request is
  what is wrong, and every deployment would say so again.
- `should_retry(error)`: may the same deployment be asked again? The same kinds, unless the upstream
  says `x-should-retry: false` (Workers AI's daily quota, reset at midnight) or asks for a
  `retry-after` longer than `retry_after_cap` (not worth waiting for while a fallback may answer now).

`delay(retries_done, error)` is the wait before the next try: the upstream's `retry-after-ms` or
`retry-after` (seconds or an HTTP date) up to `retry_after_cap`, else exponential backoff
(`base_backoff * 2**retries_done`, at most `max_backoff`) less up to `jitter` of itself, so that
clients that failed together do not come back together.

    >>> policy = RetryPolicy(max_retries=3, rng=random.Random(7))
    >>> policy.delay(0, UpstreamStatusError(429, "slow down", headers={"retry-after": "2"}))
    2.0

The policy is a frozen value: derive a provider's or a model's own with `dataclasses.replace`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

from llmrelay.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)

_TRANSIENT_4XX = frozenset({408, 429})
_NO_ANSWER = (UpstreamUnreachableError, UpstreamTimeoutError, UpstreamProtocolError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to retry one deployment, and how long to wait in between (seconds)."""

    max_retries: int = 2
    """Tries after the first, per deployment: 2 means at most 3 tries before the next fallback."""
    base_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.25
    """The share of a backoff that may be taken off at random (0: none, 1: anything down to zero)."""
    retry_after_cap: float = 60.0
    """The longest upstream-requested wait honoured; a longer one moves on to the next deployment."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)
    """Wall-clock seconds, to read a `retry-after` given as an HTTP date."""

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if not 0 <= self.base_backoff <= self.max_backoff:
            raise ValueError("backoffs must satisfy 0 <= base_backoff <= max_backoff")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if self.retry_after_cap < 0:
            raise ValueError("retry_after_cap must be 0 or more")

    def should_fall_back(self, error: BaseException) -> bool:
        """Whether the failure is the upstream's (408, 429, 5xx, no answer), so another deployment may help."""
        if isinstance(error, UpstreamStatusError):
            return error.status_code in _TRANSIENT_4XX or error.status_code >= 500
        return isinstance(error, _NO_ANSWER)

    def should_retry(self, error: BaseException) -> bool:
        """Whether to ask the same deployment again (given tries are left): see the module docstring."""
        if not isinstance(error, UpstreamError) or not self.should_fall_back(error):
            return False
        if _header(error.headers, "x-should-retry") == "false":
            return False
        wait = self.retry_after(error)
        return wait is None or wait <= self.retry_after_cap

    def delay(self, retries_done: int, error: BaseException | None = None) -> float:
        """Seconds to wait before retry number `retries_done + 1`."""
        wait = self.retry_after(error) if isinstance(error, UpstreamError) else None
        if wait is not None:
            return min(wait, self.retry_after_cap)
        backoff = min(self.base_backoff * 2.0 ** min(retries_done, 64), self.max_backoff)
        return backoff * (1.0 - self.jitter * self.rng.random())

    def retry_after(self, error: UpstreamError) -> float | None:
        """The wait the upstream asked for (`retry-after-ms` first, as the OpenAI SDK reads it), uncapped."""
        millis = _number(_header(error.headers, "retry-after-ms"))
        if millis is not None:
            return max(millis / 1000.0, 0.0)
        value = _header(error.headers, "retry-after")
        if value is None:
            return None
        seconds = _number(value)
        if seconds is not None:
            return max(seconds, 0.0)
        return self._until_date(value)

    def _until_date(self, value: str) -> float | None:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less (or -0000) one is read as GMT too
            when = when.replace(tzinfo=UTC)
        return max(when.timestamp() - self.clock(), 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever case the upstream (and the adapter that kept it) spelled it in."""
    for key, value in headers.items():
        if key.lower() == name:
            return value.strip().lower() if name == "x-should-retry" else value.strip()
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
