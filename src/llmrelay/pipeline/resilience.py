"""The reliability policy around a request's attempts: retries, fallbacks, cooldowns, timeouts, load.

`Resilience` is built once from the config and holds what outlives a request: the cooldown state
(`MemoryCooldowns`, or `RedisCooldowns` when `redis:` is set, shared between processes), the load
measures the balancing strategies read (`LoadStats`), and one `RetryPolicy` per `max_retries`.
`run(plan, record, attempt)` walks the plan with `run_plan` (pipeline/attempts.py) under the plan's
`timeouts.total` deadline, and says which deployment answered on the record (and so in the
`x-llmrelay-model` / `x-llmrelay-deployment` headers and the usage record).

    >>> resilience = Resilience.from_config(config)
    >>> outcome = await resilience.run(plan, ctx.record, attempt)   # attempt(deployment) -> T
    >>> outcome.value; outcome.finish(tokens)                        # once the response has ended

`Events` is what the relay reports of its walks (retries, fallbacks, cooldowns entered): the metrics
object satisfies it; `NoEvents` is the default.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from llmrelay.config.model import Config
from llmrelay.errors import RelayError, UpstreamTimeoutError
from llmrelay.observability.labels import FailureReason, failure_reason
from llmrelay.pipeline.attempts import CONTEXT_LENGTH_CODE, run_plan
from llmrelay.pipeline.balancing import LoadStats, deployment_key
from llmrelay.pipeline.context import RequestRecord
from llmrelay.pipeline.routing import Deployment, Plan
from llmrelay.transport.cooldown import (
    Cooldowns,
    CooldownSettings,
    DeploymentHealth,
    MemoryCooldowns,
    RedisCooldowns,
)
from llmrelay.transport.retry import RetryPolicy

T = TypeVar("T")


class Events(Protocol):
    """What happened during a walk; `gateway.metrics` (observability/metrics.py) implements it."""

    def inc_retry(
        self, *, model: str | None, provider: str | None, deployment: str | None, reason: FailureReason
    ) -> None: ...

    def inc_fallback(self, *, model: str | None, fallback: str | None, reason: FailureReason) -> None: ...

    def inc_cooldown(self, *, provider: str | None, deployment: str | None) -> None: ...


class NoEvents:
    def inc_retry(
        self, *, model: str | None, provider: str | None, deployment: str | None, reason: FailureReason
    ) -> None:
        return None

    def inc_fallback(self, *, model: str | None, fallback: str | None, reason: FailureReason) -> None:
        return None

    def inc_cooldown(self, *, provider: str | None, deployment: str | None) -> None:
        return None


class NoCooldowns:
    """`cooldown: {enabled: false}`: every deployment is always available."""

    async def available(self, key: str) -> bool:
        return True

    async def record_failure(self, key: str, reason: str = "") -> None:
        return None

    async def record_success(self, key: str) -> None:
        return None

    async def cooling_until(self, key: str) -> float | None:
        return None

    async def status(self) -> dict[str, DeploymentHealth]:
        return {}


@dataclass(slots=True)
class Outcome(Generic[T]):
    value: T
    finish: Callable[[int], None]
    """Call once when the response has ended, with its total tokens (0 if unknown): the load measures."""
    key: str


@dataclass(slots=True)
class Resilience:
    cooldowns: Cooldowns
    stats: LoadStats = field(default_factory=LoadStats)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    events: Events = field(default_factory=NoEvents)
    clock: Callable[[], float] = time.time
    """Wall-clock seconds: the cooldowns' clock and the deadline's."""
    _policies: dict[int, RetryPolicy] = field(default_factory=dict)
    _observed: _Observed = field(init=False)

    def __post_init__(self) -> None:
        self._observed = _Observed(self.cooldowns, self.events)

    @classmethod
    def from_config(cls, config: Config, stats: LoadStats | None = None, events: Events | None = None) -> Resilience:
        settings = config.cooldown
        cooldowns: Cooldowns = NoCooldowns()
        if settings.enabled:
            cooling = CooldownSettings(settings.allowed_failures + 1, settings.window, settings.period)
            cooldowns = RedisCooldowns.from_url(config.redis, cooling) if config.redis else MemoryCooldowns(cooling)
        policy = RetryPolicy(retry_after_cap=config.retry_after_cap)
        return cls(cooldowns, stats or LoadStats(), policy, events or NoEvents())

    async def close(self) -> None:
        if isinstance(self.cooldowns, RedisCooldowns):
            await self.cooldowns.aclose()

    def policy_for(self, deployment: Deployment) -> RetryPolicy:
        policy = self._policies.get(deployment.max_retries)
        if policy is None:
            policy = self._policies[deployment.max_retries] = RetryPolicy(
                max_retries=deployment.max_retries,
                base_backoff=self.policy.base_backoff,
                max_backoff=self.policy.max_backoff,
                jitter=self.policy.jitter,
                retry_after_cap=self.policy.retry_after_cap,
                rng=self.policy.rng,
            )
        return policy

    async def run(self, plan: Plan, record: RequestRecord, attempt: Callable[[Deployment], Awaitable[T]]) -> Outcome[T]:
        """The first answer of the plan's walk; raises the walk's error (503 all cooling, 504 deadline …)."""
        walk = _Walk(self, plan, record, attempt)
        total = plan.first.timeouts.total
        answer = await run_plan(
            plan.candidates, walk.attempt, self.policy_for, self._observed,
            key=deployment_key, context_window_fallbacks=plan.context_fallbacks, clock=self.clock,
            deadline=None if total is None else self.clock() + total, model=plan.model,
        )  # fmt: skip
        return walk.answered(answer.value, answer.deployment)

    async def health(self) -> dict[str, dict[str, object]]:
        """Per deployment (`provider/upstream-model`) that has been tried: its cooldown state (last
        success, last error as "<status> <code>", cooling until: epoch seconds) and its load measures."""
        out: dict[str, dict[str, object]] = {key: dict(load) for key, load in self.stats.snapshot().items()}
        for key, health in (await self.cooldowns.status()).items():
            out.setdefault(key, {}).update(health)
        return dict(sorted(out.items()))

    async def stream_failed(self, key: str, error: str) -> None:
        """A stream broke after its first byte: counts against the deployment like any failure."""
        await self._observed.record_failure(key, error)


class _Walk(Generic[T]):
    """One request's attempts: load measures around each, events between them, the record kept current."""

    def __init__(
        self, owner: Resilience, plan: Plan, record: RequestRecord, attempt: Callable[[Deployment], Awaitable[T]]
    ) -> None:
        self.owner, self.plan, self.record, self.inner = owner, plan, record, attempt
        self.last: Deployment | None = None
        self.error: RelayError | None = None
        self.ttfb = 0.0

    async def attempt(self, deployment: Deployment) -> T:
        key = deployment_key(deployment)
        self._note(deployment)
        record, stats = self.record, self.owner.stats
        record.model, record.provider, record.upstream_model = (
            deployment.public_name, deployment.target.provider, deployment.target.model,
        )  # fmt: skip
        stats.started(key)
        started = time.perf_counter()
        try:
            value = await self.inner(deployment)
        except RelayError as error:
            waited = time.perf_counter() - started
            if record.attempts is not None:  # a traced request
                record.attempts.append((started, started + waited, deployment, error))
            record.upstream_seconds = (record.upstream_seconds or 0.0) + waited
            stats.finished(key, ttfb_s=waited if isinstance(error, UpstreamTimeoutError) else None)
            self.last, self.error = deployment, error
            raise
        self.ttfb = time.perf_counter() - started
        if record.attempts is not None:
            record.attempts.append((started, started + self.ttfb, deployment, None))
        record.upstream_seconds = (record.upstream_seconds or 0.0) + self.ttfb
        self.last = deployment
        return value

    def _note(self, deployment: Deployment) -> None:
        """Report the retry or the fallback this attempt is."""
        last, error, events = self.last, self.error, self.owner.events
        if last is None or error is None:
            return
        reason: FailureReason = "context_window" if error.code == CONTEXT_LENGTH_CODE else failure_reason(error)
        if last is deployment:
            target = deployment.target
            events.inc_retry(
                model=deployment.public_name, provider=target.provider, deployment=target.model,
                reason=reason,
            )  # fmt: skip
        else:
            events.inc_fallback(model=last.public_name, fallback=deployment.public_name, reason=reason)

    def answered(self, value: T, deployment: Deployment) -> Outcome[T]:
        key, ttfb, stats = deployment_key(deployment), self.ttfb, self.owner.stats
        done = False

        def finish(tokens: int) -> None:
            nonlocal done
            if not done:
                done = True
                stats.finished(key, ttfb_s=ttfb, tokens=tokens)

        return Outcome(value, finish, key)


class _Observed:
    """The cooldowns, reporting each deployment that enters a cool-down."""

    def __init__(self, cooldowns: Cooldowns, events: Events) -> None:
        self.inner, self.events = cooldowns, events

    async def available(self, key: str) -> bool:
        return await self.inner.available(key)

    async def record_failure(self, key: str, reason: str = "") -> None:
        before = await self.inner.cooling_until(key)
        await self.inner.record_failure(key, reason)
        if before is None and await self.inner.cooling_until(key) is not None:
            provider, _, upstream_model = key.partition("/")  # keys are "provider/upstream-model"
            self.events.inc_cooldown(provider=provider, deployment=upstream_model)

    async def record_success(self, key: str) -> None:
        await self.inner.record_success(key)

    async def cooling_until(self, key: str) -> float | None:
        return await self.inner.cooling_until(key)

    async def status(self) -> dict[str, DeploymentHealth]:
        return await self.inner.status()
