"""Retries, fallbacks, cooldowns, timeouts and load balancing, driven through the official SDK against
the fake OpenAI upstream's planned faults. Providers with different names point at the same fake, so
each deployment (`provider/upstream-model`) has its own cooldown state; `p*` serve gpt-4o-mini and
`q*` gpt-4o, so the fake's log says which one was asked."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from tests.conftest import UPSTREAM_KEY, closed_port, run_gateway, sdk
from tests.fakes.openai import CutStream, Delay, FakeOpenAI, Garbage, Status
from tests.fakes.server import Server
from tests.process import HELLO

from llmrelay.storage.db import Database
from llmrelay.storage.usage import UsageRecord, UsageStore

FAST = {"retry-after-ms": "1"}  # the retry-after the fake sends: honoured, and too short to slow the tests
CONTEXT_ERROR = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}


def _provider(url: str, **settings: Any) -> dict[str, Any]:
    return {"type": "openai", "base_url": f"{url}/v1", "api_key": UPSTREAM_KEY, "max_retries": 2, **settings}


def _config(url: str, db: Path, **overrides: Any) -> dict[str, Any]:
    providers = {name: _provider(url) for name in ("p1", "p2", "q1", "q2")}
    providers["dead"] = _provider(f"http://127.0.0.1:{closed_port()}", max_retries=0)
    providers["slow"] = _provider(url, max_retries=1, timeouts={"first_byte": 0.3})
    config: dict[str, Any] = {
        "database": f"sqlite:///{db}",
        "cooldown": {"allowed_failures": 5, "window": 60, "period": 30},
        "providers": providers,
        "models": [
            {"name": "m", "provider": "p1", "model": "gpt-4o-mini"},
            {"name": "primary", "provider": "p2", "model": "gpt-4o-mini", "max_retries": 1, "fallbacks": ["backup"]},
            {"name": "backup", "provider": "q1", "model": "gpt-4o"},
            {"name": "small", "provider": "p2", "model": "gpt-4o-mini", "context_window_fallbacks": ["big"]},
            {"name": "big", "provider": "q2", "model": "gpt-4o"},
            {"name": "gone", "provider": "dead", "model": "gpt-4o-mini", "fallbacks": ["backup"]},
            {"name": "slow", "provider": "slow", "model": "gpt-4o-mini"},
        ],
    }
    config.update(overrides)
    return config


@pytest.fixture
def gateway_for(tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Callable[..., Server]]:
    """Start a gateway of its own (fresh cooldowns and load measures) with `_config(**overrides)`."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> Server:
            return stack.enter_context(
                run_gateway(_config(upstream_server[1].base_url, tmp_path / "u.db", **overrides))
            )

        yield start


def _chat(client: openai.OpenAI, model: str) -> tuple[Any, Any]:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=HELLO)  # type: ignore[arg-type]
    return raw.parse(), raw.headers


def _models(fake: FakeOpenAI) -> list[str]:
    return [r.json["model"] for r in fake.requests if r.path == "/v1/chat/completions"]


def _health(server: Server) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/health", timeout=5)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _wait_for(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll `condition` until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_retries_then_success(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    fake.plan(Status(500, headers=FAST), Status(503, headers=FAST))
    with sdk(gateway_for()) as client:
        completion, headers = _chat(client, "m")
    assert completion.choices[0].message.content and len(fake.requests) == 3
    assert headers["x-llmrelay-model"] == "m" and headers["x-llmrelay-deployment"] == "p1/gpt-4o-mini"


