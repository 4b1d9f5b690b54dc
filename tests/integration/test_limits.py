"""Rate limits through the official openai SDK: 429 with retry-after and OpenAI's x-ratelimit headers,
the same headers on successes, TPM reserved then settled, per-IP limits in open mode, Redis failure
policy, and two real gateway processes sharing one Redis window exactly.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
import yaml
from tests.conftest import MASTER_KEY, REDIS_URL, closed_port, delete_redis_prefix, gateway_config, run_gateway
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server
from tests.process import HELLO, clean_env, log_lines, serving

from llmrelay.accounting.tokens import count_chat

HEADERS = ("limit", "remaining", "reset")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the shared Redis, deleted after."""
    prefix = f"llmrelay_t_{uuid.uuid4().hex}:"
    yield prefix
    await delete_redis_prefix(prefix)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, redis_prefix: str) -> dict[str, Any]:
    """Config overrides for each counter store: in-process memory, or the Redis on this machine."""
    if request.param == "memory":
        return {}
    return {"redis": REDIS_URL, "limits": {"redis_prefix": redis_prefix}}


@contextlib.contextmanager
def limited_gateway(upstream: Server, tmp_path: Path, backend: dict[str, Any], **limits: Any) -> Iterator[Server]:
    overrides: dict[str, Any] = {"database": f"sqlite:///{tmp_path / 'relay.db'}", **backend}
    overrides["limits"] = {**backend.get("limits", {}), **limits}
    with run_gateway(gateway_config(upstream.base_url, **overrides)) as server:
        yield server


def sdk_from(server: Server, *, source: str = "127.0.0.1", api_key: str = "anything") -> openai.OpenAI:
    """An SDK client whose connections come from `source` (any 127.x address is this machine)."""
    # openai 3.x runs on httpx2: the client it is given must be one of those.
    http = httpx2.Client(transport=httpx2.HTTPTransport(local_address=source), timeout=10)
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=api_key, max_retries=0, http_client=http)


def ratelimit(headers: Mapping[str, str], kind: str) -> tuple[str | None, ...]:
    return tuple(headers.get(f"x-ratelimit-{part}-{kind}") for part in HEADERS)


async def test_open_mode_rpm_per_client_ip(
    upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path, backend: dict[str, Any]
) -> None:
    with limited_gateway(upstream_server[1], tmp_path, backend, open_mode_rpm=2) as gw, sdk_from(gw) as client:
        for remaining in ("1", "0"):
            raw = client.chat.completions.with_raw_response.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
            assert raw.http_response.status_code == 200
            assert ratelimit(raw.headers, "requests")[:2] == ("2", remaining)
            reset = raw.headers["x-ratelimit-reset-requests"]  # until the first request leaves the window
            assert reset == "1m0s" if remaining == "1" else reset.endswith("s")
            assert raw.headers.get("x-ratelimit-limit-tokens") is None  # no TPM limit: no token headers
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
        headers = refused.value.response.headers
        assert refused.value.status_code == 429
        assert refused.value.code == "rate_limit_exceeded"
        assert 55 <= int(headers["retry-after"]) <= 60
        assert 0 < int(headers["retry-after-ms"]) <= 60_000
        limit, left, reset_after = ratelimit(headers, "requests")
        assert (limit, left) == ("2", "0")
        assert reset_after is not None and reset_after.endswith("s")
        with sdk_from(gw, source="127.0.0.2") as other:  # another address has a window of its own
            assert (
                other.chat.completions.with_raw_response.create(model="fast", messages=HELLO).headers[  # type: ignore[arg-type]
                    "x-ratelimit-remaining-requests"
                ]
                == "1"
            )


