"""The official `openai` SDK through the gateway to the fake Anthropic upstream: every translated feature.

What the gateway emits is validated against OpenAI's schemas; what reached the fake is checked too,
so each test shows both ends of the translation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
)
from tests.conftest import run_gateway, sdk
from tests.fakes.anthropic import CutStream, FakeAnthropic, Status, StreamError
from tests.fakes.harness import function_tool
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

KEY = "sk-ant-test"
MODEL = "claude-haiku-4-5-20251001"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
PNG = "data:image/png;base64,iVBORw0KGgo="


WEATHER = function_tool("get_weather", city="string")
TIME = function_tool("get_time", zone="string")


@pytest.fixture(scope="module")
def client(claude_server: tuple[FakeAnthropic, Server]) -> Iterator[openai.OpenAI]:
    url = claude_server[1].base_url
    config = {
        "providers": {
            "claude": {"type": "anthropic", "base_url": url, "api_key": KEY},
            "claude-bad-key": {"type": "anthropic", "base_url": url, "api_key": "sk-ant-wrong"},
        },
        "models": [
            {"name": "claude", "provider": "claude", "model": MODEL},
            {"name": "claude-retired", "provider": "claude", "model": "claude-2.0"},
            {"name": "claude-bad-key", "provider": "claude-bad-key", "model": MODEL},
        ],
    }
    with run_gateway(config) as gateway, sdk(gateway) as c:
        yield c


def sent(claude: FakeAnthropic) -> dict[str, Any]:
    """The one Messages request the fake received."""
    (request,) = claude.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    body: dict[str, Any] = request.json
    return body


def test_chat_with_system_and_multi_turn(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "developer", "content": "Answer in English."},
        {"role": "user", "content": "Again"},
        {"role": "user", "content": [{"type": "text", "text": "please"}]},
    ]
    reply = client.chat.completions.create(
        model="claude", messages=messages, temperature=0.5, top_p=0.9, stop="END", seed=7, user="u-1"
    )
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert reply.choices[0].message.content == "Hello from fake Claude"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == MODEL and reply.id.startswith("msg_fake")
    assert reply.usage is not None and reply.usage.completion_tokens == 4
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 4
    body = sent(claude)
    assert body["system"] == [{"type": "text", "text": "Be terse."}, {"type": "text", "text": "Answer in English."}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [{"type": "text", "text": "Again"}, {"type": "text", "text": "please"}]
    assert body["max_tokens"] == 4096
    assert (body["temperature"], body["top_p"], body["stop_sequences"]) == (0.5, 0.9, ["END"])
    assert body["metadata"] == {"user_id": "u-1"} and "seed" not in body


def test_max_tokens_cut_is_length(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    reply = client.chat.completions.create(model="claude", messages=HELLO, max_completion_tokens=2)
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content == "Hello from"
    assert sent(claude)["max_tokens"] == 2


def test_stream_with_include_usage(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    stream = client.chat.completions.create(
        model="claude", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in stream]
    for chunk in chunks:
        assert_valid(chunk, "CreateChatCompletionStreamResponse")
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello from fake Claude"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4
    assert all(c["usage"] is None for c in chunks[:-1])
    assert len({c["id"] for c in chunks}) == 1
    assert sent(claude)["stream"] is True


def test_tools_round_trip_with_parallel_calls(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather and time in Oslo?"}]
    first = client.chat.completions.create(
        model="claude", messages=messages, tools=[WEATHER, TIME], tool_choice="required"
    )
    assert_valid(first.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = [c for c in choice.message.tool_calls or [] if isinstance(c, ChatCompletionMessageFunctionToolCall)]
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {"zone": "Oslo"}),
    ]
    messages.append(choice.message.model_dump(exclude_unset=True))  # type: ignore[arg-type]
    messages += [{"role": "tool", "tool_call_id": c.id, "content": f"{c.function.name} ok"} for c in calls]
    claude.reset()
    second = client.chat.completions.create(model="claude", messages=messages, tools=[WEATHER, TIME])
    assert second.choices[0].message.content == "Tool said: get_weather ok; get_time ok"
    assert second.choices[0].finish_reason == "stop"
    body = sent(claude)
    assert "tool_choice" not in body
    assert [block["type"] for block in body["messages"][1]["content"]] == ["tool_use", "tool_use"]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": calls[0].id, "content": "get_weather ok"},
        {"type": "tool_result", "tool_use_id": calls[1].id, "content": "get_time ok"},
    ]


def test_tool_call_stream_has_argument_deltas_with_stable_indexes(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    stream = client.chat.completions.create(
        model="claude", messages=HELLO, tools=[WEATHER, TIME], tool_choice="required", stream=True
    )
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    finish = None
    for chunk in stream:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
        for call in chunk.choices[0].delta.tool_calls or []:
            if call.function and call.function.name:
                names[call.index] = call.function.name
            arguments[call.index] = arguments.get(call.index, "") + ((call.function and call.function.arguments) or "")
        finish = chunk.choices[0].finish_reason or finish
    assert names == {0: "get_weather", 1: "get_time"}
    assert {k: json.loads(v) for k, v in arguments.items()} == {0: {"city": "Oslo"}, 1: {"zone": "Oslo"}}
    assert finish == "tool_calls"


def test_parallel_tool_calls_false_and_named_choice(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    reply = client.chat.completions.create(
        model="claude",
        messages=HELLO,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        parallel_tool_calls=False,
    )
    (call,) = reply.choices[0].message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageFunctionToolCall) and call.function.name == "get_time"
    assert sent(claude)["tool_choice"] == {"type": "tool", "name": "get_time", "disable_parallel_tool_use": True}


def test_image_parts(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    content: list[Any] = [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    reply = client.chat.completions.create(model="claude", messages=[{"role": "user", "content": content}])
    assert reply.choices[0].message.content == "Hello from fake Claude"
    assert sent(claude)["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


def test_json_object_mode(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    reply = client.chat.completions.create(model="claude", messages=HELLO, response_format={"type": "json_object"})
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert json.loads(reply.choices[0].message.content or "") == {"answer": "Hello from fake Claude"}
    assert reply.choices[0].finish_reason == "stop" and reply.choices[0].message.tool_calls is None
    assert sent(claude)["tool_choice"] == {"type": "tool", "name": "json_tool_call"}


def test_json_schema_mode_streamed(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    schema: dict[str, object] = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    stream = client.chat.completions.create(
        model="claude",
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert json.loads(text) == {"city": "Oslo"}
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(not c.choices[0].delta.tool_calls for c in chunks)
    assert sent(claude)["tools"][0]["input_schema"] == schema


def test_reasoning_effort_returns_reasoning_content(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    reply = client.chat.completions.create(model="claude", messages=HELLO, reasoning_effort="low")
    message = reply.choices[0].message.model_dump()
    assert message["reasoning_content"] == "The user wants a greeting."
    assert message["thinking_blocks"] == [
        {"type": "thinking", "thinking": "The user wants a greeting.", "signature": "sig-fake-0001"}
    ]
    body = sent(claude)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["max_tokens"] == 1024 + 4096


@pytest.mark.parametrize(
    ("model", "plan", "status", "param", "code"),
    [
        ("claude-bad-key", None, 401, None, "authentication_error"),
        ("claude-retired", None, 404, "model", "not_found_error"),
        ("claude", Status(500), 500, None, "api_error"),
        ("claude", Status(529, headers={"retry-after": "3"}), 529, None, "overloaded_error"),
    ],
)
def test_upstream_error_statuses(
    client: openai.OpenAI, claude: FakeAnthropic, model: str, plan: Status | None, status: int, param: str, code: str
) -> None:
    if plan is not None:
        claude.plan(plan)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=model, messages=HELLO)
    assert caught.value.status_code == status
    body = caught.value.response.json()
    assert_valid(body, "ErrorResponse")
    assert (body["error"]["param"], body["error"]["code"]) == (param, code)


def test_upstream_400_names_the_param(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="claude", messages=HELLO, max_tokens=0)
    body = caught.value.response.json()["error"]
    assert body["param"] == "max_tokens" and body["message"].startswith("max_tokens:")


def test_rate_limit_keeps_retry_after(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    claude.plan(Status(429, headers={"retry-after": "7", "retry-after-ms": "7000"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="claude", messages=HELLO)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["retry-after-ms"] == "7000"
    assert caught.value.response.json()["error"]["code"] == "rate_limit_error"


def test_in_stream_error_raises_in_the_sdk(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    claude.plan(StreamError(after_events=5))
    stream = iter(client.chat.completions.create(model="claude", messages=HELLO, stream=True))
    seen = [next(stream), next(stream)]
    with pytest.raises(openai.APIError, match="Overloaded"):
        list(stream)
    assert seen[1].choices[0].delta.content == "Hello"


def test_cut_stream_raises_in_the_sdk(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    claude.plan(CutStream(after_events=4))
    with pytest.raises(openai.APIError, match="closed the connection"):
        list(client.chat.completions.create(model="claude", messages=HELLO, stream=True))


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"n": 2}, "n"), ({"logprobs": True}, "logprobs"), ({"temperature": 1.5}, "temperature"), ({"top_k": 3}, "top_k")],
)
def test_unsupported_parameter_is_400_naming_it(
    client: openai.OpenAI, claude: FakeAnthropic, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="claude", messages=HELLO, extra_body=extra)
    body = caught.value.response.json()
    assert_valid(body, "ErrorResponse")
    assert body["error"]["param"] == param
    assert claude.requests == []


def test_the_fake_speaks_the_real_wire(claude_server: tuple[FakeAnthropic, Server], claude: FakeAnthropic) -> None:
    """The official `anthropic` SDK parses the fake's replies and streams with its own types."""
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    url = claude_server[1].base_url
    with anthropic.Anthropic(base_url=url, api_key=KEY, default_headers=headers, max_retries=0) as native:
        tools: list[anthropic.types.ToolParam] = [
            {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
        ]
        reply = native.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}], tools=tools,
            tool_choice={"type": "any"},
        )  # fmt: skip
        assert reply.stop_reason == "tool_use" and reply.content[0].type == "tool_use"
        with native.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as events:
            final = events.get_final_message()
        assert final.content[0].type == "text" and final.content[0].text == "Hello from fake Claude"
        claude.plan(Status(529))
        with pytest.raises(anthropic.APIStatusError) as caught:
            native.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 529 and caught.value.type == "overloaded_error"
