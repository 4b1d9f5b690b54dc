"""Rate limits: which RPM/TPM limits apply to a caller, admitting a request against them, settling it.

A virtual key is limited by its own `rpm`/`tpm`, or by `limits.default_rpm`/`default_tpm` when it has
none (0 on a key: no limit for it). In open mode every client IP is limited by `limits.open_mode_rpm`/
`open_mode_tpm`. The master key, bypass keys and passthrough tokens are not limited here.

TPM reserves up front what a request may use, the prompt's tokens (counted offline, exact for OpenAI
models) plus its `max_completion_tokens` / `max_tokens` (`limits.default_max_tokens` when it sets
neither), times `n`; capped at the TPM limit, so only a prompt that alone exceeds the limit is refused
outright. When the response ends the reservation is settled to the real usage.

    >>> limiter = Limiter(LimitsConfig(default_rpm=60), MemoryLimits())
    >>> lease = await limiter.admit(principal, client="10.0.0.7", estimate=lambda: (20, 100))
    >>> lease.headers()   # x-ratelimit-limit-requests: 60, x-ratelimit-remaining-requests: 59, ...
    >>> await lease.settle(record.usage, status=200)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from llmrelay.accounting.tokens import count_chat, count_text
from llmrelay.config.model import Config, LimitsConfig
from llmrelay.errors import LimitsUnavailableError, RateLimitError
from llmrelay.observability.labels import LimitKind
from llmrelay.observability.logging import get_logger
from llmrelay.pipeline.context import Principal
from llmrelay.schemas.chat import ChatRequest, Usage
from llmrelay.schemas.completions import CompletionRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest
from llmrelay.storage.counters import Decision, LimitStore, LimitStoreError, MemoryLimits, RedisLimits

WINDOW_MS = 60_000
Estimate = Callable[[], tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Quota:
    """The limits on one subject (`key:<id>` or `ip:<address>`); 0 is no limit."""

    subject: str
    rpm: int
    tpm: int


class LimitRefusal(RateLimitError):
    """429 from our own RPM/TPM limit; `limit` says which (the metrics' `limit` label)."""

    def __init__(self, message: str, *, limit: LimitKind, headers: Mapping[str, str]) -> None:
        super().__init__(message, headers=headers)
        self.limit: LimitKind = limit


class Lease:
    """One admitted request's place in its subject's window: the headers to send, and its settlement."""

    __slots__ = ("_decision", "_limiter", "_reserved", "_settled", "quota")

    def __init__(self, limiter: Limiter, quota: Quota, decision: Decision, reserved: int) -> None:
        self._limiter = limiter
        self.quota = quota
        self._decision = decision
        self._reserved = reserved
        self._settled = False

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(k.encode(), v.encode()) for k, v in rate_headers(self.quota, self._decision).items()]

    async def settle(self, usage: Usage | None, status: int) -> None:
        """Replace the reservation by the tokens really used. Without a usage, a failed request used
        nothing and a successful one keeps its reservation. Once only; never raises."""
        if self._settled or not self.quota.tpm:
            return
        self._settled = True
        used = _used(usage) if usage else (0 if status >= 400 or status == 0 else self._reserved)
        if used != self._reserved:
            await self._limiter.settle(self.quota, self._decision.entry, used)


class Limiter:
    """The rate-limit policy over a LimitStore (Redis when `redis:` is set, memory otherwise)."""

    def __init__(self, config: LimitsConfig, store: LimitStore) -> None:
        self.config = config
        self.store = store
        self._down = False
        self._log = get_logger()

    @classmethod
    def from_config(cls, config: Config) -> Limiter:
        if config.redis:
            return cls(config.limits, RedisLimits(config.redis, prefix=config.limits.redis_prefix))
        return cls(config.limits, MemoryLimits())

    async def start(self) -> None:
        await self.store.start()

    async def stop(self) -> None:
        await self.store.close()

    def quota(self, principal: Principal, client: str | None) -> Quota | None:
        """The limits that apply to this caller, or None when none do."""
        if principal.skips_limits:
            return None
        if principal.kind == "key" and principal.key is not None:
            key = principal.key
            rpm = self.config.default_rpm if key.rpm is None else key.rpm
            tpm = self.config.default_tpm if key.tpm is None else key.tpm
            subject = f"key:{key.id}"
        elif principal.kind == "open":
            rpm, tpm = self.config.open_mode_rpm, self.config.open_mode_tpm
            subject = f"ip:{client or 'unknown'}"
        else:
            return None
        return Quota(subject, rpm or 0, tpm or 0) if rpm or tpm else None

    async def admit(
        self, principal: Principal, client: str | None, estimate: Estimate, quota: Quota | None = None
    ) -> Lease | None:
        """Admit one request or raise RateLimitError (429) / LimitsUnavailableError (503, fail-closed).

        `estimate` gives (prompt tokens, completion allowance); it is called only under a TPM limit.
        `quota`: `self.quota(principal, client)` when the caller has it already.
        """
        quota = quota or self.quota(principal, client)
        if quota is None:
            return None
        reserve = _reserve(estimate, quota.tpm) if quota.tpm else 0
        try:
            decision = await self.store.acquire(
                quota.subject, rpm=quota.rpm, tpm=quota.tpm, tokens=reserve, window_ms=WINDOW_MS
            )
        except LimitStoreError as exc:
            self._unavailable(exc)  # raises when failing closed
            return None
        self._recovered()
        if not decision.allowed:
            raise _refusal(quota, decision, reserve)
        return Lease(self, quota, decision, reserve)

    async def settle(self, quota: Quota, entry: str, tokens: int) -> None:
        try:
            await self.store.settle(quota.subject, entry, tokens=tokens, window_ms=WINDOW_MS)
        except LimitStoreError as exc:  # the reservation stays: conservative, and gone in a minute
            self._log.warning("rate_limit_settle_failed", subject=quota.subject, error=str(exc))

    def _unavailable(self, exc: LimitStoreError) -> None:
        if not self._down:
            self._down = True
            self._log.error(
                "rate_limits_unavailable", error=str(exc), redis_failure=self.config.redis_failure,
                effect="requests pass unlimited" if self.config.redis_failure == "open" else "requests get 503",
            )  # fmt: skip
        if self.config.redis_failure == "closed":
            raise LimitsUnavailableError("Rate limits cannot be checked right now; try again shortly.")

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            self._log.warning("rate_limits_recovered")


