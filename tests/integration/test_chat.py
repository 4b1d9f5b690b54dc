"""Chat completions through the gateway with the official openai SDK: the passthrough relay."""

from __future__ import annotations

import re

import httpx
import openai
import orjson
from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server
from tests.openai_schema import assert_valid


def test_non_stream_reaches_upstream_with_its_model_and_key(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    reply = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello from fake upstream"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    sent = fake.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json["model"] == "gpt-4o-mini"
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")


def test_model_ids_with_slashes_route(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    client.chat.completions.create(model="accounts/fireworks/models/x", messages=[{"role": "user", "content": "hi"}])
    assert fake.requests[-1].json["model"] == "gpt-4o"


def test_tools_and_unknown_fields_pass_through_byte_for_byte(gateway: Server, fake: FakeOpenAI) -> None:
    body = (
        b'{"model": "fast", "messages": [{"role": "user", "content": "Weather in Oslo? \\u00e9"}],\n'
        b' "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",'
        b' "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true}}],'
        b' "tool_choice": "required", "response_format": {"type": "text"}, "logprobs": true, "top_logprobs": 2,'
        b' "temperature": 0.70, "top_k": 40, "repetition_penalty": 1.10, "min_p": 5e-2}'
    )
    response = httpx.post(f"{gateway.base_url}/v1/chat/completions", content=body, timeout=10)
    assert response.status_code == 200, response.text
    assert fake.requests[-1].body == body.replace(b'"model": "fast"', b'"model": "gpt-4o-mini"')
    message = response.json()["choices"][0]["message"]
    assert message["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city":"Oslo"}'}


def test_sdk_extra_body_and_tools(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    reply = client.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        n=2,
        extra_body={"top_k": 3},
    )
    assert reply.choices[0].finish_reason == "tool_calls"
    assert len(reply.choices) == 2
    assert fake.requests[-1].json["top_k"] == 3


def test_stream_relays_upstream_events_unchanged(
    gateway: Server, fake: FakeOpenAI, upstream_server: tuple[FakeOpenAI, Server]
) -> None:
    payload = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"authorization": f"Bearer {UPSTREAM_KEY}"}
    direct = httpx.post(f"{upstream_server[1].base_url}/v1/chat/completions", json=payload, headers=headers).content
    relayed_response = httpx.post(f"{gateway.base_url}/v1/chat/completions", json={**payload, "model": "fast"})
    assert relayed_response.headers["content-type"].startswith("text/event-stream")
    normalise = re.compile(rb"fake\d{6}")
    assert normalise.sub(b"ID", relayed_response.content) == normalise.sub(b"ID", direct)
    assert relayed_response.content.endswith(b"data: [DONE]\n\n")


def test_stream_with_sdk_and_include_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="fast",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from fake upstream"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    for chunk in chunks:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}], stream=True)
    )
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_tool_call_deltas(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fast",
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
        tool_choice="required",
        stream=True,
    )
    arguments = "".join(
        call.function.arguments or ""
        for chunk in stream
        for call in (chunk.choices[0].delta.tool_calls or [] if chunk.choices else [])
        if call.function
    )
    assert orjson.loads(arguments) == {"city": "Oslo"}


def test_provider_headers_are_sent_and_provider_field_is_not(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    client.chat.completions.create(
        model="with-headers", messages=[{"role": "user", "content": "hi"}], extra_body={"provider": "hdr"}
    )
    sent = fake.requests[-1]
    assert sent.headers["openai-organization"] == "org-test"
    assert sent.headers["x-team"] == "ml"
    assert "provider" not in sent.json


def test_provider_pin_routes_an_unlisted_model(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_body={"provider": "hdr"}
    )
    assert fake.requests[-1].headers["x-team"] == "ml"


def test_upstream_connections_are_pooled(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    for _ in range(3):
        client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
    ports = {r.client_port for r in fake.requests}
    assert len(ports) == 1, f"each request opened a new upstream connection: {ports}"
