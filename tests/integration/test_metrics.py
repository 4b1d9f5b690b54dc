"""`GET /metrics` scraped and parsed with prometheus_client's parser, its numbers checked against what the
test did through the official SDK; `/health?probe=1`; and `--workers 2` summing both workers' values."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import MASTER_KEY, UPSTREAM_KEY, gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI, Status
from tests.fakes.server import Server
from tests.process import HELLO, clean_env, log_lines, serving

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SECRET_MODEL = "sk-proj-0123456789abcdefABCDEF0123456789"


def scrape(base: str) -> tuple[str, Samples]:
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return response.text, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (n, have), value in samples.items() if n == name and wanted <= have)


@pytest.fixture
def metered(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    """A gateway of its own (fresh counters), open mode limited to 4 inference requests a minute, no retries."""
    config = gateway_config(upstream_server[1].base_url, limits={"open_mode_rpm": 4})
    config["providers"]["up"]["max_retries"] = 0
    with run_gateway(config) as server:
        yield server


def test_counters_match_what_was_sent(metered: Server, fake: FakeOpenAI) -> None:
    with sdk(metered) as client:
        plain = client.chat.completions.with_raw_response.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
        stream = client.chat.completions.create(  # type: ignore[call-overload]
            model="fast", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        streamed = [chunk.usage for chunk in stream if chunk.usage is not None]
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model=SECRET_MODEL, messages=HELLO)  # type: ignore[arg-type]
        fake.plan(Status(500))
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
        assert client.models.list().data  # GET /v1/models: counted, with no model
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="fast", messages=HELLO)  # type: ignore[arg-type]
    text, samples = scrape(metered.base_url)

    fast = {"model": "fast", "provider": "up", "deployment": "gpt-4o-mini"}
    assert total(samples, "llmrelay_requests_total", status="200", **fast) == 2
    assert total(samples, "llmrelay_requests_total", status="500", **fast) == 1
    assert total(samples, "llmrelay_requests_total", status="404") == 1
    assert total(samples, "llmrelay_requests_total", status="429") == 1
    assert total(samples, "llmrelay_requests_total") == 6  # /metrics and /health are not counted
    assert total(samples, "llmrelay_rate_limited_total", model="fast", limit="rpm") == 1
    assert total(samples, "llmrelay_request_duration_seconds_count", model="fast", provider="up") == 3
    assert total(samples, "llmrelay_time_to_first_token_seconds_count") == 1
    # overhead (total − time waiting on the upstream) for the non-stream requests that reached it
    assert total(samples, "llmrelay_gateway_overhead_seconds_count", model="fast", provider="up") == 2
    assert total(samples, "llmrelay_requests_in_flight") == 0

    usage = [plain.parse().usage, *streamed]
    prompt = sum(u.prompt_tokens for u in usage if u is not None)
    completion = sum(u.completion_tokens for u in usage if u is not None)
    assert total(samples, "llmrelay_tokens_total", model="fast", type="input") == prompt
    assert total(samples, "llmrelay_tokens_total", model="fast", type="output") == completion
    assert total(samples, "llmrelay_cost_usd_total", model="fast") >= float(plain.headers["x-llmrelay-cost-usd"])

    assert SECRET_MODEL not in text and UPSTREAM_KEY not in text and MASTER_KEY not in text
    assert total(samples, "llmrelay_requests_total", model="none", status="404") == 1  # refused before routing


def test_probe_checks_each_provider_live(metered: Server, upstream_server: tuple[FakeOpenAI, Server]) -> None:
    response = httpx.get(f"{metered.base_url}/health", params={"probe": "1"}, timeout=30)
    assert response.status_code == 200
    probe = response.json()["probe"]
    assert probe["up"]["ok"] is True and probe["up"]["latency_ms"] >= 0
    assert probe["down"] == {"ok": False, "latency_ms": probe["down"]["latency_ms"], "status": 502,
                             "error": "upstream_unreachable"}  # fmt: skip
    assert probe["relay"]["ok"] is False and probe["relay"]["status"] == 401  # passthrough: no key of its own
    assert set(probe) == {"up", "slow", "down", "relay", "hdr"}
    text = response.text
    assert UPSTREAM_KEY not in text and "127.0.0.1" not in text and "http" not in text
    assert "probe" not in httpx.get(f"{metered.base_url}/health", timeout=10).json()


def _chat(base: str) -> int:
    # A fresh connection each time, so the kernel may hand it to either worker.
    return httpx.post(f"{base}/v1/chat/completions", json={"model": "fast", "messages": HELLO}, timeout=10).status_code


def _workers_with_counters(directory: Path) -> set[str]:
    return {path.stem.rpartition("_")[2] for path in directory.glob("counter_*.db")}


def test_workers_sum_into_one_scrape(tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]) -> None:
    config: Mapping[str, Any] = gateway_config(upstream_server[1].base_url)
    path = tmp_path / "llmrelay.yaml"
    path.write_text(yaml.safe_dump(dict(config)))
    shared = tmp_path / "metrics"
    env = clean_env(PROMETHEUS_MULTIPROC_DIR=str(shared))  # a given directory is kept, so its files can be read
    with serving(["--config", str(path), "--workers", "2"], tmp_path, env) as (base, out):
        deadline = time.monotonic() + 30
        # Ready means one worker answers: wait (bounded) until both have started before counting.
        while sum(1 for line in log_lines(out) if line.get("event") == "started") < 2:
            assert time.monotonic() < deadline, "the second worker never started"
            time.sleep(0.05)  # polling a log file, not synchronising on time
        sent = 0
        while len(_workers_with_counters(shared)) < 2 or sent < 4:
            assert time.monotonic() < deadline and sent < 400, f"requests did not reach both workers ({sent} sent)"
            assert _chat(base) == 200
            sent += 1
        scrapes = [scrape(base)[1] for _ in range(4)]
    for samples in scrapes:  # whichever worker answers, it answers for both
        assert total(samples, "llmrelay_requests_total", model="fast", status="200") == sent
        assert total(samples, "llmrelay_request_duration_seconds_count", model="fast") == sent
        assert total(samples, "llmrelay_requests_in_flight") == 0
