"""Runs survive a gateway restart: two gateways in a row on one SQLite file. A run cut off by a
shutdown is failed with a last_error saying so, one a crash left `in_progress` is failed at start-up,
a `queued` one is resumed, and one waiting for tool outputs still takes them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.beta import FunctionToolParam
from tests.conftest import gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI, Hang
from tests.fakes.openai_wire import TOOL_MARKER
from tests.fakes.server import Server

from llmrelay.pipeline.run_objects import message_values, run_values
from llmrelay.pipeline.runs import RESTARTED, SHUT_DOWN
from llmrelay.storage.assistants import ASSISTANTS, MESSAGES, RUNS
from llmrelay.storage.db import Database
from llmrelay.storage.threads import ThreadStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks the Assistants API deprecated

WEATHER: FunctionToolParam = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


async def _crash_leftovers(
    url: str, assistant_id: str, crashed_thread: str, queued_thread: str
) -> tuple[str, str, str]:
    """What a crashed process leaves: a run `in_progress` with a half-written reply, and a `queued` run."""
    database = Database(url)
    store = ThreadStore(database.engine)
    try:
        assistant = await store.get(ASSISTANTS, assistant_id, None)
        assert assistant is not None
        crashed = {**run_values(crashed_thread, assistant, {}), "status": "in_progress", "started_at": 1}
        await store.insert(RUNS, crashed, None)
        partial = message_values(crashed_thread, "assistant", [], run_id=crashed["id"], status="in_progress")
        await store.insert(MESSAGES, partial, None)
        queued = await store.insert(RUNS, run_values(queued_thread, assistant, {}), None)
        return crashed["id"], partial["id"], queued["id"]
    finally:
        await database.close()


def _thread(client: openai.OpenAI, text: str) -> str:
    return client.beta.threads.create(messages=[{"role": "user", "content": text}]).id


def test_runs_survive_a_restart(upstream_server: tuple[FakeOpenAI, Server], fake: FakeOpenAI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    config = gateway_config(upstream_server[1].base_url, database=url, server={"shutdown_timeout": 0.2})
    with run_gateway(config) as first, sdk(first) as client:
        assistant = client.beta.assistants.create(model="fast", tools=[WEATHER])
        waiting = client.beta.threads.runs.create_and_poll(
            thread_id=_thread(client, TOOL_MARKER), assistant_id=assistant.id
        )
        assert waiting.status == "requires_action"
        fake.plan(Hang())
        cut = client.beta.threads.runs.create(thread_id=_thread(client, "a long answer"), assistant_id=assistant.id)
        assert _wait(lambda: client.beta.threads.runs.retrieve(cut.id, thread_id=cut.thread_id).status == "in_progress")
        crashed_thread, queued_thread = _thread(client, "crash"), _thread(client, "resume me")
    assert fake.disconnected.is_set(), "the shutdown did not cancel the upstream call"

    crashed, partial, queued = asyncio.run(_crash_leftovers(url, assistant.id, crashed_thread, queued_thread))
    with run_gateway(config) as second, sdk(second) as client:
        shut = client.beta.threads.runs.retrieve(cut.id, thread_id=cut.thread_id)
        assert shut.status == "failed" and shut.last_error is not None
        assert (shut.last_error.code, shut.last_error.message) == ("server_error", SHUT_DOWN)

        failed = client.beta.threads.runs.retrieve(crashed, thread_id=crashed_thread)
        assert failed.status == "failed" and failed.last_error is not None and failed.last_error.message == RESTARTED
        half = client.beta.threads.messages.retrieve(partial, thread_id=crashed_thread)
        assert half.status == "incomplete" and half.incomplete_details is not None
        assert half.incomplete_details.reason == "run_failed"

        resumed = client.beta.threads.runs.poll(queued, thread_id=queued_thread, poll_interval_ms=20)
        assert resumed.status == "completed"
        reply = client.beta.threads.messages.list(queued_thread).data[0]
        assert reply.role == "assistant" and reply.run_id == queued

        still = client.beta.threads.runs.retrieve(waiting.id, thread_id=waiting.thread_id)
        assert still.status == "requires_action" and still.required_action is not None
        call = still.required_action.submit_tool_outputs.tool_calls[0]
        done = client.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=waiting.id, thread_id=waiting.thread_id, tool_outputs=[{"tool_call_id": call.id, "output": "ok"}],
            poll_interval_ms=20,
        )  # fmt: skip
        assert done.status == "completed"


def _wait(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
