"""Messages inbound, the pure parts case by case: what a bad request gets (a 400 naming the field, never a
crash), the tool_choice table, the stream translator's edges, the error envelope, the passthrough adapter."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from llmrelay.dialects.anthropic_errors import error_body, error_event
from llmrelay.dialects.anthropic_messages import to_message
from llmrelay.dialects.anthropic_request import check_request, to_chat, translatable_part
from llmrelay.dialects.anthropic_stream import MessagesStream
from llmrelay.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    RateLimitError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from llmrelay.providers.anthropic.inbound import AnthropicMessages, StreamUsage, message_usage
from llmrelay.providers.base import Target
from llmrelay.schemas.sse import SSEEvent
from llmrelay.transport.sse import SSEDecoder

HI = [{"role": "user", "content": "Hi"}]
WEATHER = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def _use(call_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": "Oslo"}}


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 16, "messages": HI, **fields}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "messages": HI}, "max_tokens: Field required"),
        (_body(max_tokens=0), "max_tokens: Input should be an integer greater than or equal to 1"),
        (_body(max_tokens=True), "max_tokens: Input should be an integer greater than or equal to 1"),
        ({"max_tokens": 5, "messages": HI}, "model: Field required"),
        (_body(messages=[]), "messages: at least one message is required"),
        (
            _body(messages=[{"role": "system", "content": "x"}]),
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
        (_body(messages=[{"role": "user", "content": 3}]), "messages.0.content: Input should be a valid string"),
        (_body(messages=[{"role": "user", "content": [{"text": "x"}]}]), "messages.0.content.0: each block needs"),
        (_body(stream="yes"), "stream: Input should be a valid boolean"),
    ],
)
def test_bad_requests_are_400_naming_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_request(body)
    assert caught.value.status_code == 400 and caught.value.message.startswith(message)


def test_count_requests_need_no_max_tokens() -> None:
    body = {"model": "m", "messages": HI, "system": "Be terse."}
    check_request(body, count=True)
    assert to_chat(body, count=True) == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_body(container="c"), "container: Extra inputs are not permitted"),
        (_body(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools.0: the server tool"),
        (_body(messages=[{"role": "user", "content": [{"type": "search_result", "x": 1}]}]), "messages.0.content.0:"),
        (
            _body(
                messages=[{"role": "user", "content": [{"type": "document", "source": {"type": "url", "url": "u"}}]}]
            ),
            "messages.0.content.0.source: documents must be",
        ),
        (
            _body(tools=[WEATHER], messages=[*HI, {"role": "assistant", "content": [_use("a")]}]),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: a",
        ),
        (
            _body(tools=[WEATHER], messages=[*HI, {"role": "assistant", "content": [_use("a")]}, *HI]),
            "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: a",
        ),
        (
            _body(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "zz"}]}]),
            "messages.0.content: unexpected `tool_use_id` found in `tool_result` blocks: zz",
        ),
        (_body(tools=[WEATHER], tool_choice={"type": "tool", "name": "nope"}), "Tool 'nope' not found"),
        (_body(tool_choice={"type": "sometimes"}), "tool_choice: Input tag does not match"),
        (_body(stop_sequences="END"), "stop_sequences: Input should be a valid list"),
        (_body(system=[{"type": "image"}]), "system.0: Input should be a text block"),
        (_body(output_config={"format": {"type": "xml"}}), "output_config.format: Input should be"),
    ],
)
def test_what_chat_cannot_carry_is_a_400(body: dict[str, Any], message: str) -> None:
    check_request(body)
    with pytest.raises(InvalidRequestError) as caught:
        to_chat(body)
    assert caught.value.status_code == 400 and caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "get_weather"},
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        ),
        ({"type": "auto", "disable_parallel_tool_use": True}, {"tool_choice": "auto", "parallel_tool_calls": False}),
        ({"type": "any", "disable_parallel_tool_use": True}, {"tool_choice": "required", "parallel_tool_calls": False}),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: dict[str, Any]) -> None:
    chat = to_chat(_body(tools=[WEATHER], tool_choice=choice))
    assert {k: chat[k] for k in ("tool_choice", "parallel_tool_calls") if k in chat} == expected


def test_tool_choice_without_tools_is_left_out() -> None:
    assert "tool_choice" not in to_chat(_body(tool_choice={"type": "auto"}))


def test_output_format_becomes_a_json_schema_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    chat = to_chat(_body(output_config={"format": {"type": "json_schema", "schema": schema}, "effort": "low"}))
    assert chat["response_format"] == {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    assert "reasoning_effort" not in chat


def test_dropped_fields_do_not_reach_chat() -> None:
    body = _body(thinking={"type": "adaptive"}, service_tier="auto", speed="fast", cache_control={"type": "ephemeral"})
    assert set(to_chat(body)) == {"model", "messages", "max_completion_tokens"}


def test_translatable_part_keeps_what_can_be_counted() -> None:
    server_tool = {"type": "web_search_20250305", "name": "web_search"}
    turn = {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "search_result", "source": "s"}]}
    body = _body(tools=[WEATHER, server_tool], messages=[turn], mcp_servers=[{"url": "x"}])
    part = translatable_part(body)
    assert "mcp_servers" not in part and part["tools"] == [WEATHER]
    assert to_chat(part)["messages"] == [{"role": "user", "content": "Hi"}]


def _frames(stream: MessagesStream, *chunks: dict[str, Any], usage: dict[str, Any] | None = None) -> list[Any]:
    out = [frame for chunk in chunks for frame in stream.feed(chunk)] + stream.close(usage)
    decoder = SSEDecoder()
    return [json.loads(event.data) for event in [*decoder.feed(b"".join(out)), *decoder.close()]]


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-x", "model": "up", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _call(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return _chunk({"tool_calls": [call]})


def test_interleaved_tool_arguments_keep_their_block_index() -> None:
    events = _frames(
        MessagesStream(input_tokens=3, stop_sequences=[]),
        _call(0, '{"a":', "call_0", "f"),
        _call(1, '{"b":', "call_1", "g"),
        _call(0, "1}"),
        _call(1, "2}"),
        _chunk({}, "tool_calls"),
    )
    deltas = [(e["index"], e["delta"]["partial_json"]) for e in events if e["type"] == "content_block_delta"]
    assert deltas == [(0, '{"a":'), (1, '{"b":'), (0, "1}"), (1, "2}")]
    assert [e["type"] for e in events if e["type"].startswith("content_block_st")] == [
        "content_block_start",
        "content_block_stop",
        "content_block_start",
        "content_block_stop",
    ]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_a_stream_without_usage_chunks_uses_the_relays_count() -> None:
    events = _frames(MessagesStream(input_tokens=3, stop_sequences=[]), _chunk({"content": "Hi"}, "stop"), usage=None)
    assert events[-2]["usage"] == {
        "input_tokens": 3,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 0,
    }
    usage = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    events = _frames(MessagesStream(input_tokens=3, stop_sequences=[]), _chunk({"content": "Hi"}, "stop"), usage=usage)
    assert (events[-2]["usage"]["input_tokens"], events[-2]["usage"]["output_tokens"]) == (7, 2)


def test_an_empty_stream_still_frames_a_message() -> None:
    events = _frames(MessagesStream(input_tokens=3, stop_sequences=[], model="m"))
    assert [e["type"] for e in events] == ["message_start", "message_delta", "message_stop"]
    assert events[0]["message"]["model"] == "m" and events[1]["delta"]["stop_reason"] == "end_turn"


def test_a_refusal_is_text_with_stop_reason_refusal() -> None:
    events = _frames(MessagesStream(input_tokens=3, stop_sequences=[]), _chunk({"refusal": "No."}, "stop"))
    assert events[3]["delta"] == {"type": "text_delta", "text": "No."}
    assert events[-2]["delta"]["stop_reason"] == "refusal"
    completion = {
        "id": "c",
        "model": "m",
        "choices": [{"message": {"content": None, "refusal": "No."}, "finish_reason": "stop"}],
    }
    message = to_message(completion, stop_sequences=[])
    assert message["content"] == [{"type": "text", "text": "No."}] and message["stop_reason"] == "refusal"


def test_tool_arguments_that_are_not_an_object_become_empty_input() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "not json"}}
    completion = {
        "id": "c",
        "model": "m",
        "choices": [{"message": {"content": None, "tool_calls": [call]}, "finish_reason": "tool_calls"}],
    }
    assert to_message(completion, stop_sequences=[])["content"] == [
        {"type": "tool_use", "id": "c1", "name": "f", "input": {}}
    ]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (InvalidRequestError("bad"), "invalid_request_error"),
        (ModelNotFoundError("no model"), "not_found_error"),
        (RateLimitError("slow down"), "rate_limit_error"),
        (UpstreamStatusError(529, "Overloaded", code="overloaded_error"), "overloaded_error"),
        (UpstreamStatusError(500, "boom", code="server_error"), "api_error"),
        (UpstreamStatusError(429, "slow", code="rate_limit_exceeded"), "rate_limit_error"),
        (UpstreamTimeoutError("late"), "timeout_error"),
    ],
)
def test_error_envelope(error: Any, kind: str) -> None:
    assert error_body(error, "req_1") == {
        "type": "error",
        "error": {"type": kind, "message": error.message},
        "request_id": "req_1",
    }


def test_error_event_from_an_openai_error_frame() -> None:
    frame = error_event({"message": "Too many", "type": "rate_limit_exceeded", "code": "rate_limit_exceeded"})
    assert frame == b'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"Too many"}}\n\n'


TARGET = Target(provider="claude", base_url="https://api.anthropic.com", model="claude-up", api_key="sk-ant")


def test_passthrough_request_changes_only_the_model() -> None:
    body = {"model": "claude", "max_tokens": 5, "messages": HI, "provider": "claude", "future_field": {"x": 1}}
    forwarded = {"anthropic-version": "2026-10-21", "anthropic-beta": "b1"}
    request = AnthropicMessages().build_request(body, TARGET, forwarded)
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert orjson.loads(request.body) == {
        "model": "claude-up",
        "max_tokens": 5,
        "messages": HI,
        "future_field": {"x": 1},
    }
    assert request.headers["x-api-key"] == "sk-ant"
    assert (request.headers["anthropic-version"], request.headers["anthropic-beta"]) == ("2026-10-21", "b1")
    configured = Target("claude", "http://h", "m", "k", headers={"Anthropic-Beta": "ops"})
    counted = AnthropicMessages().build_request(body, configured, forwarded, count=True)
    assert counted.url == "http://h/v1/messages/count_tokens"
    assert (counted.headers["anthropic-beta"], counted.headers["anthropic-version"]) == ("ops", "2026-10-21")


def test_passthrough_usage_from_a_reply_and_from_stream_events() -> None:
    reply = {"usage": {"input_tokens": 10, "cache_read_input_tokens": 4, "output_tokens": 3}}
    assert message_usage(orjson.dumps(reply)) == {
        "prompt_tokens": 14,
        "completion_tokens": 3,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    usage = StreamUsage()
    start = {"type": "message_start", "message": {"usage": {"input_tokens": 10, "output_tokens": 1}}}
    usage.feed(SSEEvent(json.dumps(start), "message_start"))
    usage.feed(SSEEvent(json.dumps({"type": "message_delta", "usage": {"output_tokens": 6, "input_tokens": None}})))
    assert usage.usage is not None and (usage.usage["prompt_tokens"], usage.usage["completion_tokens"]) == (10, 6)
