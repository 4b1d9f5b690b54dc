"""The official `openai` SDK's `responses` API through the gateway, on the translated path: the fake
OpenAI chat upstream configured with `responses_api: false`, so every Responses request becomes a chat
request (what reached the fake is checked) and every answer a Response or Responses events (validated
against OpenAI's schemas where they exist).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import FunctionToolParam, ResponseInputParam
from tests.conftest import UPSTREAM_KEY, run_gateway, sdk
from tests.fakes.openai import CutStream, FakeOpenAI
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 4,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


@pytest.fixture(scope="module")
def gateway(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    url = upstream_server[1].base_url
    config = {
        "providers": {
            "up": {"type": "openai", "base_url": f"{url}/v1", "api_key": UPSTREAM_KEY, "responses_api": False},
        },
        "models": [{"name": "fast", "provider": "up", "model": "gpt-4o-mini"}],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


SCHEMA_OF = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
}


def wire_events(gateway: Server, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of a streamed `POST /v1/responses` as sent, each checked against its OpenAI schema
    and against its `event:` line."""
    with httpx.stream("POST", f"{gateway.base_url}/v1/responses", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    assert raw.endswith(b"\n\n") and b"[DONE]" not in raw
    events = []
    for frame in raw[:-2].split(b"\n\n"):
        name, data = frame.split(b"\n")
        assert name.startswith(b"event: ") and data.startswith(b"data: ")
        event = json.loads(data[6:])
        assert event["type"] == name[7:].decode()
        assert_valid(event, SCHEMA_OF[event["type"]])
        events.append(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def chat_sent(fake: FakeOpenAI) -> dict[str, Any]:
    """The one chat request the fake received."""
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    body: dict[str, Any] = request.json
    return body


def test_string_input(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    response = client.responses.with_raw_response.create(model="fast", input="Say hello", max_output_tokens=50)
    body = response.http_response.json()
    assert_valid(body, "Response")
    parsed = response.parse()
    assert parsed.output_text == "Hello from fake upstream"
    assert parsed.id.startswith("resp_") and parsed.status == "completed" and parsed.object == "response"
    (message,) = parsed.output
    assert message.type == "message" and message.id.startswith("msg_") and message.status == "completed"
    assert parsed.usage is not None and parsed.usage.output_tokens == 4
    assert parsed.usage.total_tokens == parsed.usage.input_tokens + 4
    assert parsed.model == "fast" and parsed.max_output_tokens == 50
    assert parsed.to_dict()["store"] is True
    sent = chat_sent(fake)
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [{"role": "user", "content": "Say hello"}]
    assert sent["max_completion_tokens"] == 50
    assert "store" not in sent and "input" not in sent


def test_items_with_instructions_and_image(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    items: ResponseInputParam = [
        {"role": "developer", "content": "Answer in English."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "low"},
            ],
        },
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "Sure?"},
    ]
    parsed = client.responses.create(model="fast", input=items, instructions="Be terse.", temperature=0.5)
    assert parsed.instructions == "Be terse." and parsed.temperature == 0.5
    assert chat_sent(fake)["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "developer", "content": "Answer in English."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
            ],
        },
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "Sure?"},
    ]
    assert chat_sent(fake)["temperature"] == 0.5


def test_function_call_round_trip_through_previous_response_id(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    first = client.responses.create(
        model="fast", input="Weather in Oslo?", tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"}
    )
    assert_valid(first.to_dict(), "Response")
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather" and (call.id or "").startswith("fc_")
    assert json.loads(call.arguments) == {"city": "Oslo"}
    sent = chat_sent(fake)
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": WEATHER["parameters"],
                "strict": True,
            },
        }
    ]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    fake.reset()
    second = client.responses.create(
        model="fast",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'}],
        tools=[WEATHER],
    )
    assert second.output_text == "Hello from fake upstream" and second.previous_response_id == first.id
    assert chat_sent(fake)["messages"] == [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.call_id, "content": '{"temp": 21}'},
    ]
    items = client.responses.input_items.list(second.id, order="asc")
    assert [item.type for item in items.data] == ["message", "function_call", "function_call_output"]


def test_instructions_are_not_carried_over(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    first = client.responses.create(model="fast", input="Hi", instructions="Talk like a pirate.")
    fake.reset()
    client.responses.create(model="fast", input="Again", previous_response_id=first.id)
    assert chat_sent(fake)["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello from fake upstream"},
        {"role": "user", "content": "Again"},
    ]


