"""Client disconnects, auth, request ids, models, health and docs."""

from __future__ import annotations

import httpx
import openai
import pytest
from tests.conftest import MASTER_KEY, sdk
from tests.fakes.openai import FakeOpenAI, Hang
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

HELLO = [{"role": "user", "content": "hi"}]


def test_client_disconnect_mid_stream_closes_the_upstream_request(gateway: Server, fake: FakeOpenAI) -> None:
    fake.plan(Hang())
    body = {"model": "fast", "messages": HELLO, "stream": True}
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", f"{gateway.base_url}/v1/chat/completions", json=body) as response,
    ):
        reader = response.iter_raw()
        first = next(reader)
        assert first.startswith(b"data: {")
        assert not fake.disconnected.is_set()
    assert fake.disconnected.wait(5), "the upstream request stayed open after the client left"


def test_master_key_is_required(locked_gateway: Server, fake: FakeOpenAI) -> None:
    base = f"{locked_gateway.base_url}/v1"
    for key in ("wrong-key", None):
        headers = {"authorization": f"Bearer {key}"} if key else {}
        response = httpx.post(f"{base}/chat/completions", json={"model": "fast", "messages": HELLO}, headers=headers)
        assert response.status_code == 401
        assert_valid(response.json(), "ErrorResponse")
        assert MASTER_KEY not in response.text
    assert httpx.get(f"{base}/models", headers={"authorization": "Bearer wrong"}).status_code == 401
    with sdk(locked_gateway, "nope") as bad, pytest.raises(openai.AuthenticationError):
        bad.models.list()
    assert fake.requests == []
    with sdk(locked_gateway, MASTER_KEY) as client:
        assert client.chat.completions.create(model="fast", messages=HELLO).choices[0].message.content
    assert fake.requests[-1].headers["authorization"] != f"Bearer {MASTER_KEY}"


def test_passthrough_provider_forwards_the_client_token(locked_gateway: Server, fake: FakeOpenAI) -> None:
    with sdk(locked_gateway, "sk-upstream-test") as client:
        assert client.chat.completions.create(model="byok", messages=HELLO).choices[0].message.content
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-upstream-test"
    with sdk(locked_gateway, "sk-bad") as bad, pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="byok", messages=HELLO)


def test_request_id_is_echoed_or_generated(gateway: Server) -> None:
    url = f"{gateway.base_url}/v1/chat/completions"
    mine = httpx.post(url, json={"model": "fast", "messages": HELLO}, headers={"x-request-id": "trace-123"})
    assert mine.headers["x-request-id"] == "trace-123"
    generated = httpx.post(url, json={"model": "fast", "messages": HELLO})
    other = httpx.post(url, json={"model": "fast", "messages": HELLO})
    assert generated.headers["x-request-id"].startswith("req_")
    assert generated.headers["x-request-id"] != other.headers["x-request-id"]
    error = httpx.post(url, content=b"{", headers={"x-request-id": "trace-err"})
    assert error.status_code == 400 and error.headers["x-request-id"] == "trace-err"
    stream = httpx.post(url, json={"model": "fast", "messages": HELLO, "stream": True}, headers={"x-request-id": "s-1"})
    assert stream.headers["x-request-id"] == "s-1"
    hostile = httpx.post(url, content=b"{", headers={"x-request-id": "a b\tc" * 50})
    assert hostile.headers["x-request-id"].startswith("req_")


def test_models_list_and_retrieve(client: openai.OpenAI, gateway: Server) -> None:
    raw = httpx.get(f"{gateway.base_url}/v1/models").json()
    assert_valid(raw, "ListModelsResponse")
    by_id = {m["id"]: m for m in raw["data"]}
    assert by_id["fast"]["owned_by"] == "up"
    assert by_id["fast"]["capabilities"] == {"chat": True, "completions": True, "embeddings": True, "images": True}
    assert {m.id for m in client.models.list()} == set(by_id)
    model = client.models.retrieve("accounts/fireworks/models/x")
    assert model.id == "accounts/fireworks/models/x" and model.owned_by == "up"
    one = httpx.get(f"{gateway.base_url}/v1/models/accounts/fireworks/models/x").json()
    assert_valid(one, "Model")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_health_docs_and_openapi(gateway: Server) -> None:
    health = httpx.get(f"{gateway.base_url}/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["auth"] == "open"
    assert body["providers"]["up"] == {"type": "openai", "models": 5, "match": []}
    assert "sk-" not in health.text and "127.0.0.1" not in health.text
    assert httpx.get(f"{gateway.base_url}/docs").status_code == 200
    spec = httpx.get(f"{gateway.base_url}/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/models/{model_id}", "/health"} <= set(spec["paths"])
