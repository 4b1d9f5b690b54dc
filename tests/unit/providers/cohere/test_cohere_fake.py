"""The fake Cohere rejects what api.cohere.com rejects: the checks the integration tests lean on."""

from __future__ import annotations

from typing import Any

import pytest
from tests.fakes.cohere import CHAT_MODELS, EMBED_DIMENSIONS, SIZED_EMBED_MODELS, VISION_MODELS
from tests.fakes.cohere_validate import check_auth, validate_chat, validate_embed
from tests.fakes.cohere_wire import plan_answer

USER = {"role": "user", "content": "hi"}
TOOL: dict[str, Any] = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def chat_error(**fields: Any) -> str | None:
    body = {"model": "command-a-03-2025", "messages": [USER], **fields}
    error = validate_chat(body, CHAT_MODELS, VISION_MODELS)
    return None if error is None else f"{error.status} {error.message}"


def test_a_valid_request_passes() -> None:
    assert chat_error(stream=True, p=0.5, k=10, tools=[TOOL], tool_choice="REQUIRED", strict_tools=True) is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"top_p": 0.5}, "400 unknown field: parameter top_p is not a valid field"),
        ({"model": "command-x"}, "404 model 'command-x' not found"),
        ({"messages": []}, "400 invalid request: messages must contain"),
        ({"messages": [{"role": "developer", "content": "x"}]}, "400 invalid request: messages[0].role"),
        (
            {"messages": [{"role": "user", "content": "x", "name": "a"}]},
            "400 unknown field: parameter messages[0].name",
        ),
        (
            {"messages": [{"role": "tool", "tool_call_id": "c1", "content": "x"}]},
            "400 invalid request: messages[0].tool_call_id",
        ),
        ({"messages": [USER, {"role": "assistant", "tool_calls": [CALL]}, USER]}, "400 invalid request: tool call ids"),
        (
            {"messages": [{"role": "assistant", "content": ""}]},
            "400 invalid request: messages[0].content must not be empty",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
                ]
            },
            "400 invalid request: image content is not supported",
        ),
        ({"tools": [{"type": "function", "function": {**TOOL["function"], "strict": True}}]}, "400 unknown field"),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            "400 invalid request: tools[0].function.parameters",
        ),
        ({"tool_choice": "REQUIRED"}, "400 invalid request: tool_choice"),
        ({"tools": [TOOL], "response_format": {"type": "json_object"}}, "400 invalid request: response_format is not"),
        ({"p": 1.0}, "400 invalid request: p must be between 0.01 and 0.99"),
        ({"max_tokens": 1.5}, "400 invalid request: max_tokens"),
        ({"stop_sequences": ["a"] * 6}, "400 invalid request: stop_sequences"),
    ],
)
def test_chat_rejections(fields: dict[str, Any], expected: str) -> None:
    error = chat_error(**fields)
    assert error is not None and error.startswith(expected)


def test_vision_model_checks_the_data_url() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}
    error = validate_chat(
        {"model": "command-a-vision-07-2025", "messages": [{"role": "user", "content": [image]}]},
        CHAT_MODELS,
        VISION_MODELS,
    )
    assert error is not None and "base64 data URI" in error.message


def test_auth() -> None:
    assert check_auth({}, "k") is not None
    assert check_auth({"authorization": "Bearer nope"}, "k") is not None
    assert check_auth({"authorization": "bearer k"}, "k") is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"input_type": None}, "valid input_type must be provided"),
        ({"texts": ["x"] * 97}, "at most 96"),
        ({"model": "embed-english-v3.0", "output_dimension": 256}, "only supported for embed-v4.0"),
        ({"output_dimension": 100}, "must be one of"),
        ({"embedding_types": ["float16"]}, "embedding_types"),
        ({"encoding_format": "float"}, "unknown field"),
    ],
)
def test_embed_rejections(fields: dict[str, Any], expected: str) -> None:
    body = {"model": "embed-v4.0", "texts": ["x"], "input_type": "search_document", **fields}
    error = validate_embed(
        {k: v for k, v in body.items() if v is not None}, frozenset(EMBED_DIMENSIONS), SIZED_EMBED_MODELS
    )
    assert error is not None and expected in error.message


def test_answers_follow_the_request() -> None:
    assert plan_answer({"messages": [USER], "stop_sequences": [" fake"]}).pieces == ("Hello", " from")
    calls = plan_answer({"messages": [{"role": "user", "content": "call f"}], "tools": [TOOL]}).calls
    assert [c.name for c in calls] == ["f"]
