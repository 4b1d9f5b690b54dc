"""The Anthropic request translation beyond the recorded cases: every rejection names its param, every
drop and default is as request.py's table says."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.anthropic import AnthropicChat
from llmrelay.providers.base import Target
from llmrelay.schemas.chat import ChatRequest

TARGET = Target(provider="claude", base_url="http://127.0.0.1:9", model="claude-sonnet-4-20250514", api_key="sk-ant")
HELLO = [{"role": "user", "content": "hi"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def build(**fields: Any) -> dict[str, Any]:
    body = {"model": "claude", "messages": HELLO, **fields}
    built = AnthropicChat().build_request(ChatRequest.parse(orjson.dumps(body)), TARGET)
    parsed: dict[str, Any] = orjson.loads(built.body)
    return parsed


def rejected(**fields: Any) -> UnsupportedParameterError:
    with pytest.raises(UnsupportedParameterError) as caught:
        build(**fields)
    assert caught.value.status_code == 400
    return caught.value


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
        ({"top_logprobs": 0}, "top_logprobs"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"frequency_penalty": -1}, "frequency_penalty"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"web_search_options": {}}, "web_search_options"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"verbosity": "low"}, "verbosity"),
        ({"top_k": 5}, "top_k"),
        ({"temperature": 1.2}, "temperature"),
        ({"service_tier": "flex"}, "service_tier"),
        ({"reasoning_effort": "minimal"}, "reasoning_effort"),
        ({"reasoning_effort": "low", "max_tokens": 1024}, "max_tokens"),
        ({"reasoning_effort": "high", "max_completion_tokens": 100}, "max_completion_tokens"),
        ({"reasoning_effort": "low", "tools": [WEATHER], "tool_choice": "required"}, "reasoning_effort"),
        ({"reasoning_effort": "low", "response_format": {"type": "json_object"}}, "reasoning_effort"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
        ({"tools": "get_weather"}, "tools"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "l", "schema": {"type": "array"}}}},
         "response_format.json_schema.schema"),
        ({"response_format": {"type": "json_schema"}}, "response_format"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_object"}, "tools": [
            {"type": "function", "function": {"name": "json_tool_call"}}]}, "tools"),
    ],
)  # fmt: skip
def test_what_anthropic_cannot_honour_is_a_400_naming_it(fields: dict[str, Any], param: str) -> None:
    assert rejected(**fields).param == param


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"role": "function", "name": "f", "content": "x"}, "messages[1].role"),
        ({"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]},
         "messages[1].content[0]"),
        ({"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}, "messages[1].content[0].file"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]},
         "messages[1].content[0].image_url.url"),
        ({"role": "user", "content": 7}, "messages[1].content"),
        ({"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
         "messages[1].content"),
        ({"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
          "function": {"name": "f", "arguments": "[1]"}}]}, "messages[1].tool_calls[0].function.arguments"),
        ({"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
          "function": {"name": "f", "arguments": "{oops"}}]}, "messages[1].tool_calls[0].function.arguments"),
        ({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]},
         "messages[1].tool_calls[0]"),
        ({"role": "assistant", "content": "x", "thinking_blocks": [{"type": "secret"}]}, "messages[1].thinking_blocks"),
        ({"role": "tool", "content": "4 C"}, "messages[1].tool_call_id"),
    ],
)  # fmt: skip
def test_message_shapes_anthropic_cannot_take_are_named(message: dict[str, Any], param: str) -> None:
    assert rejected(messages=[*HELLO, message]).param == param


def test_harmless_fields_are_dropped_and_defaults_accepted() -> None:
    body = build(
        seed=1,
        store=True,
        metadata={"k": "v"},
        prompt_cache_key="p",
        prediction={"type": "content", "content": "x"},
        n=1,
        logprobs=False,
        presence_penalty=0,
        frequency_penalty=0,
        logit_bias={},
        modalities=["text"],
        provider="claude",
        stream_options=None,
        reasoning_effort="none",
    )
    assert body == {"model": "claude-sonnet-4-20250514", "max_tokens": 4096, "messages": HELLO}


def test_sampling_stop_user_and_service_tier() -> None:
    body = build(temperature=1, top_p=0.5, stop=["a", "b"], safety_identifier="hash-1", service_tier="default")
    assert (body["temperature"], body["top_p"], body["stop_sequences"]) == (1, 0.5, ["a", "b"])
    assert body["metadata"] == {"user_id": "hash-1"}
    assert body["service_tier"] == "standard_only"
    assert build(service_tier="auto")["service_tier"] == "auto"
    assert build(user="u", safety_identifier="s")["metadata"] == {"user_id": "u"}


def test_tool_choice_variants() -> None:
    assert build(tools=[WEATHER], tool_choice="none")["tool_choice"] == {"type": "none"}
    assert build(tools=[WEATHER], tool_choice="none", parallel_tool_calls=False)["tool_choice"] == {"type": "none"}
    assert build(tools=[WEATHER], parallel_tool_calls=False)["tool_choice"] == {
        "type": "auto",
        "disable_parallel_tool_use": True,
    }
    assert build(tools=[WEATHER], parallel_tool_calls=True).get("tool_choice") is None
    assert "tool_choice" not in build(tool_choice="none") and "tools" not in build(tool_choice="auto")
    assert build(tools=[WEATHER])["tools"] == [{"name": "get_weather", "input_schema": {"type": "object"}}]
    no_params = {"type": "function", "function": {"name": "ping", "strict": True}}
    assert build(tools=[no_params])["tools"] == [{"name": "ping", "input_schema": {"type": "object", "properties": {}}}]


def test_json_mode_with_client_tools() -> None:
    json_mode = {"type": "json_object"}
    auto = build(tools=[WEATHER], response_format=json_mode)
    assert [t["name"] for t in auto["tools"]] == ["get_weather", "json_tool_call"]
    assert auto["tool_choice"] == {"type": "any"}
    required = build(tools=[WEATHER], tool_choice="required", response_format=json_mode, parallel_tool_calls=False)
    assert [t["name"] for t in required["tools"]] == ["get_weather"]
    assert required["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert "tools" not in build(response_format={"type": "text"})


def test_thinking_budget_and_max_tokens() -> None:
    assert build(reasoning_effort="medium")["max_tokens"] == 2048 + 4096
    body = build(reasoning_effort="high", max_tokens=4097)
    assert (body["max_tokens"], body["thinking"]) == (4097, {"type": "enabled", "budget_tokens": 4096})


def test_messages_edge_cases() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "again", "name": "bob"},
        {"role": "user", "content": [{"type": "image_url", "image_url": "https://x/y.png"}]},
    ]
    assert build(messages=messages)["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "ab"},
        {"role": "user", "content": [
            {"type": "text", "text": "again"}, {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
    ]  # fmt: skip
    system = build(messages=[{"role": "developer", "content": "Be brief."}, *HELLO])
    assert system["system"] == "Be brief."
    empty_args = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]
    history = [*HELLO, {"role": "assistant", "tool_calls": empty_args}, {"role": "tool", "tool_call_id": "c1"}]
    assert build(messages=history, tools=[WEATHER])["messages"][1:] == [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1"}]},
    ]


def test_headers_version_override_and_passthrough_without_key() -> None:
    target = Target(
        provider="claude",
        base_url="https://gw.example/anthropic",
        model="m",
        headers={"Anthropic-Version": "2023-01-01", "anthropic-beta": "token-efficient-tools-2025-02-19"},
    )
    built = AnthropicChat().build_request(ChatRequest.parse(orjson.dumps({"model": "c", "messages": HELLO})), target)
    assert built.url == "https://gw.example/anthropic/v1/messages"
    assert dict(built.headers) == {
        "content-type": "application/json",
        "anthropic-version": "2023-01-01",
        "anthropic-beta": "token-efficient-tools-2025-02-19",
    }