async def test_streams_and_embeddings_carry_the_headers(
    upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path, backend: dict[str, Any]
) -> None:
    limits = {"open_mode_rpm": 10, "open_mode_tpm": 100_000}
    with limited_gateway(upstream_server[1], tmp_path, backend, **limits) as gw, sdk_from(gw) as client:
        with client.chat.completions.with_streaming_response.create(
            model="fast",
            messages=HELLO,  # type: ignore[arg-type]
            stream=True,
        ) as stream:
            assert ratelimit(stream.headers, "requests") == ("10", "9", "1m0s")
            assert stream.headers["x-ratelimit-limit-tokens"] == "100000"
            list(stream.iter_lines())
        raw = client.embeddings.with_raw_response.create(model="embed", input="hello world")
        assert ratelimit(raw.headers, "requests")[:2] == ("10", "8")


async def test_tpm_reserves_then_settles_to_real_usage(
    upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path, backend: dict[str, Any]
) -> None:
    limits = {"open_mode_tpm": 1000, "default_max_tokens": 300}
    prompt = count_chat(HELLO, "gpt-4o")
    with limited_gateway(upstream_server[1], tmp_path, backend, **limits) as gw, sdk_from(gw) as client:
        first = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO, max_tokens=100)  # type: ignore[arg-type]
        assert ratelimit(first.headers, "tokens") == ("1000", str(1000 - (prompt + 100)), "1m0s")
        assert first.headers.get("x-ratelimit-limit-requests") is None
        usage = first.parse().usage
        assert usage is not None and usage.total_tokens != prompt + 100
        # The first request now counts for its real usage; this one reserves the default allowance.
        second = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)  # type: ignore[arg-type]
        used = usage.total_tokens + prompt + 300
        assert second.headers["x-ratelimit-remaining-tokens"] == str(1000 - used)


async def test_tpm_refuses_what_does_not_fit(
    upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path, backend: dict[str, Any]
) -> None:
    with limited_gateway(upstream_server[1], tmp_path, backend, open_mode_tpm=500) as gw, sdk_from(gw) as client:
        long = [{"role": "user", "content": "word " * 300}]  # ~307 tokens: one fits in 500, two do not
        client.chat.completions.create(model="gpt-4o", messages=long, max_tokens=10)  # type: ignore[arg-type]
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="gpt-4o", messages=long, max_tokens=10)  # type: ignore[arg-type]
        assert "tokens per minute" in refused.value.message
        assert int(refused.value.response.headers["retry-after"]) >= 1
        huge = [{"role": "user", "content": "word " * 600}]
        with pytest.raises(openai.RateLimitError) as too_large:
            client.chat.completions.create(model="gpt-4o", messages=huge)  # type: ignore[arg-type]
        assert "too large" in too_large.value.message
        assert "retry-after" not in too_large.value.response.headers  # waiting would not help


@pytest.mark.parametrize(("policy", "status"), [("open", 200), ("closed", 503)])
async def test_redis_down_follows_the_configured_policy(
    upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path, policy: str, status: int
) -> None:
    backend = {"redis": f"redis://127.0.0.1:{closed_port()}/0"}
    with (
        limited_gateway(upstream_server[1], tmp_path, backend, open_mode_rpm=1, redis_failure=policy) as gw,
        sdk_from(gw) as client,
    ):
        for _ in range(2):  # a limit of 1 would refuse the second, if it were counted
            if status == 200:
                raw = client.chat.completions.with_raw_response.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
                assert raw.headers.get("x-ratelimit-limit-requests") is None
            else:
                with pytest.raises(openai.InternalServerError) as unavailable:
                    client.chat.completions.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
                assert unavailable.value.status_code == 503
                assert unavailable.value.code == "rate_limits_unavailable"


