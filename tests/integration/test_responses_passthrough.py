"""`/v1/responses` passed through to an upstream that has the Responses API (`responses_api: true`),
the strict fake of tests/fakes/openai_responses.py: the client gets the upstream's bytes (JSON and
event stream alike), only the model id changes on the way out, and stored responses are reached where
the upstream holds them.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import FunctionToolParam
from tests.conftest import MASTER_KEY, UPSTREAM_KEY, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_responses import CutStream, FakeResponses, Status
from tests.fakes.server import Server, serve_in_thread
from tests.openai_schema import assert_valid

from llmrelay.config.model import ProviderConfig
from llmrelay.pipeline.responses import has_responses_api
from llmrelay.storage.db import Database
from llmrelay.storage.usage import UsageRecord, UsageStore


@pytest.fixture(scope="module")
def responses_server() -> Iterator[tuple[FakeResponses, Server]]:
    fake = FakeResponses(api_key=UPSTREAM_KEY)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def upstream(responses_server: tuple[FakeResponses, Server]) -> FakeResponses:
    responses_server[0].reset()
    responses_server[0].sent.clear()
    return responses_server[0]


@pytest.fixture(scope="module")
def db_path() -> Path:
    return Path(tempfile.mkdtemp(prefix="llmrelay-test-")) / "llmrelay.db"


@pytest.fixture(scope="module")
def gateway(
    responses_server: tuple[FakeResponses, Server], upstream_server: tuple[FakeOpenAI, Server], db_path: Path
) -> Iterator[Server]:
    native, chat = responses_server[1].base_url, upstream_server[1].base_url
    config = {
        "database": f"sqlite:///{db_path}",
        "providers": {
            "native": {"type": "openai", "base_url": f"{native}/v1", "api_key": UPSTREAM_KEY, "responses_api": True},
            "chatty": {"type": "openai", "base_url": f"{chat}/v1", "api_key": UPSTREAM_KEY},
        },
        "models": [
            {"name": "native-model", "provider": "native", "model": "gpt-4o-mini"},
            {"name": "fast", "provider": "chatty", "model": "gpt-4o-mini"},
        ],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def created(upstream: FakeResponses) -> dict[str, Any]:
    """The body of the one create request the upstream received."""
    posts = [r for r in upstream.requests if r.method == "POST"]
    assert len(posts) == 1 and posts[0].path == "/v1/responses"
    assert posts[0].headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    body: dict[str, Any] = posts[0].json
    return body


def test_default_is_openai_itself_only() -> None:
    assert has_responses_api(ProviderConfig(type="openai"))
    assert has_responses_api(ProviderConfig(type="openai", base_url="https://api.openai.com/v1/"))
    assert not has_responses_api(ProviderConfig(type="openai", base_url="http://127.0.0.1:8000/v1"))
    assert has_responses_api(ProviderConfig(type="openai", base_url="http://127.0.0.1:8000/v1", responses_api=True))
    assert not has_responses_api(ProviderConfig(type="openai", responses_api=False))
    assert not has_responses_api(ProviderConfig(type="anthropic"))


def test_json_bytes_are_the_upstreams(gateway: Server, upstream: FakeResponses) -> None:
    body = {"model": "native-model", "input": "Hi", "metadata": {"a": "b"}, "max_output_tokens": 64}
    answer = httpx.post(f"{gateway.base_url}/v1/responses", json=body)
    assert answer.status_code == 200
    assert answer.content == upstream.sent[-1]
    assert_valid(answer.json(), "Response")
    assert created(upstream) == {**body, "model": "gpt-4o-mini"}


def test_sdk_create_retrieve_delete(client: openai.OpenAI, upstream: FakeResponses) -> None:
    response = client.responses.create(model="native-model", input="Hi", instructions="Be brief.")
    assert response.output_text == "Hello from fake responses"
    assert created(upstream)["instructions"] == "Be brief."
    retrieved = client.responses.retrieve(response.id)
    assert retrieved.to_dict() == response.to_dict()
    assert upstream.requests[-1].method == "GET" and upstream.requests[-1].path == f"/v1/responses/{response.id}"
    items = client.responses.input_items.list(response.id)
    assert items.data[0].type == "message"
    assert upstream.requests[-1].path == f"/v1/responses/{response.id}/input_items"
    client.responses.delete(response.id)
    assert upstream.requests[-1].method == "DELETE" and response.id not in upstream.stored
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_stream_bytes_are_the_upstreams(gateway: Server, upstream: FakeResponses) -> None:
    body = {"model": "native-model", "input": "Hi", "stream": True}
    with httpx.stream("POST", f"{gateway.base_url}/v1/responses", json=body) as answer:
        assert answer.status_code == 200
        raw = answer.read()
    assert raw == upstream.sent[-1]
    assert created(upstream) == {**body, "model": "gpt-4o-mini"}
    assert raw.startswith(b"event: response.created\ndata: {")


def test_sdk_stream_and_chained_function_call(client: openai.OpenAI, upstream: FakeResponses) -> None:
    tool: FunctionToolParam = {
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object"},
        "strict": False,
    }
    with client.responses.stream(
        model="native-model", input="Weather?", tools=[tool], tool_choice="required"
    ) as stream:
        kinds = [event.type for event in stream]
        first = stream.get_final_response()
    assert kinds[-1] == "response.completed" and "response.function_call_arguments.done" in kinds
    (call,) = first.output
    assert call.type == "function_call"
    upstream.reset()
    second = client.responses.create(
        model="native-model",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.output_text == "Hello from fake responses"
    assert created(upstream)["previous_response_id"] == first.id  # the upstream holds the conversation


def test_store_false_is_not_kept(client: openai.OpenAI, upstream: FakeResponses) -> None:
    response = client.responses.create(model="native-model", input="Hi", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    assert [r.method for r in upstream.requests] == ["POST"]


def test_upstream_errors_pass_through(client: openai.OpenAI, upstream: FakeResponses) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="native-model", input="Hi", max_output_tokens=10)
    assert caught.value.param == "max_output_tokens" and caught.value.code == "integer_below_min_value"
    with pytest.raises(openai.BadRequestError) as unknown:
        client.responses.create(model="native-model", input="Hi", previous_response_id="resp_elsewhere")
    assert unknown.value.code == "previous_response_not_found"  # not ours: the upstream was asked
    upstream.plan(Status(503), Status(503), Status(503))
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="native-model", input="Hi")


def test_gateway_field_is_not_sent(gateway: Server, upstream: FakeResponses) -> None:
    body = {"model": "native-model", "input": "Hi", "provider": "native"}
    answer = httpx.post(f"{gateway.base_url}/v1/responses", json=body)
    assert answer.status_code == 200, answer.text
    assert "provider" not in created(upstream)


def test_cut_stream_ends_with_an_error_event(gateway: Server, upstream: FakeResponses) -> None:
    upstream.plan(CutStream(after_events=3))
    with httpx.stream(
        "POST", f"{gateway.base_url}/v1/responses", json={"model": "native-model", "input": "Hi", "stream": True}
    ) as answer:
        raw = answer.read()
    assert raw.startswith(upstream.sent[-1])
    tail = raw[len(upstream.sent[-1]) :]
    assert tail.startswith(b"event: error\ndata: {") and b'"sequence_number":3' in tail


def test_conversation_stored_here_goes_upstream_as_items(client: openai.OpenAI, upstream: FakeResponses) -> None:
    local = client.responses.create(model="fast", input="Hi")  # translated: stored by the gateway
    upstream.reset()
    client.responses.create(model="native-model", input="And now?", previous_response_id=local.id)
    sent = created(upstream)
    assert "previous_response_id" not in sent
    assert sent["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {
            "type": "message",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello from fake upstream"}],
            "role": "assistant",
        },
        {"role": "user", "content": "And now?"},
    ]


def test_previous_held_upstream_needs_its_provider(client: openai.OpenAI, upstream: FakeResponses) -> None:
    native = client.responses.create(model="native-model", input="Hi")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="fast", input="Again", previous_response_id=native.id)
    assert caught.value.param == "previous_response_id"


def test_usage_is_read_from_the_final_response(client: openai.OpenAI, db_path: Path) -> None:
    stream_id, json_id = f"r-stream-{time.monotonic_ns()}", f"r-json-{time.monotonic_ns()}"
    with client.responses.stream(model="native-model", input="Hi", extra_headers={"x-request-id": stream_id}) as stream:
        stream.until_done()
    client.responses.create(model="native-model", input="Hi", extra_headers={"x-request-id": json_id})
    deadline = time.monotonic() + 10
    rows: dict[str, UsageRecord] = {}
    while len(rows) < 2 and time.monotonic() < deadline:
        rows = {r.request_id: r for r in _records(db_path) if r.request_id in (stream_id, json_id)}
        time.sleep(0.05)
    assert (rows[stream_id].prompt_tokens, rows[stream_id].completion_tokens, rows[stream_id].streamed) == (12, 4, True)
    assert (rows[json_id].prompt_tokens, rows[json_id].completion_tokens, rows[json_id].streamed) == (12, 4, False)
    assert rows[json_id].path == "/v1/responses" and rows[json_id].provider == "native"


def _records(db: Path) -> list[UsageRecord]:
    async def read() -> list[UsageRecord]:
        database = Database(f"sqlite:///{db}")
        try:
            records: list[UsageRecord] = await UsageStore(database.engine).records()
            return records
        finally:
            await database.close()

    return asyncio.run(read())


def test_another_keys_response_never_reaches_the_upstream(
    responses_server: tuple[FakeResponses, Server], upstream: FakeResponses
) -> None:
    native = responses_server[1].base_url
    config = {
        "auth": {"master_key": MASTER_KEY},
        "providers": {
            "native": {"type": "openai", "base_url": f"{native}/v1", "api_key": UPSTREAM_KEY, "responses_api": True}
        },
        "models": [{"name": "native-model", "provider": "native", "model": "gpt-4o-mini"}],
    }
    with run_gateway(config) as server:
        keys = [
            httpx.post(
                f"{server.base_url}/admin/keys", json={"name": n}, headers={"authorization": f"Bearer {MASTER_KEY}"}
            )
            for n in ("a", "b")
        ]
        alice, bob = (k.json()["key"] for k in keys)
        with sdk(server, alice) as as_alice, sdk(server, bob) as as_bob:
            mine = as_alice.responses.create(model="native-model", input="Hi")
            upstream.reset()
            with pytest.raises(openai.BadRequestError) as caught:
                as_bob.responses.create(model="native-model", input="Again", previous_response_id=mine.id)
            assert caught.value.code == "previous_response_not_found"
            with pytest.raises(openai.NotFoundError):
                as_bob.responses.retrieve(mine.id)
            with pytest.raises(openai.NotFoundError):
                as_bob.responses.delete(mine.id)
            assert upstream.requests == []
            assert as_alice.responses.retrieve(mine.id).id == mine.id
