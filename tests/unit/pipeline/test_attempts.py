"""The plan walk: retries, retry-after, fallbacks, cooldown skips and probes, all-cooling 503, context fallbacks.

Deployments are plain names and each attempt plays the next outcome of a script; `sleep` advances
the hand-moved clock instead of waiting, so no test sleeps.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence

import pytest

from llmrelay.errors import (
    InvalidRequestError,
    RelayError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from llmrelay.pipeline.attempts import AllCoolingDownError, Answer, run_plan
from llmrelay.pipeline.balancing import deployment_key
from llmrelay.pipeline.routing import Deployment
from llmrelay.providers.base import Target
from llmrelay.providers.registry import PROVIDERS
from llmrelay.transport.cooldown import CooldownSettings, MemoryCooldowns
from llmrelay.transport.retry import RetryPolicy

START = 1_750_000_000.0
POLICY = RetryPolicy(max_retries=2, base_backoff=0.5, max_backoff=8.0, jitter=0.0, rng=random.Random(0))
Outcome = str | BaseException


def status(code: int, error_code: str | None = None, **headers: str) -> UpstreamStatusError:
    kept = {k.replace("_", "-"): v for k, v in headers.items()}
    return UpstreamStatusError(code, f"HTTP {code}", code=error_code, headers=kept)


def too_long() -> UpstreamStatusError:
    return status(400, "context_length_exceeded")


class World:
    """A clock, its sleep, cooldowns on that clock, and scripted upstreams: each call plays the next outcome."""

    def __init__(self, scripts: Mapping[str, Sequence[Outcome]], settings: CooldownSettings | None = None) -> None:
        self.now = START
        self.slept: list[float] = []
        self.calls: list[str] = []
        self.scripts = {name: list(outcomes) for name, outcomes in scripts.items()}
        self.cooldowns = MemoryCooldowns(settings or CooldownSettings(threshold=5), now=self.clock)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def attempt(self, name: str) -> str:
        self.calls.append(name)
        outcome = self.scripts[name].pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def run(
        self,
        candidates: Sequence[str],
        policy: RetryPolicy | Callable[[str], RetryPolicy] = POLICY,
        **options: Sequence[str] | float | str,
    ) -> Answer[str, str]:
        return await run_plan(
            candidates,
            self.attempt,
            policy,
            self.cooldowns,
            key=str,
            sleep=self.sleep,
            clock=self.clock,
            **options,  # type: ignore[arg-type]
        )


async def test_the_first_answer_is_returned_untouched() -> None:
    world = World({"a": ["ok"]})
    answer = await world.run(["a", "b"])
    assert (answer.value, answer.deployment, answer.tries, answer.position) == ("ok", "a", 1, 0)
    assert world.slept == []
    assert (await world.cooldowns.status())["a"]["last_success"] == START


async def test_a_retryable_failure_is_retried_after_backoff_then_succeeds() -> None:
    world = World({"a": [status(503), UpstreamUnreachableError("refused"), "ok"]})
    answer = await world.run(["a", "b"])
    assert (answer.value, answer.deployment, answer.tries) == ("ok", "a", 3)
    assert world.slept == [0.5, 1.0]
    assert world.calls == ["a", "a", "a"]


async def test_retry_after_is_honoured() -> None:
    world = World({"a": [status(429, retry_after="3"), status(529, retry_after_ms="1500"), "ok"]})
    await world.run(["a"])
    assert world.slept == [3.0, 1.5]


async def test_a_400_is_neither_retried_nor_sent_to_a_fallback() -> None:
    world = World({"a": [status(400, "invalid_value")], "b": ["ok"]})
    with pytest.raises(UpstreamStatusError) as caught:
        await world.run(["a", "b"])
    assert caught.value.status_code == 400
    assert world.calls == ["a"]
    assert await world.cooldowns.status() == {}  # the client's mistake is not held against the deployment


async def test_fallback_after_the_retries_are_spent() -> None:
    world = World({"a": [status(500)] * 3, "b": [UpstreamTimeoutError("no first byte"), "ok"]})
    answer = await world.run(["a", "b"])
    assert (answer.value, answer.deployment, answer.tries, answer.position) == ("ok", "b", 5, 1)
    assert world.calls == ["a", "a", "a", "b", "b"]
    assert world.slept == [0.5, 1.0, 0.5]
    assert (await world.cooldowns.status())["a"]["recent_failures"] == 3


async def test_every_candidate_failing_raises_the_last_failure() -> None:
    world = World({"a": [status(500)] * 3, "b": [status(502)] * 3})
    with pytest.raises(UpstreamStatusError) as caught:
        await world.run(["a", "b"])
    assert caught.value.status_code == 502
    assert len(world.calls) == 6


async def test_x_should_retry_false_goes_straight_to_the_fallback() -> None:
    world = World({"a": [status(429, x_should_retry="false")], "b": ["ok"]})
    answer = await world.run(["a", "b"])
    assert answer.deployment == "b"
    assert world.slept == []


async def test_a_retry_after_beyond_the_cap_goes_straight_to_the_fallback() -> None:
    world = World({"a": [status(429, retry_after="3600")], "b": ["ok"]})
    assert (await world.run(["a", "b"])).deployment == "b"
    assert world.slept == []


async def test_per_deployment_policies() -> None:
    world = World({"a": [status(503), "never"], "b": [status(503), "ok"]})
    policies = {"a": RetryPolicy(max_retries=0), "b": POLICY}
    answer = await world.run(["a", "b"], policies.__getitem__)
    assert (answer.deployment, world.calls) == ("b", ["a", "b", "b"])


async def test_a_cooling_deployment_is_skipped() -> None:
    world = World({"a": [], "b": ["ok"]}, CooldownSettings(threshold=2, period=30))
    await world.cooldowns.record_failure("a")
    await world.cooldowns.record_failure("a")
    answer = await world.run(["a", "b"])
    assert (answer.deployment, answer.position, answer.tries, world.calls) == ("b", 1, 1, ["b"])


async def test_a_deployment_that_cools_down_mid_retries_is_left_at_once() -> None:
    world = World({"a": [status(503)] * 2, "b": ["ok"]}, CooldownSettings(threshold=2, period=30))
    policy = RetryPolicy(max_retries=5, jitter=0.0)
    answer = await world.run(["a", "b"], policy)
    assert (answer.deployment, world.calls, world.slept) == ("b", ["a", "a", "b"], [0.5])


async def test_after_the_cooldown_one_probe_goes_and_its_success_reopens_the_deployment() -> None:
    world = World({"a": ["probed", "ok"], "b": ["ok", "ok"]}, CooldownSettings(threshold=1, period=30))
    await world.cooldowns.record_failure("a")
    world.now += 30
    gate = asyncio.Event()
    probe_started = asyncio.Event()
    plain = world.attempt

    async def slow_a(name: str) -> str:
        if name == "a" and not gate.is_set():
            probe_started.set()
            await gate.wait()
        return await plain(name)

    world.attempt = slow_a  # type: ignore[method-assign]
    probe = asyncio.create_task(world.run(["a", "b"]))
    await probe_started.wait()
    during = await world.run(["a", "b"])  # the probe is in flight: this request goes to b
    gate.set()
    assert (await probe).deployment == "a"
    assert during.deployment == "b"
    assert (await world.run(["a", "b"])).deployment == "a"
    assert (await world.cooldowns.status())["a"]["state"] == "ok"


async def test_a_failed_probe_cools_it_down_again_and_the_fallback_answers() -> None:
    world = World({"a": [status(503)], "b": ["ok"]}, CooldownSettings(threshold=1, period=30))
    await world.cooldowns.record_failure("a")
    world.now += 30
    answer = await world.run(["a", "b"])
    assert (answer.deployment, world.calls, world.slept) == ("b", ["a", "b"], [])
    assert await world.cooldowns.cooling_until("a") == START + 60


async def test_all_cooling_is_a_503_that_says_when_to_retry() -> None:
    world = World({"a": [], "b": []}, CooldownSettings(threshold=1, period=30))
    await world.cooldowns.record_failure("a")
    world.now += 12.5
    await world.cooldowns.record_failure("b")
    with pytest.raises(AllCoolingDownError) as caught:
        await world.run(["a", "b"], model="gpt-4o")
    error = caught.value
    assert (error.status_code, error.code, error.headers) == (503, "deployments_cooling_down", {"retry-after": "18"})
    assert "'gpt-4o'" in error.message
    assert "cooling down" in error.message
    assert "Retry in 18 s" in error.message
    assert error.keys == ("a", "b")
    assert world.calls == []


async def test_a_context_length_error_moves_to_the_context_window_fallbacks_at_once() -> None:
    world = World({"a": [too_long()], "b": ["never"], "big": [too_long()], "bigger": ["ok"]})
    answer = await world.run(["a", "b"], context_window_fallbacks=["a", "big", "bigger"])
    assert (answer.deployment, answer.position) == ("bigger", 2)
    assert world.calls == ["a", "big", "bigger"]
    assert world.slept == []
    assert all(h["last_error"] is None for h in (await world.cooldowns.status()).values())


async def test_a_context_length_error_without_context_fallbacks_is_the_clients() -> None:
    world = World({"a": [InvalidRequestError("too long", code="context_length_exceeded")], "b": ["never"]})
    with pytest.raises(InvalidRequestError):
        await world.run(["a", "b"])
    assert world.calls == ["a"]


async def test_the_same_deployment_is_tried_once_per_walk() -> None:
    world = World({"a": [status(503)] * 3, "b": ["ok"]})
    answer = await world.run(["a", "a", "b", "a"])
    assert (answer.deployment, world.calls.count("a")) == ("b", 3)


async def test_no_retry_waits_past_the_deadline() -> None:
    world = World({"a": [status(503)] * 3, "b": ["ok"]})
    answer = await world.run(["a", "b"], deadline=START + 1.0)
    assert answer.deployment == "b"
    assert (world.calls, world.slept) == (["a", "a", "b"], [0.5])  # a second wait (1.0) would cross it


async def test_no_fallback_starts_after_the_deadline() -> None:
    world = World({"a": [UpstreamTimeoutError("no first byte")], "b": ["never"]})
    plain = world.attempt

    async def slow(name: str) -> str:
        world.now += 2.0  # the first-byte timeout ran out
        return await plain(name)

    world.attempt = slow  # type: ignore[method-assign]
    with pytest.raises(UpstreamTimeoutError):
        await world.run(["a", "b"], deadline=START + 1.0)
    assert world.calls == ["a"]


async def test_a_deadline_already_past_is_a_504() -> None:
    world = World({"a": ["never"]})
    with pytest.raises(UpstreamTimeoutError):
        await world.run(["a"], deadline=START)
    assert world.calls == []


async def test_a_bug_propagates_and_is_not_held_against_the_deployment() -> None:
    world = World({"a": [KeyError("bug")], "b": ["never"]})
    with pytest.raises(KeyError):
        await world.run(["a", "b"])
    assert await world.cooldowns.status() == {}


async def test_no_candidates_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="candidate"):
        await World({}).run([])


async def test_with_real_deployments_the_answer_names_the_one_that_answered() -> None:
    spec = PROVIDERS["openai"]
    first = Deployment("m", Target("down", "http://127.0.0.1:1/v1", "m-1"), spec)
    second = Deployment("m-fallback", Target("up", "http://127.0.0.1:2/v1", "m-2"), spec)
    cooldowns = MemoryCooldowns()

    async def attempt(d: Deployment) -> bytes:
        if d.target.provider == "down":
            raise UpstreamUnreachableError("refused")
        return b"{}"

    async def no_wait(_: float) -> None:
        return None

    answer = await run_plan([first, second], attempt, POLICY, cooldowns, key=deployment_key, sleep=no_wait)
    assert (answer.deployment.public_name, answer.deployment.target.model) == ("m-fallback", "m-2")
    assert set(await cooldowns.status()) == {"down/m-1", "up/m-2"}


def test_the_all_cooling_error_is_an_upstream_503() -> None:
    error: RelayError = AllCoolingDownError(["a"], START + 0.2, START)
    assert error.status_code == 503
    assert error.headers == {"retry-after": "1"}  # never 0: the client would come straight back
    assert "this request" in error.message
