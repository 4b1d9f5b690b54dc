"""Load balancing: the order in which to try the deployments that share one model name.

A strategy orders the whole group, best first; the others follow as that model's own fallbacks.
The config's `routing_strategy` names one of `STRATEGIES`:

| name | first choice | ties and the rest |
|---|---|---|
| `weighted_random` (default) | drawn by `weight` | drawn by weight among those left |
| `least_in_flight` | fewest requests in flight here | weighted random |
| `lowest_latency` | lowest EWMA of time to first byte; never measured counts as 0 (try it) | weighted random |
| `usage_based` | fewest tokens in the last minute | weighted random |

A weight of 0 keeps a deployment out of first place unless every weight is 0; it stays in the
order, last. The measures live in one `LoadStats` per process, fed by the relay around each attempt
(event-loop only: no locks):

    >>> stats = LoadStats()
    >>> strategy = make_strategy("least_in_flight", stats)
    >>> first = strategy.order(plan.deployments)[0]
    >>> stats.started(deployment_key(first)); ...; stats.finished(deployment_key(first), ttfb_s=0.21, tokens=812)
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict

from llmrelay.pipeline.routing import Deployment

StrategyName = Literal["weighted_random", "least_in_flight", "lowest_latency", "usage_based"]


def deployment_key(deployment: Deployment) -> str:
    """The name one deployment's load, latency and cooldown are kept under: `provider/upstream-model`."""
    return deployment.key


class LoadSnapshot(TypedDict):
    in_flight: int
    ttfb_ewma_s: float | None
    tokens_last_minute: int


@dataclass(slots=True)
class _Load:
    in_flight: int = 0
    ttfb: float | None = None
    seconds: deque[tuple[int, int]] = field(default_factory=deque)
    """(whole second, tokens finished in it), at most one minute's worth."""


class LoadStats:
    """Per-deployment load measured in this process: requests in flight, EWMA of TTFB, tokens per minute.

    Call `started(key)` before an attempt and `finished(key, …)` once after it, whatever its outcome:
    `ttfb_s` is the time to the first byte (or the time given up waiting, for a timeout; None when
    there is nothing to measure), `tokens` the request's total once known.
    """

    def __init__(self, *, alpha: float = 0.3, window: float = 60.0, now: Callable[[], float] = time.monotonic) -> None:
        if not 0 < alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha, self.window = alpha, window
        self._now = now
        self._loads: dict[str, _Load] = {}

    def started(self, key: str) -> None:
        self._load(key).in_flight += 1

    def _load(self, key: str) -> _Load:
        load = self._loads.get(key)  # not setdefault: that would build a _Load (and its deque) every call
        if load is None:
            load = self._loads[key] = _Load()
        return load

    def finished(self, key: str, ttfb_s: float | None = None, tokens: int = 0) -> None:
        load = self._load(key)
        load.in_flight = max(load.in_flight - 1, 0)
        if ttfb_s is not None:
            load.ttfb = ttfb_s if load.ttfb is None else self.alpha * ttfb_s + (1 - self.alpha) * load.ttfb
        if tokens > 0:
            second = int(self._now())
            self._prune(load, second)
            if load.seconds and load.seconds[-1][0] == second:
                load.seconds[-1] = (second, load.seconds[-1][1] + tokens)
            else:
                load.seconds.append((second, tokens))

    def in_flight(self, key: str) -> int:
        load = self._loads.get(key)
        return load.in_flight if load else 0

    def latency(self, key: str) -> float | None:
        load = self._loads.get(key)
        return load.ttfb if load else None

    def tokens(self, key: str) -> int:
        """Tokens finished within the window (a minute by default)."""
        load = self._loads.get(key)
        if load is None:
            return 0
        self._prune(load, int(self._now()))
        return sum(tokens for _, tokens in load.seconds)

    def _prune(self, load: _Load, second: int) -> None:
        while load.seconds and load.seconds[0][0] <= second - self.window:
            load.seconds.popleft()

    def snapshot(self) -> dict[str, LoadSnapshot]:
        """For /health and /metrics."""
        return {
            key: {"in_flight": load.in_flight, "ttfb_ewma_s": load.ttfb, "tokens_last_minute": self.tokens(key)}
            for key, load in self._loads.items()
        }


class Strategy(Protocol):
    def order(self, group: Sequence[Deployment]) -> tuple[Deployment, ...]:
        """Every deployment of the group, the one to try first first."""
        ...


class WeightedRandom:
    """Weighted sampling without replacement (Efraimidis–Spirakis): P(first) = weight / total weight."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()

    def order(self, group: Sequence[Deployment]) -> tuple[Deployment, ...]:
        if len(group) <= 1:
            return tuple(group)
        all_zero = not any(d.weight > 0 for d in group)
        ranked = sorted(group, key=lambda d: self._rank(1 if all_zero else d.weight), reverse=True)
        return tuple(ranked)

    def _rank(self, weight: int) -> float:
        if weight <= 0:
            return -1.0  # below every drawn rank, which is in [0, 1)
        return float(self.rng.random() ** (1.0 / weight))


class ByMeasure:
    """Lowest `measure(key)` first; equal measures in weighted random order."""

    def __init__(self, measure: Callable[[str], float], rng: random.Random | None = None) -> None:
        self.measure = measure
        self._tiebreak = WeightedRandom(rng)

    def order(self, group: Sequence[Deployment]) -> tuple[Deployment, ...]:
        shuffled = self._tiebreak.order(group)
        return tuple(sorted(shuffled, key=lambda d: self.measure(deployment_key(d))))  # sorted() is stable


def _least_in_flight(stats: LoadStats, rng: random.Random | None) -> Strategy:
    return ByMeasure(lambda key: float(stats.in_flight(key)), rng)


def _lowest_latency(stats: LoadStats, rng: random.Random | None) -> Strategy:
    return ByMeasure(lambda key: stats.latency(key) or 0.0, rng)


def _usage_based(stats: LoadStats, rng: random.Random | None) -> Strategy:
    return ByMeasure(lambda key: float(stats.tokens(key)), rng)


STRATEGIES: Mapping[StrategyName, Callable[[LoadStats, random.Random | None], Strategy]] = {
    "weighted_random": lambda _stats, rng: WeightedRandom(rng),
    "least_in_flight": _least_in_flight,
    "lowest_latency": _lowest_latency,
    "usage_based": _usage_based,
}


def make_strategy(name: StrategyName, stats: LoadStats, rng: random.Random | None = None) -> Strategy:
    """The strategy the config names; `rng` makes its random choices repeatable (tests)."""
    return STRATEGIES[name](stats, rng)