def test_retry_after_is_honoured_up_to_the_cap(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    server = gateway_for(retry_after_cap=1)
    fake.plan(Status(429, headers={"retry-after": "0.01"}), Status(529, headers=FAST))
    with sdk(server) as client:
        _chat(client, "m")
        assert len(fake.requests) == 3  # 429 and 529 (Anthropic's overloaded) were both retried
        fake.reset()
        fake.plan(Status(429, headers={"retry-after": "30"}))  # longer than the cap: not waited for
        with pytest.raises(openai.RateLimitError):
            _chat(client, "m")
    assert len(fake.requests) == 1


def test_no_retry_on_a_client_error(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    fake.plan(Status(400))
    with sdk(gateway_for()) as client, pytest.raises(openai.BadRequestError):
        _chat(client, "primary")  # not retried, and no fallback: every deployment would refuse it too
    assert len(fake.requests) == 1


def test_fallback_after_retries_are_spent(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    fake.plan(Status(500, headers=FAST), Status(502, headers=FAST))
    with sdk(gateway_for()) as client:
        completion, headers = _chat(client, "primary")
    assert _models(fake) == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]
    assert completion.model == "gpt-4o"
    assert headers["x-llmrelay-model"] == "backup" and headers["x-llmrelay-deployment"] == "q1/gpt-4o"


def test_connection_refused_falls_back(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    with sdk(gateway_for()) as client:
        _, headers = _chat(client, "gone")
    assert headers["x-llmrelay-deployment"] == "q1/gpt-4o" and _models(fake) == ["gpt-4o"]


def test_context_window_fallback(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    fake.plan(Status(400, body=CONTEXT_ERROR))
    with sdk(gateway_for()) as client:
        completion, headers = _chat(client, "small")
    assert _models(fake) == ["gpt-4o-mini", "gpt-4o"] and completion.model == "gpt-4o"
    assert headers["x-llmrelay-model"] == "big"


def test_garbage_body_is_retried(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    fake.plan(Garbage())
    with sdk(gateway_for()) as client:
        completion, _ = _chat(client, "m")
    assert completion.choices and len(fake.requests) == 2


def test_cooldown_skips_a_failing_deployment_then_a_probe_lets_it_back(
    gateway_for: Callable[..., Server], fake: FakeOpenAI
) -> None:
    server = gateway_for(cooldown={"allowed_failures": 1, "window": 60, "period": 0.3})
    with sdk(server) as client:
        fake.plan(Status(500, headers=FAST), Status(500, headers=FAST))  # two failures of p2/gpt-4o-mini
        _chat(client, "primary")
        assert _models(fake) == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]
        fake.reset()
        _, headers = _chat(client, "primary")  # cooling: not contacted at all
        assert _models(fake) == ["gpt-4o"] and headers["x-llmrelay-deployment"] == "q1/gpt-4o"
        assert _health(server)["deployments"]["p2/gpt-4o-mini"]["last_error"] == "500 server_error"
        _wait_for(lambda: _health(server)["deployments"]["p2/gpt-4o-mini"]["state"] == "probing")
        fake.reset()
        _, headers = _chat(client, "primary")  # the probe succeeds: back in
        assert _models(fake) == ["gpt-4o-mini"] and headers["x-llmrelay-deployment"] == "p2/gpt-4o-mini"
    assert _health(server)["deployments"]["p2/gpt-4o-mini"]["state"] == "ok"


def test_all_cooling_is_503_with_retry_after(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    server = gateway_for(cooldown={"allowed_failures": 0, "window": 60, "period": 30})
    fake.plan(Status(500))
    body = {"model": "slow", "messages": HELLO}
    with httpx.Client(timeout=10) as http:
        assert http.post(f"{server.base_url}/v1/chat/completions", json=body).status_code == 500
        refused = http.post(f"{server.base_url}/v1/chat/completions", json=body)
    assert refused.status_code == 503 and 1 <= int(refused.headers["retry-after"]) <= 30
    assert refused.json()["error"]["code"] == "deployments_cooling_down"
    assert len(fake.requests) == 1
    health = _health(server)  # liveness holds while a deployment cools down
    assert health["status"] == "ok" and health["deployments"]["slow/gpt-4o-mini"]["state"] == "cooling"


def test_weighted_load_balancing(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    models = [
        {"name": "lb", "provider": "p1", "model": "gpt-4o-mini", "weight": 3},
        {"name": "lb", "provider": "q1", "model": "gpt-4o", "weight": 1},
    ]
    with sdk(gateway_for(models=models)) as client:
        for _ in range(200):
            client.chat.completions.create(model="lb", messages=HELLO)  # type: ignore[arg-type]
    share = _models(fake).count("gpt-4o-mini") / 200
    assert 0.65 <= share <= 0.85  # 0.75 expected; the bounds are over 3 standard deviations away


def test_slow_first_byte_is_retried_transparently(gateway_for: Callable[..., Server], fake: FakeOpenAI) -> None:
    fake.plan(Delay(5))
    with sdk(gateway_for()) as client:
        completion, _ = _chat(client, "slow")
        assert completion.choices and len(fake.requests) == 2
        fake.reset()
        fake.plan(Delay(5))
        stream: Any = client.chat.completions.create(model="slow", messages=HELLO, stream=True)  # type: ignore[arg-type]
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text and len(fake.requests) == 2


def test_stream_cut_midway_ends_with_an_error_and_is_never_retried(
    gateway_for: Callable[..., Server], fake: FakeOpenAI, tmp_path: Path
) -> None:
    server = gateway_for()
    fake.plan(CutStream(after_events=2))
    body = {"model": "m", "messages": HELLO, "stream": True}
    headers = {"x-request-id": "r-cut"}
    with httpx.Client(timeout=10) as http:
        response = http.post(f"{server.base_url}/v1/chat/completions", json=body, headers=headers)
    events = [orjson.loads(line[6:]) for line in response.content.splitlines() if line.startswith(b"data: {")]
    assert response.status_code == 200 and "error" in events[-1] and len(events) == 3
    assert len(fake.requests) == 1  # bytes had reached the client: never retried

    def recorded() -> UsageRecord | None:
        return next((r for r in _records(tmp_path / "u.db") if r.request_id == "r-cut"), None)

    _wait_for(lambda: recorded() is not None)
    record = recorded()
    assert record is not None and record.incomplete and record.streamed
    assert _health(server)["deployments"]["p1/gpt-4o-mini"]["last_error"] == "502 stream_interrupted"


def _records(db: Path) -> list[UsageRecord]:
    async def read() -> list[UsageRecord]:
        database = Database(f"sqlite:///{db}")
        try:
            return await UsageStore(database.engine).records()
        finally:
            await database.close()

    return asyncio.run(read())
