"""BITO request translation beyond the recorded cases: every rejection names its parameter, nothing is
dropped silently, and the token goes out raw."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.errors import (
    AuthenticationError,
    InvalidRequestError,
    ModelNotFoundError,
    UnsupportedParameterError,
)
from llmrelay.providers.base import Target
from llmrelay.providers.bito import BitoChat
from llmrelay.providers.bito.request import bito_body, prompt_and_context
from llmrelay.schemas.chat import ChatMessage, ChatRequest

TARGET = Target(provider="b", base_url="http://127.0.0.1:9", model="Claude Sonnet 3.7", api_key="tok")
HELLO = [{"role": "user", "content": "hi"}]


def request(**fields: Any) -> ChatRequest:
    return ChatRequest.parse(orjson.dumps({"model": "m", "messages": HELLO, **fields}), request_id="r1")


def body(**fields: Any) -> dict[str, Any]:
    return bito_body(request(**fields), TARGET)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tools", [{"type": "function", "function": {"name": "f"}}]),
        ("functions", [{"name": "f"}]),
        ("tool_choice", "auto"),
        ("tool_choice", {"type": "function", "function": {"name": "f"}}),
        ("function_call", "auto"),
        ("response_format", {"type": "json_object"}),
        ("response_format", {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}),
        ("n", 2),
        ("stop", "END"),
        ("stop", ["a", "b"]),
        ("seed", 1),
        ("logprobs", True),
        ("top_logprobs", 2),
        ("presence_penalty", 0.5),
        ("frequency_penalty", -1),
        ("logit_bias", {"50256": -100}),
        ("reasoning_effort", "low"),
        ("modalities", ["text", "audio"]),
        ("audio", {"voice": "alloy", "format": "wav"}),
        ("prediction", {"type": "content", "content": "x"}),
        ("web_search_options", {}),
        ("verbosity", "low"),
        ("top_k", 40),
    ],
)
def test_parameters_bito_cannot_honour_are_400_naming_them(field: str, value: object) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        body(**{field: value})
    assert caught.value.param == field
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 1),
        ("tools", []),
        ("tool_choice", "none"),
        ("response_format", {"type": "text"}),
        ("stop", None),
        ("seed", None),
        ("logprobs", False),
        ("presence_penalty", 0),
        ("frequency_penalty", 0.0),
        ("logit_bias", {}),
        ("modalities", ["text"]),
        ("stream_options", {"include_usage": True}),
        ("user", "u-1"),
        ("parallel_tool_calls", False),
        ("metadata", {"k": "v"}),
        ("store", True),
        ("service_tier", "auto"),
        ("prompt_cache_key", "k"),
        ("safety_identifier", "s"),
        ("provider", "b"),
    ],
)
def test_values_that_ask_for_nothing_are_accepted(field: str, value: object) -> None:
    assert body(**{field: value})["prompt"] == "hi"


def test_llm_config_defaults_and_translation() -> None:
    assert body()["customllmconfig"] == {"temperature": 0.7, "top_p": None}
    config = body(temperature=0, top_p=1, max_tokens=10, max_completion_tokens=20)["customllmconfig"]
    assert config == {"temperature": 0, "max_tokens": 20, "top_p": 1}
    assert body(max_tokens=5)["customllmconfig"]["max_tokens"] == 5


@pytest.mark.parametrize(
    ("field", "value"), [("temperature", "hot"), ("top_p", True), ("max_tokens", 1.5), ("max_completion_tokens", "9")]
)
def test_wrong_types_are_400(field: str, value: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        body(**{field: value})
    assert (caught.value.param, caught.value.code) == (field, "invalid_type")


def messages(*pairs: tuple[str, Any]) -> list[ChatMessage]:
    return [{"role": role, "content": content} for role, content in pairs]


def test_prompt_is_system_blank_line_last_user_message() -> None:
    prompt, context = prompt_and_context(messages(("system", "A"), ("user", "q"), ("system", "B")))
    assert (prompt, context) == ("A\nB\n\nq", [])


def test_system_only_is_the_prompt_and_empty_is_400() -> None:
    assert prompt_and_context(messages(("system", "Summarise BITO."))) == ("Summarise BITO.", [])
    with pytest.raises(InvalidRequestError) as caught:
        prompt_and_context(messages(("system", "")))
    assert caught.value.param == "messages"


def test_bito2ai_trims_a_prompt_with_system_text() -> None:
    assert prompt_and_context(messages(("system", "  S"), ("user", "q \n")))[0] == "S\n\nq"
    assert (
        prompt_and_context(
            messages(
                ("user", " q "),
            )
        )[0]
        == " q "
    )


def test_last_assistant_message_is_rejected() -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        prompt_and_context(messages(("user", "q"), ("assistant", "The answer is")))
    assert caught.value.param == "messages[1]"


@pytest.mark.parametrize(
    ("msg", "param"),
    [
        ({"role": "tool", "tool_call_id": "c", "content": "x"}, "messages[1].role"),
        ({"role": "function", "name": "f", "content": "x"}, "messages[1].role"),
        ({"role": "critic", "content": "x"}, "messages[1].role"),
        ({"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}, "messages[1].tool_calls"),
        ({"role": "assistant", "content": None, "function_call": {"name": "f"}}, "messages[1].function_call"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, None),
        ({"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}, None),
        ({"role": "system", "content": [{"type": "file", "file": {}}]}, None),
    ],
)
def test_tool_messages_and_non_text_parts_are_400(msg: ChatMessage, param: str | None) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        prompt_and_context([{"role": "user", "content": "q"}, msg, {"role": "user", "content": "q2"}])
    assert caught.value.param == (param or "messages[1].content")


def test_name_and_refusal_are_dropped() -> None:
    msgs: list[ChatMessage] = [
        {"role": "user", "content": "q", "name": "ann"},
        {"role": "assistant", "content": "a", "refusal": None},
        {"role": "user", "content": "q2"},
    ]
    assert prompt_and_context(msgs) == ("q2", [{"question": "q", "answer": "a"}])


def test_model_ids() -> None:
    assert bito_body(request(), TARGET)["modelId"] == 42
    assert bito_body(request(), Target("b", "http://x", "o3-mini High", "t"))["modelId"] == 38
    assert bito_body(request(), Target("b", "http://x", "17", "t"))["modelId"] == 17
    for unknown in ("claude sonnet 3.7", "²", "-1", "GPT-9"):
        with pytest.raises(ModelNotFoundError) as caught:
            bito_body(request(), Target("b", "http://x", unknown, "t"))
        assert caught.value.param == "model"


def test_headers_carry_the_raw_token_and_extra_headers() -> None:
    target = Target("b", "http://127.0.0.1:9", "Claude Sonnet 3.7", "raw-token", {"X-ClientInfo": "x#CLI"})
    built = BitoChat().build_request(request(stream=True), target)
    assert built.url == "http://127.0.0.1:9/ai/v2/chat/"
    assert dict(built.headers) == {
        "content-type": "application/json",
        "X-ClientInfo": "x#CLI",
        "authorization": "raw-token",
    }
    assert orjson.loads(built.body)["Stream"] is True


def test_no_token_is_401_before_any_io() -> None:
    with pytest.raises(AuthenticationError) as caught:
        BitoChat().build_request(request(), Target("b", "http://x", "Claude Sonnet 3.7"))
    assert caught.value.code == "missing_api_key"


def test_same_request_same_bytes() -> None:
    assert BitoChat().build_request(request(), TARGET).body == BitoChat().build_request(request(), TARGET).body
