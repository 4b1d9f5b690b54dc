"""`llmrelay serve` and `llmrelay check-config` as real processes: config errors, discovery, logs, workers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
import yaml
from tests.conftest import MASTER_KEY, UPSTREAM_KEY, closed_port, gateway_config
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server
from tests.process import HELLO, clean_env, llmrelay, log_lines, serving


def write_config(tmp_path: Path, config: Mapping[str, object], name: str = "llmrelay.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict(config)))
    return path


def test_check_config_ok(tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]) -> None:
    path = write_config(tmp_path, gateway_config(upstream_server[1].base_url))
    result = llmrelay("check-config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("providers:\n  up: {type: nonsense}\n", "providers.up.type: unknown provider type 'nonsense'"),
        (
            "providers:\n  up: {type: openai}\nmodels:\n  - {name: m, provider: gone}\n",
            "models[0].provider: provider 'gone'",
        ),
        ("providers: [\n", "invalid YAML"),
        (
            "providers:\n  up:\n    type: openai\n    api_key: ${NOT_SET_ANYWHERE}\n",
            "providers.up.api_key: environment variable NOT_SET_ANYWHERE",
        ),
    ],
)
def test_bad_config_exits_2_naming_file_key_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    for args in (["check-config", str(path)], ["serve", "--config", str(path), "--port", str(closed_port())]):
        result = llmrelay(*args, cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert lines == [f"llmrelay: config error: {path}: {lines[0].split(': ', 3)[-1]}"]
        assert expected in lines[0] and str(path) in lines[0]


def test_serve_logs_json_with_request_id_and_never_a_key(
    tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]
) -> None:
    config = gateway_config(upstream_server[1].base_url, auth={"master_key": "${TEST_MASTER}"})
    path = write_config(tmp_path, config, "custom.yaml")
    env = clean_env(TEST_MASTER=MASTER_KEY)
    with serving(["--config", str(path)], tmp_path, env) as (base, out):
        auth = {"authorization": f"Bearer {MASTER_KEY}", "x-request-id": "log-me-1"}
        assert (
            httpx.post(
                f"{base}/v1/chat/completions", json={"model": "fast", "messages": HELLO}, headers=auth
            ).status_code
            == 200
        )
        assert (
            httpx.post(
                f"{base}/v1/chat/completions",
                json={"model": "fast"},
                headers={"authorization": "Bearer sk-wrong-secret"},
            ).status_code
            == 401
        )
    lines = log_lines(out)
    request = next(line for line in lines if line.get("request_id") == "log-me-1")
    assert request["model"] == "fast" and request["provider"] == "up" and request["status"] == 200
    assert isinstance(request["latency_ms"], float) and request["prompt_tokens"] == 5
    text = out.read_text()
    for secret in (MASTER_KEY, UPSTREAM_KEY, "sk-wrong-secret", "sk-x"):
        assert secret not in text
    assert any(line.get("status") == 401 for line in lines)


def test_log_level_none_prints_nothing(tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]) -> None:
    path = write_config(tmp_path, gateway_config(upstream_server[1].base_url))
    with serving(["--config", str(path)], tmp_path, clean_env(LOG_LEVEL="NONE")) as (base, out):
        assert httpx.post(f"{base}/v1/chat/completions", json={"model": "fast", "messages": HELLO}).status_code == 200
    assert out.read_text() == ""


def test_llmrelay_yaml_in_cwd_and_dotenv_are_picked_up(
    tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]
) -> None:
    config = gateway_config(upstream_server[1].base_url)
    config["providers"]["up"]["api_key"] = "${KEY_FROM_DOTENV}"
    write_config(tmp_path, config)
    (tmp_path / ".env").write_text(f"KEY_FROM_DOTENV={UPSTREAM_KEY}\n")
    with serving([], tmp_path, clean_env()) as (base, _):
        assert httpx.get(f"{base}/health").json()["config"].endswith("llmrelay.yaml")
        assert httpx.post(f"{base}/v1/chat/completions", json={"model": "fast", "messages": HELLO}).status_code == 200


def test_embedded_default_serves_providers_from_the_environment(
    tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]
) -> None:
    env = clean_env(
        OPENAI_API_KEY=UPSTREAM_KEY,
        OPENAI_BASE_URL=f"{upstream_server[1].base_url}/v1",
        MODEL_LIST_URL="http://127.0.0.1:9/models",
        MODEL_LIST_AUTH_TOKEN="catalog-secret-token",
    )
    with serving([], tmp_path, env) as (base, out):
        health = httpx.get(f"{base}/health").json()
        assert health["config"] == "<embedded default>"
        assert "openai" in health["providers"]
        catalog = health["catalogs"]["catalog"]  # auto-configured from MODEL_LIST_URL; nothing listens there
        assert catalog["state"] == "unavailable" and catalog["last_error"].startswith("the request failed")
        ids = {m["id"] for m in httpx.get(f"{base}/v1/models").json()["data"]}
        assert "gpt-4o-mini" in ids
        reply = httpx.post(f"{base}/v1/chat/completions", json={"model": "gpt-4o", "messages": HELLO})
        assert reply.status_code == 200
    assert "catalog-secret-token" not in out.read_text()


def test_embedded_default_without_keys_serves_the_local_model(tmp_path: Path) -> None:
    with serving([], tmp_path, clean_env()) as (base, out):
        ids = [m["id"] for m in httpx.get(f"{base}/v1/models").json()["data"]]
        assert "local/smollm2-135m-instruct" in ids
        assert all(i.startswith("local/") for i in ids), ids
        health = httpx.get(f"{base}/health").json()
        assert list(health["providers"]) == ["local"]
        assert health["upstreams"]["local"]["state"] == "not loaded"
    started = next(line for line in log_lines(out) if line.get("event") == "started")
    assert str(started["auth"]).startswith("open")


def test_workers_serve_on_one_port(tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]) -> None:
    path = write_config(tmp_path, gateway_config(upstream_server[1].base_url))
    with serving(["--config", str(path), "--workers", "2"], tmp_path, clean_env()) as (base, out):
        # Ready means one worker answers; wait (bounded) until the second has started too.
        deadline = time.monotonic() + 30
        while sum(1 for line in log_lines(out) if line.get("event") == "started") < 2:
            assert time.monotonic() < deadline, "the second worker never started"
            time.sleep(0.05)  # polling a log file, not synchronising on time
        for _ in range(4):
            assert (
                httpx.post(f"{base}/v1/chat/completions", json={"model": "fast", "messages": HELLO}).status_code == 200
            )
    assert sum(1 for line in log_lines(out) if line.get("event") == "started") == 2
