"""The plan walk: try the candidate deployments in order, with retries, until one answers.

`run_plan` covers only the time before the first byte reaches the client. `attempt(deployment)`
must return as soon as the upstream has produced its answer (a whole body, or a stream whose
status line and first event are in hand) and before anything is written to the client; after that
nothing is ever retried: a failure mid-stream ends the client's stream with an error event, and
the caller reports it with `cooldowns.record_failure` itself.

For each candidate, in order (the model's group as balanced, then its `fallbacks`' deployments, then
the `default_fallbacks`'; duplicates are tried once):

- a deployment that is cooling down is skipped (while probing, one request goes through: the probe);
- a failure that is the upstream's (`RetryPolicy.should_fall_back`: 408, 429, 5xx, no answer) is
  recorded in `cooldowns`, then retried after `policy.delay(...)` while the policy allows, the
  deployment is still available and the deadline leaves time; then the walk moves on;
- a context-length error (`code: context_length_exceeded`) moves at once to `context_window_fallbacks`,
  when given, instead of the remaining candidates (they would overflow too);
- any other error (a 400, a 401 …) is raised at once: another deployment would refuse it as well.

When every candidate was skipped as cooling, `AllCoolingDownError` (503, `retry-after`) says when
one is expected back; when tries were made and all failed, the last failure is raised as it came;
when the deadline passed before any try, `UpstreamTimeoutError` (504).

    >>> answer = await run_plan(plan.deployments, send, policy, cooldowns, key=deployment_key)
    >>> answer.deployment.target.model, answer.value
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, NamedTuple, TypeVar

from llmrelay.errors import RelayError, UpstreamStatusError, UpstreamTimeoutError
from llmrelay.transport.cooldown import Cooldowns
from llmrelay.transport.retry import RetryPolicy

D = TypeVar("D")
T = TypeVar("T")

CONTEXT_LENGTH_CODE = "context_length_exceeded"


class Answer(NamedTuple, Generic[D, T]):
    """A NamedTuple: one is made per request."""

    value: T
    deployment: D
    """The deployment that answered: its model goes in the `model` field and `x-llmrelay-deployment`."""
    tries: int
    """Attempts made in all, the answering one included (1: the first try answered)."""
    position: int
    """Place of the answering deployment in the walk: 0 for the first choice, more after fallbacks."""


class AllCoolingDownError(UpstreamStatusError):
    """503: every deployment that could serve the request is cooling down; `retry-after` says for how long."""

    def __init__(self, keys: Sequence[str], until: float, now: float, model: str | None = None) -> None:
        seconds = max(1, math.ceil(until - now))
        what = f"the model '{model}'" if model else "this request"
        super().__init__(
            503,
            f"Every deployment that can serve {what} is cooling down after repeated upstream failures. "
            f"Retry in {seconds} s.",
            code="deployments_cooling_down",
            headers={"retry-after": str(seconds)},
        )
        self.keys = tuple(keys)
        self.until = until


async def run_plan(
    candidates: Sequence[D],
    attempt: Callable[[D], Awaitable[T]],
    policy: RetryPolicy | Callable[[D], RetryPolicy],
    cooldowns: Cooldowns,
    *,
    key: Callable[[D], str],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    context_window_fallbacks: Sequence[D] = (),
    clock: Callable[[], float] = time.time,
    deadline: float | None = None,
    model: str | None = None,
) -> Answer[D, T]:
    """The first answer of the walk described in the module docstring.

    `policy`: one for all, or per deployment (a provider's or model's `max_retries`). `clock` must be
    the cooldowns' clock; `deadline` (same clock) stops retries and fallbacks that would start after it.
    `model` names the public model in the all-cooling message.
    """
    if not candidates:
        raise ValueError("run_plan needs at least one candidate")
    walk = _Walk(candidates, attempt, policy, cooldowns, key, sleep, context_window_fallbacks, clock, deadline)
    answer = await walk.run()
    if answer is not None:
        return answer
    raise walk.final_error(model)


class _Walk(Generic[D, T]):
    def __init__(
        self,
        candidates: Sequence[D],
        attempt: Callable[[D], Awaitable[T]],
        policy: RetryPolicy | Callable[[D], RetryPolicy],
        cooldowns: Cooldowns,
        key: Callable[[D], str],
        sleep: Callable[[float], Awaitable[None]],
        context_window_fallbacks: Sequence[D],
        clock: Callable[[], float],
        deadline: float | None,
    ) -> None:
        self.attempt, self.cooldowns, self.key, self.sleep = attempt, cooldowns, key, sleep
        self.policy_for: Callable[[D], RetryPolicy] = (lambda _: policy) if isinstance(policy, RetryPolicy) else policy
        self.context_fallbacks, self.clock, self.deadline = context_window_fallbacks, clock, deadline
        self.queue = _unique(candidates, key, set())
        self.index = 0
        self.tries = 0
        self.switched = False
        self.cooling: dict[str, float] = {}
        self.last_error: RelayError | None = None

    async def run(self) -> Answer[D, T] | None:
        while self.index < len(self.queue) and not self._past_deadline(0.0):
            deployment = self.queue[self.index]
            self.index += 1
            name = self.key(deployment)
            if not await self.cooldowns.available(name):
                self.cooling[name] = await self.cooldowns.cooling_until(name) or self.clock()
                continue
            answer = await self._try(deployment, name)
            if answer is not None:
                return answer
        return None

    async def _try(self, deployment: D, name: str) -> Answer[D, T] | None:
        """One deployment, retried per its policy; None when the walk should move on."""
        policy = self.policy_for(deployment)
        retries = 0
        while True:
            self.tries += 1
            try:
                value = await self.attempt(deployment)
            except RelayError as error:
                if not await self._again(error, name, policy, retries):
                    return None
                retries += 1
                continue
            await self.cooldowns.record_success(name)
            return Answer(value, deployment, self.tries, self.index - 1)

    async def _again(self, error: RelayError, name: str, policy: RetryPolicy, retries: int) -> bool:
        """Whether to retry the same deployment now (having waited); raises what no other deployment can cure."""
        if error.code == CONTEXT_LENGTH_CODE and self.context_fallbacks:
            self.last_error = error
            self._switch_to_context_fallbacks()
            return False
        if not policy.should_fall_back(error):
            raise error
        self.last_error = error
        await self.cooldowns.record_failure(name, f"{error.status_code} {error.code or error.error_type}")
        if retries >= policy.max_retries or not policy.should_retry(error):
            return False
        wait = policy.delay(retries, error)
        if self._past_deadline(wait) or not await self.cooldowns.available(name):
            return False
        await self.sleep(wait)
        return True

    def _switch_to_context_fallbacks(self) -> None:
        """The rest of the walk becomes the context-window fallbacks (once), less what was already tried."""
        if self.switched:
            return
        self.switched = True
        visited = {self.key(d) for d in self.queue[: self.index]}
        self.queue[self.index :] = _unique(self.context_fallbacks, self.key, visited)

    def _past_deadline(self, wait: float) -> bool:
        return self.deadline is not None and self.clock() + wait >= self.deadline

    def final_error(self, model: str | None) -> RelayError:
        if self.last_error is not None:
            return self.last_error
        if self.cooling:
            return AllCoolingDownError(list(self.cooling), min(self.cooling.values()), self.clock(), model)
        return UpstreamTimeoutError("The request's deadline passed before any upstream was tried.")


def _unique(candidates: Sequence[D], key: Callable[[D], str], seen: set[str]) -> list[D]:
    if len(candidates) == 1 and not seen:  # the common plan: one deployment
        return list(candidates)
    out: list[D] = []
    for candidate in candidates:
        name = key(candidate)
        if name not in seen:
            seen.add(name)
            out.append(candidate)
    return out
