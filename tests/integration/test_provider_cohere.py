"""The official `openai` SDK through the gateway to the fake Cohere upstream (Chat v2, Embed v2).

What the gateway emits is validated against OpenAI's schemas, and what reached the fake is checked
too, so each test shows both ends of the translation.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
)
from tests.conftest import run_gateway, sdk
from tests.fakes.cohere import CutStream, FakeCohere, Status, StreamError
from tests.fakes.cohere_wire import PROMPT_TEMPLATE_TOKENS, vector
from tests.fakes.harness import function_tool
from tests.fakes.server import Server, serve_in_thread
from tests.openai_schema import assert_valid

KEY = "co-upstream-test"
MODEL = "command-a-03-2025"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="


WEATHER = function_tool("get_weather", city="string")
TIME = function_tool("get_time", city="string")


@pytest.fixture(scope="module")
def cohere_server() -> Iterator[tuple[FakeCohere, Server]]:
    fake = FakeCohere(api_key=KEY)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def cohere(cohere_server: tuple[FakeCohere, Server]) -> FakeCohere:
    cohere_server[0].reset()
    return cohere_server[0]


@pytest.fixture(scope="module")
def gateway(cohere_server: tuple[FakeCohere, Server]) -> Iterator[Server]:
    url = cohere_server[1].base_url
    config = {
        "providers": {"co": {"type": "cohere", "base_url": url, "api_key": KEY}},
        "models": [
            {"name": "command", "provider": "co", "model": MODEL},
            {"name": "vision", "provider": "co", "model": "command-a-vision-07-2025"},
            {"name": "command-gone", "provider": "co", "model": "command-light"},
            {"name": "embed", "provider": "co", "model": "embed-v4.0"},
            {"name": "embed3", "provider": "co", "model": "embed-english-v3.0"},
        ],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture(scope="module")
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def sent(cohere: FakeCohere, path: str = "/v2/chat") -> dict[str, Any]:
    """The body of the one request the fake received."""
    (request,) = cohere.requests
    assert request.path == path
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body: dict[str, Any] = request.json
    return body


def test_chat_translates_both_ways(client: openai.OpenAI, cohere: FakeCohere) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Say hello"},
    ]
    completion = client.chat.completions.create(
        model="command", messages=messages, temperature=0.3, top_p=0.8, max_tokens=3, stop=["zzz"], seed=1, user="u"
    )
    assert_valid(completion.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert completion.choices[0].message.content == "Hello from fake"
    assert completion.choices[0].finish_reason == "length"
    assert completion.model == MODEL
    body = sent(cohere)
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert {k: body[k] for k in ("temperature", "p", "max_tokens", "stop_sequences", "seed", "stream")} == {
        "temperature": 0.3,
        "p": 0.8,
        "max_tokens": 3,
        "stop_sequences": ["zzz"],
        "seed": 1,
        "stream": False,
    }
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 6 + PROMPT_TEMPLATE_TOKENS, "usage reports `tokens`, not billed units"


def test_stop_sequence_is_stop(client: openai.OpenAI, cohere: FakeCohere) -> None:
    completion = client.chat.completions.create(model="command", messages=HELLO, stop="fake")
    assert completion.choices[0].message.content == "Hello from "
    assert completion.choices[0].finish_reason == "stop"


def test_stream_with_usage(client: openai.OpenAI, cohere: FakeCohere) -> None:
    stream = client.chat.completions.create(
        model="command", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    for chunk in chunks:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake Cohere"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4 + 2
    assert sent(cohere)["stream"] is True


def test_tools_round_trip(client: openai.OpenAI, cohere: FakeCohere) -> None:
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Use get_weather for Oslo"}]
    first = client.chat.completions.create(model="command", messages=question, tools=[WEATHER, TIME])
    assert_valid(first.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert message.content == "I will use the tools."
    assert message.tool_calls is not None and len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Oslo"}
    cohere.reset()
    history: list[ChatCompletionMessageParam] = [
        *question,
        message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 4}'},
    ]
    second = client.chat.completions.create(model="command", messages=history, tools=[WEATHER, TIME])
    assert second.choices[0].message.content == 'From the tools: {"temp_c": 4}'
    native = sent(cohere)["messages"]
    assert native[1] == {
        "role": "assistant",
        "tool_plan": "I will use the tools.",
        "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
        ],
    }
    assert native[2] == {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 4}'}


def test_streamed_parallel_tool_calls_keep_their_indexes(client: openai.OpenAI, cohere: FakeCohere) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "get_weather and get_time for Oslo"}]
    chunks = list(
        client.chat.completions.create(model="command", messages=messages, tools=[WEATHER, TIME], stream=True)
    )
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function and delta.function.name) or ""
            entry["arguments"] += (delta.function and delta.function.arguments) or ""
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert all(json.loads(c["arguments"]) == {"city": "Oslo"} for c in calls.values())
    assert sum(len(c.choices[0].delta.tool_calls or []) for c in chunks) > 6, "arguments arrive in many deltas"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_named_tool_choice_sends_only_that_tool(client: openai.OpenAI, cohere: FakeCohere) -> None:
    completion = client.chat.completions.create(
        model="command",
        messages=HELLO,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    (call,) = completion.choices[0].message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageFunctionToolCall) and call.function.name == "get_time"
    body = sent(cohere)
    assert [t["function"]["name"] for t in body["tools"]] == ["get_time"]
    assert body["tool_choice"] == "REQUIRED"


def test_image_parts(client: openai.OpenAI, cohere: FakeCohere) -> None:
    content: Any = [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "image_url", "image_url": {"url": "https://example.com/logo.png", "detail": "low"}},
    ]
    completion = client.chat.completions.create(model="vision", messages=[{"role": "user", "content": content}])
    assert completion.choices[0].message.content == "I see 2 images."
    assert sent(cohere)["messages"][0]["content"] == content


def test_json_mode_object_and_schema(client: openai.OpenAI, cohere: FakeCohere) -> None:
    plain = client.chat.completions.create(model="command", messages=HELLO, response_format={"type": "json_object"})
    assert json.loads(plain.choices[0].message.content or "") == {"answer": "Hello from fake Cohere"}
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "size": {"type": "integer"}},
    }
    shaped = client.chat.completions.create(
        model="command",
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema, "strict": True}},
    )
    assert json.loads(shaped.choices[0].message.content or "") == {"city": "Oslo", "size": 1}
    assert cohere.requests[-1].json["response_format"] == {"type": "json_object", "json_schema": schema}


def test_embeddings_float_base64_and_dimensions(client: openai.OpenAI, gateway: Server, cohere: FakeCohere) -> None:
    floats = client.embeddings.create(model="embed", input=["hello", "world"], encoding_format="float")
    assert_valid(floats.model_dump(exclude_unset=True), "CreateEmbeddingResponse")
    assert [d.embedding for d in floats.data] == [vector("hello", 1536), vector("world", 1536)]
    assert floats.usage.prompt_tokens == 2
    assert sent(cohere, "/v2/embed")["input_type"] == "search_document"
    cohere.reset()
    body = {"model": "embed", "input": "hi", "encoding_format": "base64", "dimensions": 256}
    raw = httpx.post(f"{gateway.base_url}/v1/embeddings", json=body, timeout=10).json()
    packed = base64.b64decode(raw["data"][0]["embedding"])
    assert list(struct.unpack(f"<{len(packed) // 4}f", packed)) == pytest.approx(vector("hi", 256), abs=1e-6)
    assert sent(cohere, "/v2/embed")["output_dimension"] == 256


def test_dimensions_on_a_fixed_size_model_is_400(client: openai.OpenAI, cohere: FakeCohere) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="embed3", input="hi", dimensions=256)
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "dimensions"
    assert cohere.requests == []


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"n": 2}, "n"), ({"logprobs": True}, "logprobs"), ({"parallel_tool_calls": False}, "parallel_tool_calls")],
)
def test_unsupported_parameter_is_400_naming_it(
    client: openai.OpenAI, cohere: FakeCohere, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="command", messages=HELLO, tools=[WEATHER], **extra)
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == param
    assert_valid(caught.value.response.json(), "ErrorResponse")
    assert cohere.requests == []


@pytest.mark.parametrize(
    ("directive", "sdk_error", "status"),
    [
        (Status(401), openai.AuthenticationError, 401),
        (Status(429, headers={"retry-after": "7"}), openai.RateLimitError, 429),
        (Status(503, headers={"retry-after": "2"}), openai.InternalServerError, 503),
        (Status(499), openai.InternalServerError, 502),
    ],
)
def test_upstream_error_statuses(
    client: openai.OpenAI, cohere: FakeCohere, directive: Status, sdk_error: type[openai.APIStatusError], status: int
) -> None:
    cohere.plan(directive)
    with pytest.raises(sdk_error) as caught:
        client.chat.completions.create(model="command", messages=HELLO)
    assert caught.value.status_code == status
    assert_valid(caught.value.response.json(), "ErrorResponse")
    if "retry-after" in directive.headers:
        assert caught.value.response.headers["retry-after"] == directive.headers["retry-after"]


def test_upstream_validation_error_names_the_openai_param(client: openai.OpenAI, cohere: FakeCohere) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="command", messages=HELLO, top_p=1.0)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["param"] == "top_p"
    assert caught.value.body["message"].startswith("invalid request: p must be between")


def test_unknown_upstream_model_is_404(client: openai.OpenAI, cohere: FakeCohere) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="command-gone", messages=HELLO)
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("directive", "match"),
    [(StreamError(after_events=3), "internal server error"), (CutStream(after_events=3), "closed the connection")],
)
def test_stream_failure_midway_raises_in_the_sdk(
    client: openai.OpenAI, cohere: FakeCohere, directive: StreamError | CutStream, match: str
) -> None:
    cohere.plan(directive)
    stream = iter(client.chat.completions.create(model="command", messages=HELLO, stream=True))
    seen = [next(stream), next(stream)]
    with pytest.raises(openai.APIError, match=match):
        next(stream)
    assert seen[1].choices[0].delta.content == "Hello"
