"""The official `openai` SDK through the gateway to a fake Cloudflare Workers AI: both endpoints.

Models `llama`, `scout` and `bge` go to `/ai/run/{model}` (the native envelope); `gpt-oss` and `bge-v1`
have `v1/` model ids and go to the OpenAI-compatible `/ai/v1/...` endpoints.
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
from openai.types.chat import ChatCompletionMessageParam
from tests.conftest import run_gateway, sdk
from tests.fakes.harness import function_tool
from tests.fakes.openai_embeddings import vector
from tests.fakes.server import Server, serve_in_thread
from tests.fakes.workers_ai import (
    ACCOUNT_ID,
    EMBEDDING_SIZE,
    TOKEN,
    CutStream,
    FakeWorkersAI,
    NoStream,
    Status,
    StreamError,
)
from tests.openai_schema import assert_valid

RUN = f"/client/v4/accounts/{ACCOUNT_ID}/ai/run/"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


WEATHER = function_tool("get_weather", city="string")
TIME = function_tool("get_time", city="string")


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeWorkersAI, Server]]:
    fake = FakeWorkersAI()
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def fake(upstream: tuple[FakeWorkersAI, Server]) -> FakeWorkersAI:
    upstream[0].reset()
    return upstream[0]


@pytest.fixture(scope="module")
def gateway(upstream: tuple[FakeWorkersAI, Server]) -> Iterator[Server]:
    base = f"{upstream[1].base_url}/client/v4"
    cf = {"type": "workers_ai", "base_url": base, "api_key": TOKEN, "account_id": ACCOUNT_ID}
    config = {
        "providers": {"cf": cf, "cf-bad-key": {**cf, "api_key": "cf-wrong"}},
        "models": [
            {"name": "llama", "provider": "cf", "model": "@cf/meta/llama-3.1-8b-instruct"},
            {"name": "scout", "provider": "cf", "model": "@cf/meta/llama-4-scout-17b-16e-instruct"},
            {"name": "gpt-oss", "provider": "cf", "model": "v1/@cf/openai/gpt-oss-120b"},
            {"name": "bge", "provider": "cf", "model": "@cf/baai/bge-base-en-v1.5"},
            {"name": "bge-v1", "provider": "cf", "model": "v1/@cf/baai/bge-base-en-v1.5"},
            {"name": "no-such", "provider": "cf", "model": "@cf/meta/llama-9-instruct"},
            {"name": "bad-key", "provider": "cf-bad-key", "model": "@cf/meta/llama-3.1-8b-instruct"},
        ],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def upstream_json(fake: FakeWorkersAI) -> dict[str, Any]:
    body: dict[str, Any] = fake.requests[-1].json
    return body


def test_chat_non_stream(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": "Be terse."}, *HELLO]
    reply = client.chat.completions.create(model="llama", messages=messages, max_tokens=64, temperature=0.2, user="u1")
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert reply.choices[0].message.content == "Hello from fake workers ai"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "@cf/meta/llama-3.1-8b-instruct"
    assert reply.usage is not None and reply.usage.completion_tokens == 4
    [sent] = fake.requests
    assert sent.path == RUN + "@cf/meta/llama-3.1-8b-instruct"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.json == {"messages": messages, "max_tokens": 64, "temperature": 0.2}


def test_max_tokens_reached_is_length(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    reply = client.chat.completions.create(model="llama", messages=HELLO, max_completion_tokens=2)
    assert reply.choices[0].message.content == "Hello from"
    assert reply.choices[0].finish_reason == "length"


def test_stream_with_include_usage(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    stream = client.chat.completions.create(
        model="llama", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk.model_dump(exclude_unset=True) for chunk in stream]
    for chunk in chunks:
        assert_valid(chunk, "CreateChatCompletionStreamResponse")
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == (
        "Hello from fake workers ai"
    )
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4
    assert upstream_json(fake)["stream"] is True


def test_tools_round_trip(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    first = client.chat.completions.create(
        model="llama",
        messages=HELLO,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert_valid(first.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    assert [t["function"]["name"] for t in upstream_json(fake)["tools"]] == ["get_weather"]
    assert upstream_json(fake)["tool_choice"] == "required"
    second = client.chat.completions.create(
        model="llama",
        messages=[
            *HELLO,
            first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "12°C and rain"},
        ],
        tools=[WEATHER],
    )
    assert second.choices[0].message.content == "Tool said: 12°C and rain"
    sent = upstream_json(fake)["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.id and sent[1]["content"] == ""
    assert sent[2] == {"role": "tool", "content": "12°C and rain", "tool_call_id": call.id, "name": "get_weather"}


def test_parallel_tool_calls_stream_as_argument_deltas(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    stream = client.chat.completions.create(
        model="llama",
        messages=HELLO,
        tools=[WEATHER, TIME],
        tool_choice="required",
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
        for delta in chunk.choices[0].delta.tool_calls or []:
            slot = calls.setdefault(delta.index, {"name": "", "arguments": "", "id": ""})
            slot["id"] += delta.id or ""
            slot["name"] += (delta.function and delta.function.name) or ""
            slot["arguments"] += (delta.function and delta.function.arguments) or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert all(json.loads(c["arguments"]) == {"city": "Oslo"} and c["id"] for c in calls.values())


def test_image_part(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    content: Any = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
    ]
    reply = client.chat.completions.create(model="scout", messages=[{"role": "user", "content": content}])
    assert reply.choices[0].message.content == "Hello from fake workers ai"
    assert upstream_json(fake)["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": PNG}}
    fake.reset()
    content[1]["image_url"]["url"] = "https://example.com/cat.png"
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="scout", messages=[{"role": "user", "content": content}])
    assert caught.value.param == "messages[0].content[1].image_url.url"
    assert fake.requests == []


def test_json_mode_object_and_schema(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    reply = client.chat.completions.create(model="llama", messages=HELLO, response_format={"type": "json_object"})
    assert json.loads(reply.choices[0].message.content or "") == {"answer": "Hello"}
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "rank": {"type": "integer"}},
        "required": ["name", "rank"],
    }
    reply = client.chat.completions.create(
        model="llama",
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "row", "strict": True, "schema": schema}},
    )
    assert json.loads(reply.choices[0].message.content or "") == {"name": "Oslo", "rank": 1}
    assert upstream_json(fake)["response_format"] == {"type": "json_schema", "json_schema": schema}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"stop": ["\n"]}, "stop"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"response_format": {"type": "json_object"}, "stream": True}, "response_format"),
    ],
)
def test_unsupported_parameter_is_400_naming_it(
    gateway: Server, fake: FakeWorkersAI, extra: dict[str, Any], param: str
) -> None:
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions", json={"model": "llama", "messages": HELLO, **extra}
    )
    assert response.status_code == 400
    body = response.json()
    assert_valid(body, "ErrorResponse")
    assert body["error"]["param"] == param and body["error"]["type"] == "invalid_request_error"
    assert fake.requests == []


def test_openai_compatible_endpoint(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    reply = client.chat.completions.create(model="gpt-oss", messages=HELLO, stop=["\n"], n=2)
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert [c.message.content for c in reply.choices] == ["Hello from fake upstream"] * 2
    [sent] = fake.requests
    assert sent.path == f"/client/v4/accounts/{ACCOUNT_ID}/ai/v1/chat/completions"
    assert sent.json == {"model": "@cf/openai/gpt-oss-120b", "messages": HELLO, "stop": ["\n"], "n": 2}
    stream = client.chat.completions.create(
        model="gpt-oss", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake upstream"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_embeddings_float_base64_and_compat(client: openai.OpenAI, gateway: Server, fake: FakeWorkersAI) -> None:
    many = client.embeddings.create(model="bge", input=["hello", "world"])  # the SDK asks for base64
    assert [d.embedding for d in many.data] == [pytest.approx(vector(t, EMBEDDING_SIZE)) for t in ("hello", "world")]
    assert upstream_json(fake) == {"text": ["hello", "world"]}
    raw = httpx.post(
        f"{gateway.base_url}/v1/embeddings", json={"model": "bge", "input": "hi", "encoding_format": "base64"}
    )
    packed = base64.b64decode(raw.json()["data"][0]["embedding"])
    assert list(struct.unpack(f"<{EMBEDDING_SIZE}f", packed)) == pytest.approx(vector("hi", EMBEDDING_SIZE))
    assert raw.json()["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    floats = httpx.post(
        f"{gateway.base_url}/v1/embeddings", json={"model": "bge", "input": "hi", "encoding_format": "float"}
    )
    assert_valid(floats.json(), "CreateEmbeddingResponse")
    compat = client.embeddings.create(model="bge-v1", input="hello", encoding_format="float")
    assert compat.data[0].embedding == pytest.approx(vector("hello", EMBEDDING_SIZE))
    assert fake.requests[-1].path.endswith("/ai/v1/embeddings")
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="bge", input="x", dimensions=4)
    assert caught.value.param == "dimensions"


@pytest.mark.parametrize(
    ("status", "sdk_error", "code"),
    [
        (429, openai.RateLimitError, "3040"),
        (500, openai.InternalServerError, "1000"),
        (403, openai.PermissionDeniedError, "5016"),
    ],
)
def test_upstream_error_status_code_and_retry_after(
    client: openai.OpenAI, fake: FakeWorkersAI, status: int, sdk_error: type[openai.APIStatusError], code: str
) -> None:
    fake.plan(Status(status, headers={"retry-after": "7"}))
    with pytest.raises(sdk_error) as caught:
        client.chat.completions.create(model="llama", messages=HELLO)
    assert caught.value.status_code == status
    assert caught.value.response.headers["retry-after"] == "7"
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == code
    assert_valid(caught.value.response.json(), "ErrorResponse")


def test_daily_allocation_says_do_not_retry(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    fake.plan(
        Status(
            429,
            body={
                "result": None,
                "success": False,
                "errors": [{"code": 3036, "message": "daily free allocation used up"}],
                "messages": [],
            },
        )
    )
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="llama", messages=HELLO)
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_auth_and_unknown_model_errors(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    with pytest.raises(openai.AuthenticationError) as auth:
        client.chat.completions.create(model="bad-key", messages=HELLO)
    assert auth.value.body == {
        "message": "Authentication error",
        "type": "authentication_error",
        "param": None,
        "code": "10000",
    }
    with pytest.raises(openai.BadRequestError) as missing:
        client.chat.completions.create(model="no-such", messages=HELLO)
    assert isinstance(missing.value.body, dict) and missing.value.body["code"] == "5007"
    assert "No such model @cf/meta/llama-9-instruct" in missing.value.message


@pytest.mark.parametrize("directive", [StreamError(after_events=2), CutStream(after_events=2)])
def test_stream_failing_midway_raises_in_the_sdk(
    client: openai.OpenAI, fake: FakeWorkersAI, directive: StreamError | CutStream
) -> None:
    fake.plan(directive)
    stream = iter(client.chat.completions.create(model="llama", messages=HELLO, stream=True))
    seen = [next(stream), next(stream)]
    with pytest.raises(openai.APIError):
        next(stream)
    assert "".join(c.choices[0].delta.content or "" for c in seen) == "Hello from"


def test_model_that_cannot_stream_on_run_gets_a_clear_error(client: openai.OpenAI, fake: FakeWorkersAI) -> None:
    fake.plan(NoStream())
    with pytest.raises(openai.APIError) as caught:
        list(client.chat.completions.create(model="llama", messages=HELLO, stream=True))
    assert "v1/" in caught.value.message
