"""Metrics: what is observed is what a Prometheus parser reads back, labels stay bounded and secret-free,
and `--workers N` (multiprocess mode) sums over every worker."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from llmrelay.config.metrics_env import MULTIPROC_VAR, for_workers, multiprocess_dir
from llmrelay.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)
from llmrelay.observability.labels import FailureReason, failure_reason, looks_secret, status_label
from llmrelay.observability.metrics import AllowedLabels, Metrics, render_multiprocess
from llmrelay.pipeline.context import RequestRecord

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ALLOWED = AllowedLabels(
    models={"gpt-4o", "small"}, providers={"openai", "local"}, deployments={"gpt-4o-2024-08-06", "smollm2"}
)
WORKER = Path(__file__).with_name("metrics_worker.py")


def parse(text: bytes) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def record(
    model: str | None = "gpt-4o",
    provider: str | None = "openai",
    upstream_model: str | None = "gpt-4o-2024-08-06",
    tokens: tuple[int, int] | None = (10, 5),
) -> RequestRecord:
    rec = RequestRecord("req_test")
    rec.model, rec.provider, rec.upstream_model = model, provider, upstream_model
    if tokens is not None:
        rec.usage = {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)}
    return rec


GPT = {"model": "gpt-4o", "provider": "openai"}


def test_requests_tokens_and_cost_are_counted_as_observed() -> None:
    metrics = Metrics(ALLOWED)
    metrics.observe(record(), status=200, latency=0.3, cost_usd=Decimal("0.0015"))
    metrics.observe(record(tokens=(7, 3)), status=200, latency=0.2, cost_usd=0.0005)
    metrics.observe(record(tokens=None), status=429, latency=0.01)
    metrics.observe(record(None, None, None, None), status=401, latency=0.001)
    got = parse(metrics.render()[0])

    deployment = {**GPT, "deployment": "gpt-4o-2024-08-06"}
    assert value(got, "llmrelay_requests_total", **deployment, status="200") == 2
    assert value(got, "llmrelay_requests_total", **deployment, status="429") == 1
    unrouted = {"model": "none", "provider": "none", "deployment": "none", "status": "401"}
    assert value(got, "llmrelay_requests_total", **unrouted) == 1
    assert value(got, "llmrelay_tokens_total", **GPT, type="input") == 17
    assert value(got, "llmrelay_tokens_total", **GPT, type="output") == 8
    assert value(got, "llmrelay_cost_usd_total", **GPT) == pytest.approx(0.002)
    assert ("llmrelay_cost_usd_total", frozenset({"model": "none", "provider": "none"}.items())) not in got


def test_latency_histograms() -> None:
    metrics = Metrics(ALLOWED)
    metrics.observe(record(), status=200, latency=0.3, ttft=0.04, upstream=0.2998)
    metrics.observe(record(), status=200, latency=2.0, upstream=1.99)
    metrics.observe(record(), status=200, latency=0.7)
    got = parse(metrics.render()[0])

    assert value(got, "llmrelay_request_duration_seconds_count", **GPT) == 3
    assert value(got, "llmrelay_request_duration_seconds_sum", **GPT) == pytest.approx(3.0)
    assert value(got, "llmrelay_request_duration_seconds_bucket", **GPT, le="0.5") == 1
    assert value(got, "llmrelay_request_duration_seconds_bucket", **GPT, le="1.0") == 2
    assert value(got, "llmrelay_time_to_first_token_seconds_count", **GPT) == 1
    assert value(got, "llmrelay_time_to_first_token_seconds_bucket", **GPT, le="0.025") == 0
    assert value(got, "llmrelay_time_to_first_token_seconds_bucket", **GPT, le="0.05") == 1
    # Overhead only where the upstream time is known: 0.2 ms and 10 ms.
    assert value(got, "llmrelay_gateway_overhead_seconds_count", **GPT) == 2
    assert value(got, "llmrelay_gateway_overhead_seconds_sum", **GPT) == pytest.approx(0.0102)
    assert value(got, "llmrelay_gateway_overhead_seconds_bucket", **GPT, le="0.00025") == 1


def test_a_clock_oddity_is_clamped_not_recorded_negative() -> None:
    metrics = Metrics(ALLOWED)
    metrics.observe(record(), status=200, latency=0.1, upstream=0.2, cost_usd=float("nan"))
    got = parse(metrics.render()[0])
    assert value(got, "llmrelay_gateway_overhead_seconds_sum", **GPT) == 0
    assert value(got, "llmrelay_gateway_overhead_seconds_bucket", **GPT, le="0.0001") == 1


def test_in_flight_and_the_resilience_counters() -> None:
    metrics = Metrics(ALLOWED)
    for _ in range(3):
        metrics.request_started()
    metrics.request_ended()
    metrics.inc_retry(model="gpt-4o", provider="openai", deployment="gpt-4o-2024-08-06", reason="rate_limited")
    metrics.inc_retry(model="gpt-4o", provider="openai", deployment="gpt-4o-2024-08-06", reason="rate_limited")
    metrics.inc_fallback(model="gpt-4o", fallback="small", reason="context_window")
    metrics.inc_cooldown(provider="openai", deployment="gpt-4o-2024-08-06")
    metrics.inc_rate_limited("rpm", model="gpt-4o")
    metrics.inc_rate_limited("budget")
    got = parse(metrics.render()[0])

    assert value(got, "llmrelay_requests_in_flight") == 2
    retry = {**GPT, "deployment": "gpt-4o-2024-08-06", "reason": "rate_limited"}
    assert value(got, "llmrelay_upstream_retries_total", **retry) == 2
    assert value(got, "llmrelay_fallbacks_total", model="gpt-4o", fallback="small", reason="context_window") == 1
    assert value(got, "llmrelay_cooldowns_total", provider="openai", deployment="gpt-4o-2024-08-06") == 1
    assert value(got, "llmrelay_rate_limited_total", model="gpt-4o", limit="rpm") == 1
    assert value(got, "llmrelay_rate_limited_total", model="none", limit="budget") == 1


def test_a_reason_outside_the_declared_set_is_other() -> None:
    metrics = Metrics(ALLOWED)
    reason: FailureReason = "free text from somewhere"  # type: ignore[assignment]
    metrics.inc_fallback(model="gpt-4o", fallback="small", reason=reason)
    got = parse(metrics.render()[0])
    assert value(got, "llmrelay_fallbacks_total", model="gpt-4o", fallback="small", reason="other") == 1


def test_client_chosen_names_are_capped_to_what_the_config_serves() -> None:
    metrics = Metrics(ALLOWED)
    for i in range(50):
        metrics.observe(record(f"made-up-{i}", "openai", f"made-up-{i}"), status=404, latency=0.001)
    got = parse(metrics.render()[0])

    series = [labels for name, labels in got if name == "llmrelay_requests_total"]
    assert series == [
        frozenset({"model": "other", "provider": "openai", "deployment": "other", "status": "404"}.items())
    ]
    assert (
        value(got, "llmrelay_requests_total", model="other", provider="openai", deployment="other", status="404") == 50
    )


def test_no_secret_ever_becomes_a_label() -> None:
    secrets = ["sk-proj-AbCdEf0123456789", "sk-ant-api03-XyZ987654321", "AIzaSyA1b2C3d4E5f6G7h8I9j0", "gsk_live_abc"]
    # Even allowed (a catalog can list anything), a secret-looking value is refused.
    metrics = Metrics(AllowedLabels(models=set(secrets), providers=set(secrets), deployments=set(secrets)))
    rec = record(secrets[0], secrets[1], secrets[2])
    rec.key_id = secrets[3]
    rec.request_id = "req_" + "a1" * 20
    metrics.observe(rec, status=200, latency=0.1, ttft=0.01, upstream=0.05, cost_usd=1)
    metrics.inc_retry(model=secrets[0], provider=secrets[1], deployment=secrets[2], reason="server_error")
    metrics.inc_fallback(model=secrets[0], fallback="Bearer " + secrets[0], reason="timeout")
    metrics.inc_cooldown(provider=secrets[1], deployment=secrets[3])
    metrics.inc_rate_limited("tpm", model=secrets[3])
    text = metrics.render()[0].decode()

    for secret in [*secrets, rec.request_id, "Bearer"]:
        assert secret not in text
    assert 'model="other"' in text


@pytest.mark.parametrize(
    "name",
    [
        "gpt-4o-2024-08-06",
        "claude-3-5-sonnet-20241022",
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "@cf/meta/llama-3.1-8b-instruct",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "text-embedding-3-large",
        "gemini-2.0-flash-thinking-exp-01-21",
        "smollm2-135m",
        "dall-e-3",
    ],
)
def test_real_model_names_do_not_look_secret(name: str) -> None:
    assert not looks_secret(name)


@pytest.mark.parametrize(("status", "label"), [(200, "200"), (429, "429"), (503, "503"), (0, "0"), (1000, "0")])
def test_status_label_is_the_code(status: int, label: str) -> None:
    assert status_label(status) == label


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UpstreamStatusError(429, "slow down"), "rate_limited"),
        (UpstreamStatusError(529, "Overloaded"), "overloaded"),
        (UpstreamStatusError(503, "unavailable"), "overloaded"),
        (UpstreamStatusError(500, "oops"), "server_error"),
        (UpstreamStatusError(408, "timeout"), "timeout"),
        (UpstreamStatusError(400, "bad"), "other"),
        (UpstreamTimeoutError("no first byte"), "timeout"),
        (UpstreamUnreachableError("refused"), "connection"),
        (UpstreamProtocolError("garbage"), "bad_response"),
        (UpstreamError("?"), "other"),
    ],
)
def test_failure_reason(error: UpstreamError, reason: str) -> None:
    assert failure_reason(error) == reason


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(ALLOWED), Metrics(ALLOWED)
    first.observe(record(), status=200, latency=0.1)
    assert "llmrelay_requests_total{" not in second.render()[0].decode()


def test_render_negotiates_the_format() -> None:
    metrics = Metrics(ALLOWED)
    assert metrics.render()[1] == "text/plain; version=0.0.4; charset=utf-8"
    body, content_type = metrics.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_a_directory_without_multiprocess_mode_is_refused(tmp_path: Path) -> None:
    # This test process imported prometheus_client without PROMETHEUS_MULTIPROC_DIR: values are in memory.
    with pytest.raises(RuntimeError, match="before prometheus_client is first imported"):
        Metrics(ALLOWED, multiprocess_dir=tmp_path)


def _start_worker(count: int, status: int, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(count), str(status), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline() != "ready\n":  # the worker says so once its values are in the files
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"metrics worker failed: {err}")
    return proc


def test_workers_share_one_directory_and_render_sums_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_VAR, raising=False)
    with for_workers(2) as directory:
        assert directory is not None and multiprocess_dir() == directory
        workers = [_start_worker(3, 200, "close"), _start_worker(2, 502, "crash")]
        try:
            live = parse(render_multiprocess(directory)[0])
        finally:
            for proc in workers:
                proc.communicate("\n", timeout=30)
        after = parse(render_multiprocess(directory)[0])
        leftovers = list(directory.glob("gauge_live*"))
    assert [proc.returncode for proc in workers] == [0, 0]
    assert not directory.exists() and multiprocess_dir() is None

    labels = {"model": "m", "provider": "p", "deployment": "d"}
    for got in (live, after):
        assert value(got, "llmrelay_requests_total", **labels, status="200") == 3
        assert value(got, "llmrelay_requests_total", **labels, status="502") == 2
        assert value(got, "llmrelay_tokens_total", model="m", provider="p", type="input") == 50
        assert value(got, "llmrelay_tokens_total", model="m", provider="p", type="output") == 15
        assert value(got, "llmrelay_cost_usd_total", model="m", provider="p") == pytest.approx(1.25)
        assert value(got, "llmrelay_request_duration_seconds_count", model="m", provider="p") == 5
        assert value(got, "llmrelay_request_duration_seconds_sum", model="m", provider="p") == pytest.approx(2.5)
        assert value(got, "llmrelay_gateway_overhead_seconds_bucket", model="m", provider="p", le="0.1") == 0
        assert value(got, "llmrelay_gateway_overhead_seconds_bucket", model="m", provider="p", le="0.25") == 5
        assert value(got, "llmrelay_upstream_retries_total", **labels, reason="rate_limited") == 2
    # One request in flight per live worker; none once both are gone (the crashed one reaped at render).
    assert value(live, "llmrelay_requests_in_flight") == 2
    assert after.get(("llmrelay_requests_in_flight", frozenset()), 0) == 0
    assert leftovers == []
