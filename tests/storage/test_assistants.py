"""The Assistants-API store (storage/assistants.py, storage/threads.py) over SQLite and PostgreSQL:
rows and JSON columns round-trip, lists page by cursor, every object is scoped to its key, status
moves are compare-and-set, and deleting or purging a thread takes everything in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import migrated_database

from llmrelay.pipeline.run_objects import message_values, new_id, run_values, step_values, text_part
from llmrelay.storage.assistants import ASSISTANTS, MESSAGES, RUNS, STEPS, THREADS, JSONObject, Page
from llmrelay.storage.threads import ThreadStore


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ThreadStore]:
    """A migrated, empty database of each kind (a PostgreSQL server that is down fails the test)."""
    async with migrated_database(request.param, tmp_path / "assistants.db") as database:
        yield ThreadStore(database.engine)


def assistant(**fields: object) -> JSONObject:
    return {
        "id": new_id("asst"), "created_at": 1_700_000_000, "model": "fast", "name": None, "description": None,
        "instructions": "Be brief.", "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "tool_resources": {}, "metadata": {"team": "ml"}, "response_format": {"type": "json_object"},
        "temperature": 0.5, "top_p": None, "reasoning_effort": None, **fields,
    }  # fmt: skip


def thread(created_at: int = 1_700_000_000) -> JSONObject:
    return {"id": new_id("thread"), "created_at": created_at, "metadata": {}, "tool_resources": {}}


async def test_json_columns_round_trip(store: ThreadStore) -> None:
    values = assistant()
    created = await store.insert(ASSISTANTS, values, "key_a")
    fetched = await store.get(ASSISTANTS, values["id"], "key_a")
    assert fetched == created == {**{k: v for k, v in values.items()}, "object": "assistant"}
    assert (
        fetched is not None and fetched["tools"][0]["function"]["name"] == "f" and fetched["metadata"] == {"team": "ml"}
    )


async def test_objects_are_scoped_to_their_key(store: ThreadStore) -> None:
    mine, shared = assistant(), assistant()
    await store.insert(ASSISTANTS, mine, "key_a")
    await store.insert(ASSISTANTS, shared, None)
    assert await store.get(ASSISTANTS, mine["id"], "key_b") is None
    assert await store.get(ASSISTANTS, mine["id"], None) is None, "the master scope is not every key's"
    assert await store.get(ASSISTANTS, shared["id"], "key_a") is None
    assert not await store.delete(ASSISTANTS, mine["id"], "key_b")
    listed = await store.list(ASSISTANTS, "key_a", Page())
    assert listed is not None and [a["id"] for a in listed.data] == [mine["id"]]
    assert await store.delete(ASSISTANTS, mine["id"], "key_a")
    assert await store.get(ASSISTANTS, mine["id"], "key_a") is None


async def test_lists_page_by_cursor_in_either_order(store: ThreadStore) -> None:
    ids = [(await store.insert(ASSISTANTS, assistant(), "k"))["id"] for _ in range(5)]
    newest = await store.list(ASSISTANTS, "k", Page(limit=2))
    assert newest is not None and [a["id"] for a in newest.data] == [ids[4], ids[3]] and newest.has_more
    body = newest.body()
    assert (body["object"], body["first_id"], body["last_id"]) == ("list", ids[4], ids[3])
    after = await store.list(ASSISTANTS, "k", Page(limit=2, after=ids[3]))
    assert after is not None and [a["id"] for a in after.data] == [ids[2], ids[1]]
    before = await store.list(ASSISTANTS, "k", Page(limit=2, order="asc", before=ids[4]))
    assert before is not None and [a["id"] for a in before.data] == [ids[2], ids[3]] and before.has_more
    between = await store.list(ASSISTANTS, "k", Page(limit=10, order="asc", after=ids[0], before=ids[3]))
    assert between is not None and [a["id"] for a in between.data] == [ids[1], ids[2]] and not between.has_more
    assert await store.list(ASSISTANTS, "k", Page(after="asst_unknown")) is None
    assert await store.list(ASSISTANTS, "other", Page(after=ids[0])) is None, "a cursor of another key's object"


async def test_status_moves_are_compare_and_set(store: ThreadStore) -> None:
    owner = assistant()
    await store.insert(ASSISTANTS, owner, None)
    chat = await store.insert(THREADS, thread(), None)
    run = await store.insert(RUNS, run_values(chat["id"], owner, {"metadata": {"a": "1"}}), None)
    assert run["status"] == "queued" and run["tools"] == owner["tools"] and run["metadata"] == {"a": "1"}
    moved = await store.update(RUNS, run["id"], {"status": "in_progress"}, only_if={"status": ["queued"]})
    assert moved is not None and moved["status"] == "in_progress"
    assert await store.update(RUNS, run["id"], {"status": "in_progress"}, only_if={"status": ["queued"]}) is None
    assert await store.active_run(chat["id"]) == run["id"]
    assert [r["id"] for r in await store.runs_in(["in_progress"])] == [run["id"]]
    await store.update(RUNS, run["id"], {"status": "completed"})
    assert await store.active_run(chat["id"]) is None


async def test_conversation_keeps_messages_and_tool_steps_in_order(store: ThreadStore) -> None:
    owner = assistant()
    chat = await store.insert(THREADS, thread(), "k")
    first = await store.insert(MESSAGES, message_values(chat["id"], "user", [text_part("hi")]), "k")
    run = {**run_values(chat["id"], owner, {}), "key_id": "k"}
    row = await store.row(MESSAGES, first["id"], "k")
    assert row is not None and await store.last_message(chat["id"]) == row["seq"]
    details = {"type": "tool_calls", "tool_calls": [{"id": "c1", "type": "function",
                                                    "function": {"name": "f", "arguments": "{}", "output": "x"}}]}  # fmt: skip
    step = await store.insert(STEPS, {**step_values(run, details, row["seq"]), "status": "completed"}, "k")
    assert "after_message" not in step, "internal columns stay out of the API object"
    messages, steps = await store.conversation(chat["id"])
    assert [m["id"] for m in messages] == [first["id"]] and steps[0]["after_message"] == row["seq"]
    assert [s["id"] for s in await store.steps_of(run["id"], "completed")] == [step["id"]]


async def test_delete_and_purge_take_everything_in_a_thread(store: ThreadStore) -> None:
    owner = assistant()
    now = int(datetime.now(UTC).timestamp())
    old, recent = thread(now - 40 * 86400), thread(now)
    for chat in (old, recent):
        await store.insert(THREADS, chat, "k")
        await store.insert(MESSAGES, message_values(chat["id"], "user", [text_part("hi")]), "k")
        run = await store.insert(RUNS, run_values(chat["id"], owner, {}), "k")
        await store.insert(
            STEPS, step_values(run, {"type": "message_creation", "message_creation": {"message_id": "m"}}, None), "k"
        )
    assert await store.purge_threads(datetime.now(UTC) - timedelta(days=30)) == 1
    assert await store.get(THREADS, old["id"], "k") is None
    assert await store.conversation(old["id"]) == ([], [])
    assert await store.runs_in(["queued"]) != [] and all(
        r["thread_id"] == recent["id"] for r in await store.runs_in(["queued"])
    )

    assert not await store.delete_thread(recent["id"], "other-key")
    assert await store.delete_thread(recent["id"], "k")
    assert await store.conversation(recent["id"]) == ([], []) and await store.runs_in(["queued"]) == []
