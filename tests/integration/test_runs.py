"""Runs executed by the gateway through its own chat pipeline, driven by the official openai SDK
against the fake OpenAI upstream: completion, function tools (requires_action → submit → completed),
cancel, upstream errors, usage, and the `thread.*` event stream read by an AssistantEventHandler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.lib.streaming import AssistantEventHandler
from openai.types.beta import FunctionToolParam
from openai.types.beta.assistant_stream_event import AssistantStreamEvent
from openai.types.beta.threads import Text, TextDelta
from openai.types.beta.threads.runs import RunStep
from tests.conftest import MASTER_KEY, gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI, Hang, Status
from tests.fakes.openai_wire import TOOL_MARKER
from tests.fakes.server import Server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks the Assistants API deprecated

ADMIN = {"Authorization": f"Bearer {MASTER_KEY}"}
WEATHER: FunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
REPLY = "Hello from fake upstream"


@pytest.fixture(scope="module")
def server(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    with run_gateway(gateway_config(upstream_server[1].base_url, auth={"master_key": MASTER_KEY})) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[openai.OpenAI]:
    with sdk(server, MASTER_KEY) as c:
        yield c


def chat_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == "/v1/chat/completions"]


def text_of(message: Any) -> str:
    return "".join(part.text.value for part in message.content if part.type == "text")


def test_run_completes_with_the_reply_usage_and_steps(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    assistant = client.beta.assistants.create(model="fast", instructions="Answer briefly.", temperature=0.2)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Say hello"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, additional_instructions="Be kind.", metadata={"t": "1"}
    )
    assert run.status == "completed", run.last_error
    assert run.started_at is not None and run.completed_at is not None and run.created_at <= run.started_at
    assert (run.model, run.instructions, run.metadata) == ("fast", "Answer briefly.\n\nBe kind.", {"t": "1"})
    assert run.usage is not None and run.usage.completion_tokens == 4 and run.usage.prompt_tokens > 0
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens

    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    reply = messages[1]
    assert text_of(reply) == REPLY and reply.run_id == run.id and reply.assistant_id == assistant.id
    assert reply.status == "completed" and client.beta.threads.messages.list(thread.id, run_id=run.id).data == [reply]

    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert [(s.type, s.status) for s in steps] == [("message_creation", "completed")]
    assert steps[0].step_details.message_creation.message_id == reply.id  # type: ignore[union-attr]
    assert steps[0].usage is not None and steps[0].usage.completion_tokens == 4
    assert client.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id) == steps[0]

    (sent,) = chat_requests(fake)
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.2 and "tools" not in sent
    assert sent["messages"] == [
        {"role": "system", "content": "Answer briefly.\n\nBe kind."},
        {"role": "user", "content": "Say hello"},
    ]
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"
    assert [r.id for r in client.beta.threads.runs.list(thread.id)] == [run.id]
    assert client.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"t": "2"}).metadata == {"t": "2"}


def test_create_and_run_poll_with_overrides(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    assistant = client.beta.assistants.create(model="fast", instructions="Original.")
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, model="gpt-4o", instructions="Replaced.", max_completion_tokens=2,
        thread={"messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "earlier"},
                             {"role": "user", "content": "second"}]},
        truncation_strategy={"type": "last_messages", "last_messages": 2},
    )  # fmt: skip
    assert run.status == "incomplete" and run.incomplete_details is not None
    assert run.incomplete_details.reason == "max_completion_tokens" and run.model == "gpt-4o"
    (sent,) = chat_requests(fake)
    assert sent["model"] == "gpt-4o" and sent["max_completion_tokens"] == 2
    assert sent["messages"] == [
        {"role": "system", "content": "Replaced."},
        {"role": "assistant", "content": "earlier"},
        {"role": "user", "content": "second"},
    ]
    reply = client.beta.threads.messages.list(run.thread_id, run_id=run.id).data[0]
    assert reply.status == "incomplete" and text_of(reply) == "Hello from"


def test_max_prompt_tokens_drops_the_oldest_messages(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    assistant = client.beta.assistants.create(model="fast", instructions="Short.")
    long = " ".join(["word"] * 200)
    thread = {"messages": [{"role": "user", "content": long}, {"role": "assistant", "content": long},
                           {"role": "user", "content": "the question"}]}  # fmt: skip
    run = client.beta.threads.create_and_run_poll(assistant_id=assistant.id, thread=thread, max_prompt_tokens=100)  # type: ignore[arg-type]
    assert run.status == "completed" and run.max_prompt_tokens == 100
    (sent,) = chat_requests(fake)
    assert sent["messages"] == [{"role": "system", "content": "Short."}, {"role": "user", "content": "the question"}]


def test_function_tool_round_trip(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    assistant = client.beta.assistants.create(model="fast", tools=[WEATHER, {"type": "file_search"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Weather in Oslo? {TOOL_MARKER}"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Oslo"}'
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "in_progress")]
    first_request = chat_requests(fake)[0]
    assert first_request["tools"] == [WEATHER], "only function tools reach the model"

    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=[])
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.messages.create(thread.id, role="user", content="meanwhile")  # the run holds the thread
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "12°C and rain"}]
    )
    assert done.status == "completed" and done.required_action is None
    assert done.usage is not None and done.usage.completion_tokens == 2 + 4, "both model calls are counted"

    second_request = chat_requests(fake)[1]
    assert second_request["messages"][-2:] == [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "12°C and rain"},
    ]  # fmt: skip
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    assert steps[0].step_details.tool_calls[0].function.output == "12°C and rain"  # type: ignore[union-attr]
    assert text_of(client.beta.threads.messages.list(thread.id).data[0]) == REPLY


def test_cancel_stops_the_upstream_call(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    fake.plan(Hang())
    assistant = client.beta.assistants.create(model="fast")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Take your time"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "queued"
    assert wait_until(lambda: bool(chat_requests(fake))), "the run never called the upstream"
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)  # one active run per thread
    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    assert fake.disconnected.wait(5), "the upstream request was not cancelled"
    final = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=20)
    assert final.status == "cancelled" and final.cancelled_at is not None
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)


def test_cancel_a_run_waiting_for_tool_outputs(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="fast", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": TOOL_MARKER}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    final = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=20)
    assert final.status == "cancelled" and final.required_action is None
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
    assert step.status == "cancelled"


@pytest.mark.parametrize(
    ("status", "code"), [(500, "server_error"), (429, "rate_limit_exceeded"), (400, "invalid_prompt")]
)
def test_upstream_error_fails_the_run(client: openai.OpenAI, fake: FakeOpenAI, status: int, code: str) -> None:
    fake.plan(Status(status))
    assistant = client.beta.assistants.create(model="fast")
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}, poll_interval_ms=20
    )
    assert run.status == "failed" and run.failed_at is not None and run.last_error is not None
    assert run.last_error.code == code and run.last_error.message
    assert client.beta.threads.messages.list(run.thread_id).data[0].role == "user", "no reply was added"


def test_each_model_call_leaves_a_usage_row_for_the_key(server: Server, fake: FakeOpenAI) -> None:
    created = httpx.post(f"{server.base_url}/admin/keys", json={"name": "runs"}, headers=ADMIN).json()
    with sdk(server, created["key"]) as client:
        assistant = client.beta.assistants.create(model="fast")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "count me"}]}
        )
    assert run.status == "completed" and run.usage is not None
    summary = httpx.get(f"{server.base_url}/admin/usage", params={"key": created["id"], "model": "fast"}, headers=ADMIN)
    totals = summary.json()["totals"]
    assert totals["requests"] == 1
    assert (totals["prompt_tokens"], totals["completion_tokens"]) == (
        run.usage.prompt_tokens,
        run.usage.completion_tokens,
    )


class Collector(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.texts: list[str] = []
        self.tool_calls: list[Any] = []

    def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.deltas.append(delta.value or "")

    def on_text_done(self, text: Text) -> None:
        self.texts.append(text.value)

    def on_run_step_done(self, run_step: RunStep) -> None:
        if run_step.step_details.type == "tool_calls":
            self.tool_calls.extend(run_step.step_details.tool_calls)


def test_stream_with_an_event_handler(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="fast")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Stream it"}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Collector()
    ) as stream:
        stream.until_done()
        handler = stream
    assert handler.deltas == ["Hello", " from", " fake", " upstream"], "the model's deltas, as they streamed"
    assert handler.texts == [REPLY]
    final = handler.get_final_messages()
    assert len(final) == 1 and text_of(final[0]) == REPLY and final[0].status == "completed"
    assert handler.get_final_run().status == "completed"
    assert handler.events[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert handler.events[3:7] == [
        "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress",
    ]  # fmt: skip
    assert handler.events[-3:] == ["thread.message.completed", "thread.run.step.completed", "thread.run.completed"]
    stored = client.beta.threads.messages.list(thread.id).data[0]
    assert stored.id == final[0].id and text_of(stored) == REPLY


def test_stream_tool_calls_then_submit_as_a_stream(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="fast", tools=[WEATHER])
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": TOOL_MARKER}]},
        event_handler=Collector(),
    ) as stream:
        stream.until_done()
        first = stream
    assert first.events[0] == "thread.created" and first.events[-1] == "thread.run.requires_action"
    run = first.get_final_run()
    assert run.status == "requires_action" and run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    snapshot = first.current_run_step_snapshot
    assert snapshot is None or snapshot.type == "tool_calls"
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id, thread_id=run.thread_id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        event_handler=Collector(),
    ) as stream:  # fmt: skip
        stream.until_done()
        second = stream
    assert second.events[0] == "thread.run.step.completed" and second.events[1] == "thread.run.queued"
    assert second.tool_calls and second.tool_calls[0].function.output == "sunny"
    assert second.deltas == ["Hello", " from", " fake", " upstream"]
    assert second.get_final_run().status == "completed"


def test_stream_of_a_failing_run_ends_with_run_failed(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    fake.plan(Status(500))
    assistant = client.beta.assistants.create(model="fast")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Collector()
    ) as stream:
        stream.until_done()
        handler = stream
    assert handler.events[-1] == "thread.run.failed"
    assert handler.get_final_run().last_error is not None


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
