"""The Gemini request translation's decisions, field by field, beyond the recorded cases."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.providers.base import Target
from llmrelay.providers.gemini import GeminiChat
from llmrelay.schemas.chat import ChatRequest

TARGET = Target(provider="g", base_url="https://g.example", model="gemini-2.5-flash", api_key="k")
HI = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def body(**fields: Any) -> dict[str, Any]:
    raw = orjson.dumps({"model": "m", "messages": HI, **fields})
    built = GeminiChat().build_request(ChatRequest.parse(raw, request_id="r"), TARGET)
    parsed: dict[str, Any] = orjson.loads(built.body)
    return parsed


def rejected(**fields: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        body(**fields)
    return caught.value


@pytest.mark.parametrize(
    "fields",
    [
        {"user": "u", "safety_identifier": "s", "metadata": {"a": "b"}, "store": True, "prompt_cache_key": "k"},
        {"stream_options": {"include_usage": True}, "stream": True},
        {"provider": "g", "service_tier": "auto", "modalities": ["text"], "parallel_tool_calls": True},
        {"logprobs": False, "logit_bias": {}, "response_format": {"type": "text"}},
    ],
)
def test_harmless_fields_are_dropped(fields: dict[str, Any]) -> None:
    assert body(**fields) == {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logit_bias": {"1": 5}}, "logit_bias"),
        ({"audio": {"voice": "alloy"}}, "audio"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"web_search_options": {"search_context_size": "low"}}, "web_search_options"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"verbosity": "low"}, "verbosity"),
        ({"service_tier": "flex"}, "service_tier"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"parallel_tool_calls": False}, "parallel_tool_calls"),
        ({"reasoning_effort": "none"}, "reasoning_effort"),
        ({"repetition_penalty": 1.1}, "repetition_penalty"),
        ({"temperature": "hot"}, "temperature"),
        ({"n": True}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": [1]}, "stop"),
        ({"response_format": {"type": "yaml"}}, "response_format"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
        ({"tools": [TOOL], "tool_choice": {"type": "allowed_tools", "allowed_tools": {}}}, "tool_choice"),
    ],
)
def test_fields_gemini_cannot_honour_are_400_naming_them(fields: dict[str, Any], param: str) -> None:
    assert rejected(**fields).param == param


def test_reasoning_effort_and_token_limits() -> None:
    config = body(reasoning_effort="low", max_tokens=10, max_completion_tokens=20, top_k=5, n=1)["generationConfig"]
    assert config == {"thinkingConfig": {"thinkingLevel": "LOW"}, "maxOutputTokens": 20, "topK": 5, "candidateCount": 1}
    assert body(max_tokens=5, max_completion_tokens=None)["generationConfig"] == {"maxOutputTokens": 5}
    penalties = body(presence_penalty=0.5, frequency_penalty=-1)["generationConfig"]
    assert penalties == {"presencePenalty": 0.5, "frequencyPenalty": -1}


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ({"type": "function", "function": {"name": "f"}}, {"mode": "ANY", "allowedFunctionNames": ["f"]}),
    ],
)
def test_tool_choice_modes(choice: object, config: dict[str, Any]) -> None:
    assert body(tools=[TOOL], tool_choice=choice)["toolConfig"] == {"functionCallingConfig": config}


def test_tool_choice_none_without_tools_is_harmless() -> None:
    assert "toolConfig" not in body(tool_choice="none")


def test_json_schema_without_a_schema_is_plain_json_mode() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x"}}
    assert body(response_format=fmt)["generationConfig"] == {"responseMimeType": "application/json"}


def messages(*msgs: dict[str, Any]) -> dict[str, Any]:
    raw = orjson.dumps({"model": "m", "messages": list(msgs)})
    parsed: dict[str, Any] = orjson.loads(GeminiChat().build_request(ChatRequest.parse(raw), TARGET).body)
    return parsed


def test_audio_and_file_parts_become_inline_data() -> None:
    content = [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
    ]
    parts = messages({"role": "user", "content": content})["contents"][0]["parts"]
    assert parts == [
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
    ]


@pytest.mark.parametrize(
    ("msgs", "param"),
    [
        ([{"role": "function", "name": "f", "content": "x"}], "messages[0].role"),
        ([{"role": "tool", "tool_call_id": "nope", "content": "x"}], "messages[0].tool_call_id"),
        ([{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}], "messages[0].content[0]"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.example/img"}}]}],
            "messages[0].content[0].image_url.url",
        ),
        ([{"role": "user", "content": [{"type": "video", "video": {}}]}], "messages[0].content[0]"),
        ([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], "messages[0].content"),
        (
            [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}],
                },
            ],
            "messages[1].tool_calls[0].function.arguments",
        ),
    ],
)
def test_messages_gemini_cannot_take_are_400_naming_them(msgs: list[dict[str, Any]], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        messages(*msgs)
    assert caught.value.param == param


def test_empty_arguments_and_plain_text_results() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
    out = messages(
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "not json"},
    )
    assert out["contents"][1] == {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}
    assert out["contents"][2]["parts"] == [{"functionResponse": {"name": "f", "response": {"output": "not json"}}}]


def test_empty_assistant_turn_keeps_its_place() -> None:
    out = messages(
        {"role": "user", "content": "a"}, {"role": "assistant", "content": None}, {"role": "user", "content": "b"}
    )
    assert [c["role"] for c in out["contents"]] == ["user", "model", "user"]


def test_urls_headers_and_model_names() -> None:
    raw = orjson.dumps({"model": "m", "messages": HI, "stream": True})
    tuned = Target(provider="g", base_url="https://g.example", model="tunedModels/mine-1", headers={"x-team": "ml"})
    built = GeminiChat().build_request(ChatRequest.parse(raw), tuned)
    assert built.url == "https://g.example/v1beta/tunedModels/mine-1:streamGenerateContent?alt=sse"
    assert built.headers == {"content-type": "application/json", "x-team": "ml"}
    prefixed = Target(provider="g", base_url="https://g.example", model="models/gemini-2.5-flash")
    assert (
        GeminiChat()
        .build_request(ChatRequest.parse(raw), prefixed)
        .url.endswith("/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    )


def test_unsupported_parameter_error_is_the_400_subclass() -> None:
    assert isinstance(rejected(logprobs=True), UnsupportedParameterError)
