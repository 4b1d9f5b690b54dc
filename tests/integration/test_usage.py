"""Usage records, cost and security headers, end to end: a real `llmrelay serve` stopped with SIGTERM
leaves every record in its database; /admin/usage and `llmrelay usage` total them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from tests.conftest import MASTER_KEY, gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI, Hang
from tests.fakes.server import Server
from tests.process import HELLO, clean_env, llmrelay, serving

from llmrelay.accounting.tokens import count_chat, count_completion
from llmrelay.api.security import DOCS_SOURCES
from llmrelay.storage.db import Database
from llmrelay.storage.usage import UsageRecord, UsageStore

PRICE = {"input_per_mtok": 1000, "output_per_mtok": 2000}  # $0.001 / $0.002 per token: easy sums
SECURITY = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _config(upstream_url: str, db: Path) -> dict[str, Any]:
    config = gateway_config(upstream_url, auth={"master_key": MASTER_KEY}, database=f"sqlite:///{db}")
    config["models"] = [
        {"name": "priced", "provider": "up", "model": "gpt-4o-mini", "price": PRICE},
        *config["models"],
    ]
    return config


def _streamed_text(body: bytes) -> str:
    chunks = [orjson.loads(line[6:]) for line in body.splitlines() if line.startswith(b"data: {")]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _records(db: Path) -> list[UsageRecord]:
    async def read() -> list[UsageRecord]:
        database = Database(f"sqlite:///{db}")
        try:
            return await UsageStore(database.engine).records()
        finally:
            await database.close()

    return asyncio.run(read())


def _post(http: httpx.Client, base: str, rid: str, body: dict[str, Any], key: str = MASTER_KEY) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", "x-request-id": rid}
    return http.post(f"{base}/v1/chat/completions", json=body, headers=headers)


def _abort_stream(http: httpx.Client, base: str, fake: FakeOpenAI) -> None:
    fake.plan(Hang())
    body = {"model": "priced", "messages": HELLO, "stream": True}
    headers = {"authorization": f"Bearer {MASTER_KEY}", "x-request-id": "r-abort"}
    with http.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers) as response:
        assert next(response.iter_raw()).startswith(b"data: {")
    assert fake.disconnected.wait(5)


def test_sigterm_flushes_every_record(tmp_path: Path, fake: FakeOpenAI, upstream_server: tuple[Any, Server]) -> None:
    db = tmp_path / "usage.db"
    path = tmp_path / "llmrelay.yaml"
    path.write_text(yaml.safe_dump(_config(upstream_server[1].base_url, db)))
    with serving(["--config", str(path)], tmp_path, clean_env()) as (base, _), httpx.Client(timeout=10) as http:
        plain = _post(http, base, "r-json", {"model": "priced", "messages": HELLO})
        assert plain.status_code == 200
        usage = plain.json()["usage"]
        expected = Decimal(usage["prompt_tokens"]) / 1000 + Decimal(usage["completion_tokens"]) * 2 / 1000
        assert Decimal(plain.headers["x-llmrelay-cost-usd"]) == expected
        stream = _post(http, base, "r-stream", {"model": "priced", "messages": HELLO, "stream": True})
        assert stream.status_code == 200 and "x-llmrelay-cost-usd" not in stream.headers
        with_usage = {"model": "priced", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
        assert _post(http, base, "r-stream-usage", with_usage).status_code == 200
        _abort_stream(http, base, fake)
        missing = _post(http, base, "r-404", {"model": "nope", "messages": HELLO})
        assert missing.status_code == 404 and missing.headers["x-llmrelay-cost-usd"] == "0"
        assert _post(http, base, "r-401", {"model": "priced", "messages": HELLO}, key="wrong").status_code == 401
        many = [f"r-many-{n}" for n in range(30)]
        for rid in many:
            assert _post(http, base, rid, {"model": "fast", "messages": HELLO}).status_code == 200
    records = {r.request_id: r for r in _records(db)}  # the process is gone: only the flush put them there
    assert set(records) == {"r-json", "r-stream", "r-stream-usage", "r-abort", "r-404", "r-401", *many}

    json_record = records["r-json"]
    assert (json_record.status, json_record.streamed, json_record.tokens_estimated) == (200, False, False)
    assert (json_record.model, json_record.provider, json_record.deployment) == ("priced", "up", "gpt-4o-mini")
    assert json_record.prompt_tokens == usage["prompt_tokens"] and json_record.cost_usd == expected
    assert json_record.ttft_ms is not None and 0 < json_record.ttft_ms <= json_record.latency_ms
    assert json_record.path == "/v1/chat/completions"

    counted = records["r-stream"]  # a passthrough stream without usage: counted offline
    assert counted.streamed and counted.tokens_estimated and counted.status == 200
    assert counted.prompt_tokens == count_chat(HELLO, "gpt-4o-mini")
    assert counted.completion_tokens == count_completion(_streamed_text(stream.content), "gpt-4o-mini") > 0
    reported = records["r-stream-usage"]
    assert reported.streamed and not reported.tokens_estimated and reported.prompt_tokens == usage["prompt_tokens"]

    aborted = records["r-abort"]
    assert aborted.status == 499 and aborted.streamed and aborted.tokens_estimated
    assert aborted.prompt_tokens == count_chat(HELLO, "gpt-4o-mini") and aborted.cost_usd is not None

    assert records["r-404"].status == 404 and records["r-404"].prompt_tokens is None
    assert records["r-401"].status == 401 and records["r-401"].key_id is None
    assert records["r-many-0"].model == "fast"


@pytest.fixture
def usage_gateway(tmp_path: Path, upstream_server: tuple[Any, Server]) -> Iterator[Server]:
    with run_gateway(_config(upstream_server[1].base_url, tmp_path / "admin.db")) as server:
        yield server


def _admin(server: Server, auth: str = MASTER_KEY, **params: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/admin/usage", params=params, headers={"authorization": f"Bearer {auth}"})


def test_admin_usage_totals_filters_and_groups(usage_gateway: Server, fake: FakeOpenAI) -> None:
    with sdk(usage_gateway, MASTER_KEY) as client:
        for model in ("priced", "priced", "fast"):
            client.chat.completions.create(model=model, messages=HELLO)  # type: ignore[arg-type]
    everything = _admin(usage_gateway).json()
    assert everything["object"] == "usage.summary" and everything["groups"] == []
    totals = everything["totals"]
    assert totals["requests"] == 3 and totals["total_tokens"] == totals["prompt_tokens"] + totals["completion_tokens"]
    by_model = {g["group"]: g for g in _admin(usage_gateway, group_by="model").json()["groups"]}
    assert {name: g["requests"] for name, g in by_model.items()} == {"fast": 1, "priced": 2}
    assert by_model["priced"]["cost_usd"] > 0 and totals["cost_usd"] >= by_model["priced"]["cost_usd"]
    assert _admin(usage_gateway, model="fast").json()["totals"]["requests"] == 1
    assert _admin(usage_gateway, provider="up", group_by="key").json()["groups"][0]["group"] == ""
    assert _admin(usage_gateway, group_by="day").json()["groups"][0]["requests"] == 3
    assert _admin(usage_gateway, **{"from": "2000-01-01", "to": "2000-01-02"}).json()["totals"]["requests"] == 0
    assert _admin(usage_gateway, **{"from": "1h"}).json()["totals"]["requests"] == 3
    bad = _admin(usage_gateway, **{"from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "from"
    assert _admin(usage_gateway, group_by="week").status_code == 400
    assert _admin(usage_gateway, auth="wrong").status_code == 401
    assert _admin(usage_gateway, key="key_nobody").json()["totals"]["requests"] == 0


def test_records_name_the_virtual_key_that_called(usage_gateway: Server, fake: FakeOpenAI) -> None:
    admin = {"authorization": f"Bearer {MASTER_KEY}"}
    created = httpx.post(f"{usage_gateway.base_url}/admin/keys", json={"name": "team"}, headers=admin)
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    with sdk(usage_gateway, key) as client:
        client.chat.completions.create(model="priced", messages=HELLO)  # type: ignore[arg-type]
    by_key = {g["group"]: g["requests"] for g in _admin(usage_gateway, group_by="key").json()["groups"]}
    assert by_key == {key_id: 1}
    assert _admin(usage_gateway, key=key_id).json()["totals"]["cost_usd"] > 0


def test_cli_usage_prints_the_same_totals(tmp_path: Path, usage_gateway: Server, fake: FakeOpenAI) -> None:
    with sdk(usage_gateway, MASTER_KEY) as client:
        client.chat.completions.create(model="priced", messages=HELLO)  # type: ignore[arg-type]
    served = _admin(usage_gateway, group_by="model").json()
    config = tmp_path / "cli.yaml"
    config.write_text(yaml.safe_dump({"database": f"sqlite:///{tmp_path / 'admin.db'}"}))
    printed = llmrelay("usage", "--config", str(config), "--group-by", "model", "--json", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert orjson.loads(printed.stdout) == served
    table = llmrelay("usage", "--config", str(config), "--model", "priced", cwd=tmp_path)
    assert table.returncode == 0 and re.search(r"^total\s+1\s", table.stdout, re.MULTILINE), table.stdout
    bad = llmrelay("usage", "--config", str(config), "--since", "never", cwd=tmp_path)
    assert bad.returncode == 2 and "from" in bad.stderr


def _assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert response.headers[name] == value, name
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "camera=()" in response.headers["permissions-policy"]


def test_security_headers_on_json_sse_and_errors(gateway: Server, fake: FakeOpenAI) -> None:
    url = f"{gateway.base_url}/v1/chat/completions"
    responses = [
        httpx.post(url, json={"model": "fast", "messages": HELLO}),
        httpx.post(url, json={"model": "fast", "messages": HELLO, "stream": True}),
        httpx.post(url, content=b"{"),
        httpx.get(f"{gateway.base_url}/nowhere"),
        httpx.get(f"{gateway.base_url}/health"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 400, 404, 200]
    for response in responses:
        _assert_security_headers(response)
        assert response.headers["content-security-policy"].count("'none'") >= 2


def test_docs_render_under_their_own_policy(gateway: Server) -> None:
    docs = httpx.get(f"{gateway.base_url}/docs")
    assert docs.status_code == 200
    _assert_security_headers(docs)
    directives = (part.strip().partition(" ") for part in docs.headers["content-security-policy"].split(";"))
    policy = {name: value for name, _, value in directives}
    html = docs.text
    for src in re.findall(r'<script src="([^"]+)"', html):
        assert src.startswith(DOCS_SOURCES["script-src"]) and src.startswith(policy["script-src"].split()[0])
    for href in re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', html):
        assert href.startswith(policy["style-src"])
    for href in re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html):
        assert any(href.startswith(source) for source in policy["img-src"].split() if source.startswith("https:"))
    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert inline, "FastAPI's docs page runs an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert "'self'" in policy["connect-src"]  # Swagger UI fetches /openapi.json
    assert httpx.get(f"{gateway.base_url}/openapi.json").status_code == 200