def rate_headers(quota: Quota, decision: Decision) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers for the limits that apply (requests, tokens or both)."""
    headers: dict[str, str] = {}
    if quota.rpm:
        headers["x-ratelimit-limit-requests"] = str(quota.rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(quota.rpm - decision.requests, 0))
        headers["x-ratelimit-reset-requests"] = duration(decision.reset_requests_ms)
    if quota.tpm:
        headers["x-ratelimit-limit-tokens"] = str(quota.tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(quota.tpm - decision.tokens, 0))
        headers["x-ratelimit-reset-tokens"] = duration(decision.reset_tokens_ms)
    return headers


def duration(ms: int) -> str:
    """OpenAI's reset format: `250ms`, `1.5s`, `1m0s`, `6m30.5s`."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    minutes, rest = divmod(ms, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{seconds}" if minutes else seconds


def _refusal(quota: Quota, decision: Decision, reserve: int) -> LimitRefusal:
    headers = rate_headers(quota, decision)
    retry = decision.retry_after_ms
    if retry is None:
        message = (
            f"Request too large for the tokens-per-minute limit: limit {quota.tpm}, requested {reserve}. "
            "Reduce the prompt so that it fits."
        )
        return LimitRefusal(message, limit="tpm", headers=headers)
    headers["retry-after"] = str(max(math.ceil(retry / 1000), 1))
    headers["retry-after-ms"] = str(max(retry, 1))
    over_requests = quota.rpm and decision.requests >= quota.rpm
    limit = (
        f"requests per minute (RPM): limit {quota.rpm}"
        if over_requests
        else f"tokens per minute (TPM): limit {quota.tpm}, used {decision.tokens}, requested {reserve}"
    )
    message = f"Rate limit reached for {limit}. Try again in {duration(retry)}."
    return LimitRefusal(message, limit="rpm" if over_requests else "tpm", headers=headers)


def _reserve(estimate: Estimate, tpm: int) -> int:
    prompt, allowance = estimate()
    return prompt if prompt > tpm else min(prompt + allowance, tpm)


def _used(usage: Usage) -> int:
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    return int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)


def reservation(req: object, default_max_tokens: int) -> tuple[int, int]:
    """(prompt tokens counted offline, completion tokens it may generate) of a request."""
    if isinstance(req, ChatRequest):
        body: Mapping[str, object] = req.body
        tools = body.get("tools")
        prompt = count_chat(req.body["messages"], req.model, tools if isinstance(tools, list) else None)
        return prompt, _allowance(body, ("max_completion_tokens", "max_tokens"), default_max_tokens)
    if isinstance(req, CompletionRequest):
        prompt_value = req.body.get("prompt")
        prompts: Sequence[object] = prompt_value if isinstance(prompt_value, list) else [prompt_value]
        many = 1 if all(isinstance(p, int) for p in prompts) else len(prompts)  # token ids: one prompt
        allowance = _allowance(req.body, ("max_tokens",), default_max_tokens)
        return _count_inputs(prompts, req.model), max(many, 1) * allowance
    if isinstance(req, EmbeddingsRequest):
        return _count_inputs(req.inputs, req.model), 0
    return 0, 0


def _allowance(body: Mapping[str, object], fields: Sequence[str], default: int) -> int:
    limit = next((v for f in fields if isinstance(v := body.get(f), int) and v > 0), default)
    n = body.get("n")
    return limit * (n if isinstance(n, int) and n > 0 else 1)


def _count_inputs(inputs: Sequence[object], model: str) -> int:
    if inputs and all(isinstance(i, int) for i in inputs):
        return len(inputs)  # one prompt given as token ids
    return sum(count_text(i, model) if isinstance(i, str) else len(i) if isinstance(i, list) else 0 for i in inputs)
