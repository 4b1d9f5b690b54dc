"""The Assistants v2 objects through the official openai SDK: assistants, threads and messages
(create, list with cursors, retrieve, modify, delete), their checks, and key scoping."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.beta import FunctionToolParam
from tests.conftest import MASTER_KEY, gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server

# Every beta.assistants / beta.threads method of the SDK is marked deprecated (the API was shut down upstream).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADMIN = {"Authorization": f"Bearer {MASTER_KEY}"}
WEATHER: FunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_assistant_create_retrieve_update_delete(client: openai.OpenAI) -> None:
    created = client.beta.assistants.create(
        model="fast", name="Helper", description="d", instructions="Be brief.",
        tools=[WEATHER, {"type": "file_search"}, {"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": ["file_1"]}},
        metadata={"team": "ml"}, temperature=0.5, top_p=0.9, response_format={"type": "json_object"},
    )  # fmt: skip
    assert created.id.startswith("asst_") and created.object == "assistant" and created.created_at > 0
    assert (created.model, created.name, created.instructions) == ("fast", "Helper", "Be brief.")
    assert [t.type for t in created.tools] == ["function", "file_search", "code_interpreter"]
    assert created.metadata == {"team": "ml"} and created.temperature == 0.5 and created.top_p == 0.9
    assert created.response_format is not None and created.response_format.type == "json_object"  # type: ignore[union-attr]
    assert created.tool_resources is not None and created.tool_resources.code_interpreter is not None
    assert client.beta.assistants.retrieve(created.id) == created

    updated = client.beta.assistants.update(created.id, name="Renamed", metadata={"team": "ops"}, model="gpt-4o")
    assert (updated.name, updated.model, updated.metadata) == ("Renamed", "gpt-4o", {"team": "ops"})
    assert updated.instructions == "Be brief.", "a field not sent must stay as it was"

    deleted = client.beta.assistants.delete(created.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (created.id, True, "assistant.deleted")
    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.retrieve(created.id)


def test_assistant_list_pages_with_cursors(upstream_server: tuple[FakeOpenAI, Server]) -> None:
    with run_gateway(gateway_config(upstream_server[1].base_url)) as server, sdk(server) as client:
        ids = [client.beta.assistants.create(model="fast", name=f"a{i}").id for i in range(5)]
        first = client.beta.assistants.list(limit=2)
        assert [a.id for a in first.data] == [ids[4], ids[3]] and first.has_more
        raw = client.beta.assistants.with_raw_response.list(limit=2, after=ids[3]).http_response.json()
        assert [a["id"] for a in raw["data"]] == [ids[2], ids[1]]
        assert (raw["object"], raw["first_id"], raw["last_id"], raw["has_more"]) == ("list", ids[2], ids[1], True)
        assert [a.id for a in client.beta.assistants.list(order="asc", limit=3)] == ids, "auto-paging walks every page"
        before = client.beta.assistants.list(order="asc", before=ids[3], limit=2)
        assert [a.id for a in before.data] == [ids[1], ids[2]]
        assert [a.id for a in client.beta.assistants.list(after=ids[0]).data] == []


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": "fast", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"model": "fast", "metadata": {"k" * 65: "v"}}, "metadata"),
        ({"model": "fast", "metadata": {"k": "v" * 513}}, "metadata.k"),
        ({"model": "fast", "tools": [{"type": "browser"}]}, "tools[0].type"),
        ({"model": "fast", "temperature": 3}, "temperature"),
        ({"model": 5}, "model"),
    ],
)
def test_assistant_fields_are_checked(gateway: Server, fields: dict[str, Any], param: str) -> None:
    response = httpx.post(f"{gateway.base_url}/v1/assistants", json=fields)  # raw: typed SDK calls would refuse some
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param and response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_model_is_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.assistants.create(model="no-such-model")
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "model_not_found"


def test_thread_with_messages_and_message_crud(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "Hello there"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]},
            {"role": "user", "content": [{"type": "text", "text": "Look:"},
                                         {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
        ],
        metadata={"user": "u1"},
    )  # fmt: skip
    assert thread.id.startswith("thread_") and thread.metadata == {"user": "u1"}
    listed = client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.role for m in listed.data] == ["user", "assistant", "user"]
    first = listed.data[0]
    assert first.content[0].type == "text" and first.content[0].text.value == "Hello there"
    assert (first.status, first.thread_id, first.run_id, first.object) == (
        "completed",
        thread.id,
        None,
        "thread.message",
    )
    assert listed.data[2].content[1].type == "image_url"

    added = client.beta.threads.messages.create(thread.id, role="user", content="And another", metadata={"n": "4"})
    assert client.beta.threads.messages.retrieve(added.id, thread_id=thread.id) == added
    newest = client.beta.threads.messages.list(thread.id, limit=1)
    assert [m.id for m in newest.data] == [added.id] and newest.has_more
    older = client.beta.threads.messages.list(thread.id, limit=10, after=added.id)
    assert [m.id for m in older.data] == [m.id for m in reversed(listed.data)]
    assert client.beta.threads.messages.update(added.id, thread_id=thread.id, metadata={"n": "5"}).metadata == {
        "n": "5"
    }
    assert client.beta.threads.messages.delete(added.id, thread_id=thread.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(added.id, thread_id=thread.id)

    assert client.beta.threads.retrieve(thread.id).metadata == {"user": "u1"}
    assert client.beta.threads.update(thread.id, metadata={"user": "u2"}).metadata == {"user": "u2"}
    assert client.beta.threads.delete(thread.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread.id)


def test_message_content_is_checked(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.messages.create(thread.id, role="user", content=[{"type": "video", "url": "x"}])  # type: ignore[list-item]
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "content[0]"
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.messages.create(thread.id, role="system", content="x")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def keyed(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    with run_gateway(gateway_config(upstream_server[1].base_url, auth={"master_key": MASTER_KEY})) as server:
        yield server


def new_key(server: Server, permissions: str = "read-write") -> str:
    response = httpx.post(
        f"{server.base_url}/admin/keys", json={"name": "t", "permissions": permissions}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["key"]
    return secret


def test_objects_belong_to_their_key(keyed: Server) -> None:
    owner, other, reader = new_key(keyed), new_key(keyed), new_key(keyed, "read")
    with sdk(keyed, owner) as mine, sdk(keyed, other) as theirs, sdk(keyed, reader) as readonly:
        assistant = mine.beta.assistants.create(model="fast")
        thread = mine.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        message = mine.beta.threads.messages.list(thread.id).data[0]
        for call in (
            lambda: theirs.beta.assistants.retrieve(assistant.id),
            lambda: theirs.beta.assistants.delete(assistant.id),
            lambda: theirs.beta.threads.retrieve(thread.id),
            lambda: theirs.beta.threads.messages.list(thread.id),
            lambda: theirs.beta.threads.messages.retrieve(message.id, thread_id=thread.id),
            lambda: theirs.beta.threads.runs.create(thread.id, assistant_id=assistant.id),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        assert assistant.id not in {a.id for a in theirs.beta.assistants.list()}
        with sdk(keyed, MASTER_KEY) as master, pytest.raises(openai.NotFoundError):
            master.beta.assistants.retrieve(assistant.id)  # the master key has a scope of its own

        assert readonly.beta.assistants.list().data == []
        with pytest.raises(openai.PermissionDeniedError):
            readonly.beta.assistants.create(model="fast")
        with pytest.raises(openai.PermissionDeniedError):
            readonly.beta.threads.create()
        assert mine.beta.assistants.retrieve(assistant.id).id == assistant.id
