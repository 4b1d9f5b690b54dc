"""The Cohere chat request beyond the recorded cases: every field the docstring table rejects or drops."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.base import Target
from llmrelay.providers.cohere import CohereChat
from llmrelay.providers.cohere.request import chat_body
from llmrelay.schemas.chat import ChatRequest

HELLO = [{"role": "user", "content": "hi"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
TARGET = Target(provider="co", base_url="http://127.0.0.1:9", model="command-a-03-2025", api_key="k")


def body_of(**fields: Any) -> dict[str, Any]:
    raw = orjson.dumps({"model": "m", "messages": HELLO, **fields})
    return chat_body(ChatRequest.parse(raw), "command-a-03-2025")


def rejected(**fields: Any) -> str | None:
    with pytest.raises(UnsupportedParameterError) as caught:
        body_of(**fields)
    assert caught.value.status_code == 400
    return caught.value.param


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"tools": [WEATHER], "parallel_tool_calls": False}, "parallel_tool_calls"),
        ({"service_tier": "flex"}, "service_tier"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"verbosity": "low"}, "verbosity"),
        ({"audio": {"voice": "alloy", "format": "mp3"}}, "audio"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"repetition_penalty": 1.1}, "repetition_penalty"),
        ({"stop": 5}, "stop"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": {"type": "allowed_tools", "allowed_tools": {}}}, "tool_choice"),
        ({"tools": [{"type": "custom", "custom": {"name": "c"}}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
            "tools[0].function.parameters",
        ),
        ({"tools": "get_weather"}, "tools"),
        (
            {"tools": [{"type": "function", "function": {"name": "a", "strict": True}}, WEATHER]},
            "tools",
        ),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_schema", "json_schema": {"schema": []}}}, "response_format.json_schema"),
    ],
)
def test_unhonourable_fields_are_400_naming_them(fields: dict[str, Any], param: str) -> None:
    assert rejected(**fields) == param


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"role": "function", "name": "f", "content": "x"}, "messages[0].role"),
        ({"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}, "messages[0].content[0].type"),
        ({"role": "user", "content": [{"type": "file", "file": {}}]}, "messages[0].content[0].type"),
        ({"role": "user", "content": []}, "messages[0].content"),
        ({"role": "user", "content": None}, "messages[0].content"),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": "https://x/y.png"}]},
            "messages[0].content[0].image_url",
        ),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:text/plain;base64,aGk="}}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "max"}}],
            },
            "messages[0].content[0].image_url.detail",
        ),
        (
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            "messages[0].content",
        ),
        ({"role": "tool", "content": "42"}, "messages[0].tool_call_id"),
        (
            {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
            "messages[0].function_call",
        ),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}]},
            "messages[0].tool_calls[0]",
        ),
        ({"role": "assistant", "tool_calls": {"id": "c"}}, "messages[0].tool_calls"),
    ],
)
def test_untranslatable_messages_are_400_naming_the_part(message: dict[str, Any], param: str) -> None:
    assert rejected(messages=[message]) == param


def test_harmless_fields_are_dropped_and_nulls_ignored() -> None:
    body = body_of(
        user="u",
        safety_identifier="s",
        prompt_cache_key="k",
        metadata={"a": "b"},
        store=False,
        provider="co",
        service_tier="auto",
        modalities=["text"],
        logprobs=False,
        n=1,
        temperature=None,
        tools=[WEATHER],
        parallel_tool_calls=True,
        response_format={"type": "text"},
        tool_choice="auto",
    )
    assert body == {
        "model": "command-a-03-2025",
        "messages": HELLO,
        "stream": False,
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    }


def test_max_completion_tokens_wins_and_native_fields_pass_through() -> None:
    body = body_of(max_tokens=10, max_completion_tokens=20, safety_mode="STRICT", top_k=5)
    assert (body["max_tokens"], body["safety_mode"], body["k"]) == (20, "STRICT", 5)


def test_json_schema_without_a_schema_is_plain_json_mode() -> None:
    body = body_of(response_format={"type": "json_schema", "json_schema": {"name": "x"}})
    assert body["response_format"] == {"type": "json_object"}


def test_an_assistant_turn_without_calls_keeps_its_text_as_content() -> None:
    messages = [*HELLO, {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]}, *HELLO]
    assert body_of(messages=messages)["messages"][1] == {"role": "assistant", "content": "Hi!"}


def test_headers_carry_the_key_the_extra_headers_and_accept_for_streams() -> None:
    target = Target("co", "http://h", "m", api_key=None, headers={"X-Client-Name": "relay"})
    built = CohereChat().build_request(ChatRequest.parse(orjson.dumps({"model": "m", "messages": HELLO})), target)
    assert dict(built.headers) == {"content-type": "application/json", "X-Client-Name": "relay"}
    streamed = orjson.dumps({"model": "m", "messages": HELLO, "stream": True})
    built = CohereChat().build_request(ChatRequest.parse(streamed), TARGET)
    assert built.url == "http://127.0.0.1:9/v2/chat"
    assert built.headers["accept"] == "text/event-stream"
    assert built.headers["authorization"] == "Bearer k"
