"""The official `anthropic` SDK through the gateway's /v1/messages to the fake OpenAI chat upstream: the
translated path (requests become chat, replies and streams come back as Messages), auth, and errors.

Each test checks both ends: what the SDK got, and what reached the fake (its recorded chat request).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, ToolParam
from tests.conftest import MASTER_KEY, gateway_config, run_gateway
from tests.fakes.openai import CutStream, FakeOpenAI, Status
from tests.fakes.server import Server

from llmrelay.accounting.tokens import count_chat

HELLO: list[MessageParam] = [{"role": "user", "content": "Say hello"}]
WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@pytest.fixture(scope="module")
def messages_gateway(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    config = gateway_config(
        upstream_server[1].base_url, auth={"master_key": MASTER_KEY}, server={"max_request_bytes": 64 * 1024}
    )
    with run_gateway(config) as server:
        yield server


def claude_client(
    server: Server, api_key: str | None = MASTER_KEY, auth_token: str | None = None
) -> anthropic.Anthropic:
    """The SDK pointed at the gateway; `api_key` goes as x-api-key, `auth_token` as a bearer token."""
    if auth_token is not None:
        api_key = None
    return anthropic.Anthropic(
        base_url=server.base_url, api_key=api_key, auth_token=auth_token, max_retries=0, timeout=10
    )


@pytest.fixture
def client(messages_gateway: Server) -> Iterator[anthropic.Anthropic]:
    with claude_client(messages_gateway) as c:
        yield c


def sent(fake: FakeOpenAI) -> dict[str, Any]:
    """The one chat request the fake received."""
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    body: dict[str, Any] = request.json
    return body


def test_create_text(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    raw = client.messages.with_raw_response.create(
        model="fast",
        max_tokens=100,
        system="Be terse.",
        messages=HELLO,
        stop_sequences=["END"],
        metadata={"user_id": "u-1"},
        extra_body={"temperature": 0.5, "top_k": 5},
    )
    message = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].type == "text" and message.content[0].text == "Hello from fake upstream"
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    body = sent(fake)
    assert body["messages"] == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Say hello"}]
    assert body["model"] == "gpt-4o-mini" and body["max_completion_tokens"] == 100
    assert (body["stop"], body["user"], body["temperature"], body["top_k"]) == (["END"], "u-1", 0.5, 5)
    # The fake counts 4 per message plus one per word: the usage is the upstream's own.
    assert (message.usage.input_tokens, message.usage.output_tokens) == (4 + 2 + 4 + 2, 4)
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (0, 0)


def test_max_tokens_stop_reason(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    message = client.messages.create(model="fast", max_tokens=2, messages=HELLO)
    assert message.stop_reason == "max_tokens"
    assert message.content[0].type == "text" and message.content[0].text == "Hello from"
    assert sent(fake)["max_completion_tokens"] == 2


def test_tool_use_then_tool_result_round_trip(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    first = client.messages.create(
        model="fast", max_tokens=100, messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER], tool_choice={"type": "any", "disable_parallel_tool_use": True},
    )  # fmt: skip
    assert first.stop_reason == "tool_use"
    (use,) = first.content
    assert use.type == "tool_use" and use.name == "get_weather" and use.input == {"city": "Oslo"}
    asked = sent(fake)
    assert asked["tool_choice"] == "required" and asked["parallel_tool_calls"] is False
    assert asked["tools"] == [{"type": "function", "function": {"name": "get_weather", **_function(WEATHER)}}]
    fake.reset()
    history: list[Any] = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": [use.model_dump(exclude_none=True)]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "4 °C, cloudy"}]},
    ]
    second = client.messages.create(model="fast", max_tokens=100, messages=history, tools=[WEATHER])
    assert second.stop_reason == "end_turn" and second.content[0].type == "text"
    messages = sent(fake)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": use.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
        ],
    }
    assert messages[2] == {"role": "tool", "tool_call_id": use.id, "content": "4 °C, cloudy"}


def _function(tool: ToolParam) -> dict[str, Any]:
    return {"parameters": tool["input_schema"], "description": tool.get("description")}


def test_image_blocks(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    content: Any = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "text", "text": "What is in these?"},
    ]
    client.messages.create(model="fast", max_tokens=50, messages=[{"role": "user", "content": content}])
    assert sent(fake)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                {"type": "text", "text": "What is in these?"},
            ],
        }
    ]


def test_stream_text(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    with client.messages.stream(model="fast", max_tokens=100, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello from fake upstream"
    assert final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4 + 2, 4)  # the upstream's, not an estimate
    body = sent(fake)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_stream_events_are_framed_as_anthropic_frames_them(messages_gateway: Server, fake: FakeOpenAI) -> None:
    body = {"model": "fast", "max_tokens": 100, "stream": True, "messages": HELLO}
    response = httpx.post(f"{messages_gateway.base_url}/v1/messages", json=body, headers={"x-api-key": MASTER_KEY})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    names = [line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")]
    assert names == [
        "message_start", "content_block_start", "ping", *["content_block_delta"] * 4,
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    start = next(line for line in response.text.splitlines() if '"message_start"' in line)
    # message_start carries the offline count of the prompt (the real one comes in message_delta)
    assert f'"input_tokens":{count_chat(sent(fake)["messages"], "gpt-4o-mini")}' in start


def test_stream_tool_use(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    partial: list[str] = []
    with client.messages.stream(
        model="fast",
        max_tokens=100,
        messages=HELLO,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
    ) as stream:
        for event in stream:
            if event.type == "input_json":
                partial.append(event.partial_json)
        final = stream.get_final_message()
    assert len(partial) > 1 and "".join(partial) == '{"city":"Oslo"}'  # the fake splits the arguments in two
    (use,) = final.content
    assert use.type == "tool_use" and use.input == {"city": "Oslo"} and final.stop_reason == "tool_use"
    assert sent(fake)["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_upstream_cut_mid_stream_is_an_error_event(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    fake.plan(CutStream(after_events=2))
    stream = client.messages.stream(model="fast", max_tokens=100, messages=HELLO)
    with stream as events, pytest.raises(anthropic.APIStatusError) as caught:
        for _ in events:
            pass
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]


def test_unknown_model_is_not_found(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="no-such-model", max_tokens=10, messages=HELLO)
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")


def test_upstream_429_is_a_rate_limit_error(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    fake.plan(Status(429, headers={"retry-after": "7"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model="fast", max_tokens=10, messages=HELLO)
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert caught.value.response.headers["retry-after"] == "7"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "fast", "messages": HELLO}, "max_tokens: Field required"),
        ({"model": "fast", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        (
            {"model": "fast", "max_tokens": 5, "messages": [*HELLO, {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]}, *HELLO],
             "tools": [WEATHER]},
            "messages.2: `tool_use` ids were found without `tool_result` blocks",
        ),
        ({"model": "fast", "max_tokens": 5, "messages": HELLO, "container": "c"}, "container: Extra inputs"),
    ],
)  # fmt: skip
def test_bad_requests_are_bad_request_errors(messages_gateway: Server, body: dict[str, Any], message: str) -> None:
    response = httpx.post(f"{messages_gateway.base_url}/v1/messages", json=body, headers={"x-api-key": MASTER_KEY})
    assert response.status_code == 400
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["message"].startswith(message)
    with claude_client(messages_gateway) as client, pytest.raises(anthropic.BadRequestError):
        client.post("/v1/messages", body=body, cast_to=httpx.Response)


def test_wrong_or_missing_key_is_an_authentication_error(messages_gateway: Server, fake: FakeOpenAI) -> None:
    with claude_client(messages_gateway, api_key="sk-wrong") as client, pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="fast", max_tokens=10, messages=HELLO)
    response = httpx.post(f"{messages_gateway.base_url}/v1/messages", json={"model": "fast"})
    assert response.status_code == 401 and response.json()["error"]["type"] == "authentication_error"
    assert fake.requests == []


def test_bearer_auth_works_like_x_api_key(messages_gateway: Server, fake: FakeOpenAI) -> None:
    with claude_client(messages_gateway, auth_token=MASTER_KEY) as client:
        message = client.messages.create(model="fast", max_tokens=10, messages=HELLO)
    assert message.content[0].type == "text"
    assert "x-api-key" not in fake.requests[0].headers  # the client's key never goes to a chat upstream


def test_virtual_key_with_a_model_allowlist(messages_gateway: Server, fake: FakeOpenAI) -> None:
    created = httpx.post(
        f"{messages_gateway.base_url}/admin/keys",
        json={"name": "agent", "models": ["fast"]},
        headers={"authorization": f"Bearer {MASTER_KEY}"},
    )
    assert created.status_code == 201, created.text
    with claude_client(messages_gateway, api_key=created.json()["key"]) as client:
        assert client.messages.create(model="fast", max_tokens=10, messages=HELLO).stop_reason == "end_turn"
        with pytest.raises(anthropic.PermissionDeniedError) as caught:
            client.messages.create(model="gpt-4o", max_tokens=10, messages=HELLO)
    assert caught.value.body["error"]["type"] == "permission_error"  # type: ignore[index]


def test_count_tokens_offline(client: anthropic.Anthropic, fake: FakeOpenAI) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "What is the weather like in Oslo today?"}]
    counted = client.messages.count_tokens(model="fast", system="Be terse.", messages=messages, tools=[WEATHER])
    chat = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": messages[0]["content"]}]
    tools = [{"type": "function", "function": {"name": "get_weather", **_function(WEATHER)}}]
    assert counted.input_tokens == count_chat(chat, "gpt-4o-mini", tools)
    assert 20 < counted.input_tokens < 200
    assert fake.requests == []  # counted here: nothing went upstream


def test_too_large_a_body_is_anthropics_413(messages_gateway: Server, fake: FakeOpenAI) -> None:
    body = {"model": "fast", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 70_000}]}
    with claude_client(messages_gateway) as client, pytest.raises(anthropic.APIStatusError) as caught:
        client.post("/v1/messages", body=body, cast_to=httpx.Response)
    assert caught.value.status_code == 413
    assert caught.value.body["error"]["type"] == "request_too_large"  # type: ignore[index]
    assert fake.requests == []


def test_open_mode_takes_any_key(gateway: Server, fake: FakeOpenAI) -> None:
    """The conftest gateway has no master key and no stored keys: anyone may call, x-api-key or not."""
    with claude_client(gateway, api_key="whatever") as client:
        assert client.messages.create(model="fast", max_tokens=10, messages=HELLO).stop_reason == "end_turn"
