"""The rate-limit policy: which limits apply to whom, what a request reserves, the header formats."""

from __future__ import annotations

import pytest

from llmrelay.accounting.tokens import count_chat, count_text
from llmrelay.config.model import LimitsConfig
from llmrelay.errors import LimitsUnavailableError
from llmrelay.pipeline.context import KeyInfo, Principal
from llmrelay.pipeline.limits import Limiter, Quota, duration, reservation
from llmrelay.schemas.chat import ChatRequest
from llmrelay.schemas.completions import CompletionRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest
from llmrelay.storage.counters import MemoryLimits, RedisLimits

CONFIG = LimitsConfig(default_rpm=60, default_tpm=1000, open_mode_rpm=5)


def _limiter(config: LimitsConfig = CONFIG) -> Limiter:
    return Limiter(config, MemoryLimits())


@pytest.mark.parametrize(
    ("principal", "client", "quota"),
    [
        (Principal("key", key=KeyInfo("k1", "ci")), None, Quota("key:k1", 60, 1000)),
        (Principal("key", key=KeyInfo("k1", "ci", rpm=7)), None, Quota("key:k1", 7, 1000)),
        (Principal("key", key=KeyInfo("k1", "ci", rpm=0, tpm=0)), None, None),
        (Principal("open"), "10.0.0.7", Quota("ip:10.0.0.7", 5, 0)),
        (Principal("master", "sk-m"), "10.0.0.7", None),
        (Principal("bypass", "sk-b"), None, None),
        (Principal("unverified", "sk-x"), "10.0.0.7", None),
    ],
)
def test_who_is_limited(principal: Principal, client: str | None, quota: Quota | None) -> None:
    assert _limiter().quota(principal, client) == quota


def test_no_config_no_limits() -> None:
    assert _limiter(LimitsConfig()).quota(Principal("key", key=KeyInfo("k1", "ci")), None) is None


def test_chat_reserves_prompt_plus_allowance_times_n() -> None:
    messages = b'[{"role": "user", "content": "hello there"}]'
    prompt = count_chat([{"role": "user", "content": "hello there"}], "gpt-4o")
    plain = ChatRequest.parse(b'{"model": "gpt-4o", "messages": ' + messages + b"}")
    assert reservation(plain, 500) == (prompt, 500)
    capped = ChatRequest.parse(b'{"model": "gpt-4o", "max_tokens": 40, "n": 3, "messages": ' + messages + b"}")
    assert reservation(capped, 500) == (prompt, 120)
    newer = ChatRequest.parse(
        b'{"model": "gpt-4o", "max_tokens": 40, "max_completion_tokens": 9, "messages": ' + messages + b"}"
    )
    assert reservation(newer, 500) == (prompt, 9)


def test_completions_and_embeddings_reservations() -> None:
    many = CompletionRequest.parse(b'{"model": "gpt-3.5-turbo-instruct", "prompt": ["a b", "c"], "max_tokens": 5}')
    assert reservation(many, 100) == (count_text("a b", "gpt-3.5-turbo-instruct") + 1, 10)
    ids = CompletionRequest.parse(b'{"model": "m", "prompt": [1, 2, 3]}')
    assert reservation(ids, 100) == (3, 100)
    embed = EmbeddingsRequest.parse(b'{"model": "text-embedding-3-small", "input": ["hello", "hello"]}')
    assert reservation(embed, 100) == (2, 0)
    tokens = EmbeddingsRequest.parse(b'{"model": "text-embedding-3-small", "input": [[1, 2], [3]]}')
    assert reservation(tokens, 100) == (3, 0)


@pytest.mark.parametrize(
    ("ms", "text"), [(0, "0ms"), (250, "250ms"), (1000, "1s"), (1500, "1.5s"), (60_000, "1m0s"), (390_500, "6m30.5s")]
)
def test_duration_format(ms: int, text: str) -> None:
    assert duration(ms) == text


async def test_fail_closed_raises_503_and_fail_open_admits() -> None:
    principal = Principal("key", key=KeyInfo("k1", "ci"))
    for policy in ("open", "closed"):
        config = LimitsConfig(default_rpm=1, redis_failure=policy)
        limiter = Limiter(config, RedisLimits("redis://127.0.0.1:1/0"))
        try:
            if policy == "open":
                assert await limiter.admit(principal, None, lambda: (0, 0)) is None
            else:
                with pytest.raises(LimitsUnavailableError):
                    await limiter.admit(principal, None, lambda: (0, 0))
        finally:
            await limiter.stop()
