"""`/v1/responses` on a native provider (Anthropic, through tests/fakes/anthropic.py), stored responses
scoped to the key that made them, and storage on PostgreSQL as on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import FunctionToolParam
from tests.conftest import MASTER_KEY, UPSTREAM_KEY, run_gateway, sdk
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

from llmrelay.dialects.responses import ItemIds
from llmrelay.storage.db import Database
from llmrelay.storage.responses import ResponseStore, StoredResponse

KEY = "sk-ant-test"
CLAUDE = "claude-haiku-4-5-20251001"
ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


def _config(claude_url: str, chat_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "providers": {
            "claude": {"type": "anthropic", "base_url": claude_url, "api_key": KEY},
            "up": {"type": "openai", "base_url": f"{chat_url}/v1", "api_key": UPSTREAM_KEY},
        },
        "models": [
            {"name": "claude", "provider": "claude", "model": CLAUDE},
            {"name": "fast", "provider": "up", "model": "gpt-4o-mini"},
        ],
        **extra,
    }


@pytest.fixture(scope="module")
def locked(claude_server: tuple[FakeAnthropic, Server], upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    config = _config(claude_server[1].base_url, upstream_server[1].base_url, auth={"master_key": MASTER_KEY})
    with run_gateway(config) as server:
        yield server


def new_key(server: Server, **fields: Any) -> str:
    answer = httpx.post(f"{server.base_url}/admin/keys", json={"name": "t", **fields}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    secret: str = answer.json()["key"]
    return secret


def test_anthropic_text_and_stream(locked: Server, claude: FakeAnthropic) -> None:
    with sdk(locked, MASTER_KEY) as client:
        response = client.responses.create(model="claude", input="Say hello", instructions="Be terse.")
        assert_valid(response.to_dict(), "Response")
        assert response.output_text == "Hello from fake Claude"
        assert response.usage is not None and response.usage.output_tokens > 0
        (request,) = claude.requests
        assert request.json["system"] == "Be terse."
        assert request.json["messages"] == [{"role": "user", "content": "Say hello"}]
        with client.responses.stream(model="claude", input="Say hello") as stream:
            kinds = [event.type for event in stream]
            final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert kinds.count("response.output_text.delta") == 4
    assert final.output_text == "Hello from fake Claude"


def test_anthropic_tool_round_trip(locked: Server, claude: FakeAnthropic) -> None:
    with sdk(locked, MASTER_KEY) as client:
        first = client.responses.create(
            model="claude", input="Weather in Oslo?", tools=[WEATHER], tool_choice="required"
        )
        (call,) = first.output
        assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Oslo"}
        second = client.responses.create(
            model="claude",
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
            tools=[WEATHER],
        )
    assert second.output_text == "Tool said: sunny"
    messages = claude.requests[-1].json["messages"]
    assert messages[1]["content"][0]["type"] == "tool_use" and messages[1]["content"][0]["id"] == call.call_id
    assert messages[2]["content"][0] == {"type": "tool_result", "tool_use_id": call.call_id, "content": "sunny"}


def test_stored_responses_belong_to_their_key(locked: Server) -> None:
    alice, bob = new_key(locked), new_key(locked)
    reader = new_key(locked, permissions="read")
    with sdk(locked, alice) as as_alice, sdk(locked, bob) as as_bob, sdk(locked, MASTER_KEY) as as_master:
        mine = as_alice.responses.create(model="fast", input="Hi")
        assert as_alice.responses.retrieve(mine.id).id == mine.id
        for other in (as_bob, as_master):
            with pytest.raises(openai.NotFoundError):
                other.responses.retrieve(mine.id)
            with pytest.raises(openai.NotFoundError):
                other.responses.delete(mine.id)
            with pytest.raises(openai.NotFoundError):
                other.responses.input_items.list(mine.id)
        with pytest.raises(openai.BadRequestError) as caught:
            as_bob.responses.create(model="fast", input="Again", previous_response_id=mine.id)
        assert caught.value.param == "previous_response_id"
        master_made = as_master.responses.create(model="fast", input="Hi")
        with pytest.raises(openai.NotFoundError):
            as_alice.responses.retrieve(master_made.id)
        assert as_master.responses.retrieve(master_made.id).id == master_made.id
    with sdk(locked, reader) as as_reader, pytest.raises(openai.PermissionDeniedError):
        as_reader.responses.create(model="fast", input="Hi")
    unknown = httpx.get(f"{locked.base_url}/v1/responses/{mine.id}", headers={"authorization": "Bearer sk-nope"})
    assert unknown.status_code == 401


def test_postgresql_storage_end_to_end(
    postgres_url: str, claude_server: tuple[FakeAnthropic, Server], upstream_server: tuple[FakeOpenAI, Server]
) -> None:
    config = _config(claude_server[1].base_url, upstream_server[1].base_url, database=postgres_url)
    with run_gateway(config) as server, sdk(server) as client:
        first = client.responses.create(model="fast", input="Hi", metadata={"db": "pg"})
        second = client.responses.create(model="claude", input="Again", previous_response_id=first.id)
        assert client.responses.retrieve(first.id).metadata == {"db": "pg"}
        items = client.responses.input_items.list(second.id, order="asc")
        assert [item.type for item in items.data] == ["message", "message", "message"]
        client.responses.delete(first.id)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(first.id)
        assert client.responses.retrieve(second.id).previous_response_id == first.id


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_store_scoping_and_round_trip(backend: str, postgres_url: str, tmp_path: Any) -> None:
    url = postgres_url if backend == "postgresql" else f"sqlite:///{tmp_path / 'r.db'}"
    database = Database(url)
    try:
        await database.upgrade()
        store = ResponseStore(database.engine)
        rid = ItemIds("ab").response
        items = [{"id": "msg_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "é"}]}]
        row = StoredResponse(
            id=rid, key_id="key_a", model="m", response={"id": rid, "status": "completed"}, input_items=items
        )
        await store.save(row)
        found = await store.get(rid, "key_a")
        assert found is not None and found.input_items == items and found.response["status"] == "completed"
        assert found.created_at.tzinfo is not None and found.provider is None
        assert await store.get(rid, "key_b") is None and await store.get(rid, None) is None
        assert not await store.delete(rid, None)
        await store.save(StoredResponse(id=rid, key_id="key_a", model="m", response={"id": rid, "status": "failed"}))
        again = await store.get(rid, "key_a")
        assert again is not None and again.response["status"] == "failed"
        assert await store.delete(rid, "key_a") and await store.get(rid, "key_a") is None
    finally:
        await database.close()