def test_store_false_is_not_retrievable(client: openai.OpenAI) -> None:
    response = client.responses.create(model="fast", input="Hi", store=False)
    assert response.to_dict()["store"] is False
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(response.id)
    assert caught.value.body["message"] == f"Response with id '{response.id}' not found."  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as chained:
        client.responses.create(model="fast", input="Again", previous_response_id=response.id)
    assert chained.value.param == "previous_response_id"
    assert chained.value.code == "previous_response_not_found"


def test_retrieve_and_delete(client: openai.OpenAI, gateway: Server) -> None:
    created = client.responses.create(model="fast", input="Hi", metadata={"run": "7"})
    retrieved = client.responses.retrieve(created.id)
    assert retrieved.to_dict() == created.to_dict()
    assert retrieved.metadata == {"run": "7"}
    deleted = httpx.delete(f"{gateway.base_url}/v1/responses/{created.id}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)
    second = client.responses.create(model="fast", input="Hi")
    client.responses.delete(second.id)  # the SDK's own delete: 200, nothing to parse
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)


def test_json_schema_text_format(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    response = client.responses.create(
        model="fast",
        input="Name a city",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
    )
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"
    assert chat_sent(fake)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "city", "schema": schema, "strict": True},
    }
    fake.reset()
    client.responses.create(model="fast", input="JSON please", text={"format": {"type": "json_object"}})
    assert chat_sent(fake)["response_format"] == {"type": "json_object"}


def test_stream_events_in_order(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    events = list(client.responses.create(model="fast", input="Say hello", stream=True))
    assert [e.type for e in events] == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Hello from fake upstream"
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "Hello from fake upstream"
    assert completed.response.usage is not None and completed.response.usage.output_tokens == 4
    sent = chat_sent(fake)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert client.responses.retrieve(completed.response.id).to_dict() == completed.response.to_dict()


def test_stream_helper_assembles_the_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model="fast", input="Say hello") as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == final.output_text == "Hello from fake upstream"
    assert final.status == "completed"


def test_wire_events_validate(gateway: Server, fake: FakeOpenAI) -> None:
    events = wire_events(gateway, {"model": "fast", "input": "Say hello"})
    assert [e["type"] for e in events] == TEXT_EVENTS
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    final = events[-1]["response"]
    assert_valid(final, "Response")
    fake.reset()
    calls = wire_events(gateway, {"model": "fast", "input": "Weather?", "tools": [WEATHER], "tool_choice": "required"})
    assert calls[-1]["response"]["output"][0]["type"] == "function_call"


def test_stream_function_call(client: openai.OpenAI) -> None:
    with client.responses.stream(model="fast", input="Weather?", tools=[WEATHER], tool_choice="required") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in kinds
    assert kinds[-3:] == ["response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == '{"city":"Oslo"}'
    (call,) = final.output
    assert call.type == "function_call" and call.arguments == done.arguments
    assert call.parsed_arguments == {"city": "Oslo"}


def test_stream_cut_mid_way_fails_the_response(client: openai.OpenAI, gateway: Server, fake: FakeOpenAI) -> None:
    fake.plan(CutStream(after_events=2))
    events = list(client.responses.create(model="fast", input="Say hello", stream=True))
    assert [e.type for e in events][-2:] == ["error", "response.failed"]
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed" and failed.response.error is not None
    assert failed.response.error.code == "server_error"
    fake.plan(CutStream(after_events=2))
    wired = wire_events(gateway, {"model": "fast", "input": "Say hello"})
    assert wired[-1]["response"]["status"] == "failed"


def test_length_limit_is_incomplete(client: openai.OpenAI) -> None:
    response = client.responses.create(model="fast", input="Say hello", max_output_tokens=2)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Hello from"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools"),
        ({"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, "tools"),
        ({"tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
        ({"background": True}, "background"),
        ({"previous_response_id": "resp_unknown"}, "previous_response_id"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"input": 7}, "input"),
        ({"model": None}, "model"),
    ],
)
def test_refusals_name_the_parameter(gateway: Server, fake: FakeOpenAI, extra: dict[str, Any], param: str) -> None:
    body = {"model": "fast", "input": "Hi", **extra}
    answer = httpx.post(f"{gateway.base_url}/v1/responses", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert_valid(answer.json(), "ErrorResponse")
    assert fake.requests == []


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="nope", input="Hi")
    assert caught.value.code == "model_not_found"