async def test_keys_default_limit_and_bypass(
    upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path, backend: dict[str, Any]
) -> None:
    auth = {"master_key": MASTER_KEY, "bypass_keys": ["sk-bypass-test-0123456789"]}
    overrides: dict[str, Any] = {"database": f"sqlite:///{tmp_path / 'relay.db'}", "auth": auth, **backend}
    overrides["limits"] = {**backend.get("limits", {}), "default_rpm": 1}
    with run_gateway(gateway_config(upstream_server[1].base_url, **overrides)) as gw:
        own = _create_key(gw.base_url, rpm=2)
        default = _create_key(gw.base_url)
        with sdk_from(gw, api_key=default) as client:
            client.chat.completions.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
        with sdk_from(gw, api_key=own) as client:
            for remaining in ("1", "0"):
                raw = client.chat.completions.with_raw_response.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
                assert raw.headers["x-ratelimit-remaining-requests"] == remaining
        for key in ("sk-bypass-test-0123456789", MASTER_KEY):
            with sdk_from(gw, api_key=key) as client:
                for _ in range(3):
                    raw = client.chat.completions.with_raw_response.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
                    assert raw.headers.get("x-ratelimit-limit-requests") is None


def _create_key(base_url: str, **fields: Any) -> str:
    body = {"name": f"limits-{uuid.uuid4().hex[:8]}", **fields}
    answer = httpx.post(f"{base_url}/admin/keys", json=body, headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def test_two_processes_share_one_redis_window_exactly(
    upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path, redis_prefix: str, postgres_url: str
) -> None:
    """The headline: a key limited to N RPM gets exactly N through two gateways sharing PostgreSQL
    (the key) and Redis (the window), whichever gateway each request hits."""
    limit, attempts = 5, 16
    config = gateway_config(
        upstream_server[1].base_url,
        auth={"master_key": MASTER_KEY},
        database=postgres_url,
        redis=REDIS_URL,
        limits={"redis_prefix": redis_prefix},
    )
    path = tmp_path / "llmrelay.yaml"
    path.write_text(yaml.safe_dump(config))
    env = clean_env()
    with (
        serving(["--config", str(path)], tmp_path, env) as (one, _),
        serving(["--config", str(path)], tmp_path, env) as (two, _),
    ):
        key = _create_key(one, rpm=limit)

        def call(i: int) -> httpx.Response:
            body = {"model": "fast", "messages": HELLO}
            headers = {"authorization": f"Bearer {key}"}
            return httpx.post(f"{(one, two)[i % 2]}/v1/chat/completions", json=body, headers=headers)

        # Alternating, one at a time: each process admits some, every one counted in the shared window.
        first = [call(i) for i in range(limit - 1)]
        assert [a.status_code for a in first] == [200] * (limit - 1)
        assert [a.headers["x-ratelimit-remaining-requests"] for a in first] == [
            str(limit - 1 - i) for i in range(limit - 1)
        ]
        # Then a burst at both at once: exactly one more gets through.
        with ThreadPoolExecutor(8) as pool:
            burst = list(pool.map(call, range(attempts)))
    assert sorted(a.status_code for a in burst) == [200] + [429] * (attempts - 1)
    for answer in first + burst:
        assert answer.headers["x-ratelimit-limit-requests"] == str(limit)
    for answer in burst:
        if answer.status_code == 429:
            assert answer.headers["x-ratelimit-remaining-requests"] == "0"
            assert int(answer.headers["retry-after"]) >= 1


def test_a_process_logs_redis_failure(upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path) -> None:
    config = gateway_config(
        upstream_server[1].base_url,
        database=f"sqlite:///{tmp_path / 'relay.db'}",
        redis=f"redis://127.0.0.1:{closed_port()}/0",
        limits={"open_mode_rpm": 5, "redis_failure": "closed"},
    )
    path = tmp_path / "llmrelay.yaml"
    path.write_text(yaml.safe_dump(config))
    with serving(["--config", str(path)], tmp_path, clean_env()) as (base, out):
        answer = httpx.post(f"{base}/v1/chat/completions", json={"model": "fast", "messages": HELLO})
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "rate_limits_unavailable"
    events = [line for line in log_lines(out) if line.get("event") == "rate_limits_unavailable"]
    assert len(events) == 1
    assert events[0]["redis_failure"] == "closed"
