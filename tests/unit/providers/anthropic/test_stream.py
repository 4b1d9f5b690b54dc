"""The Anthropic stream translator and error mapping beyond the recorded cases."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from llmrelay.errors import UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.anthropic import AnthropicChat
from llmrelay.providers.anthropic.errors import map_error, stream_error
from llmrelay.providers.anthropic.stream import AnthropicStream
from llmrelay.providers.base import Target
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest
from llmrelay.schemas.sse import SSEEvent

TARGET = Target(provider="claude", base_url="http://127.0.0.1:9", model="claude-sonnet-4-20250514")
REQ = ChatRequest.parse(b'{"model":"c","messages":[{"role":"user","content":"hi"}],"stream":true}', request_id="r1")
START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": None, "output_tokens": 1},
    },
}


def event(payload: dict[str, Any], name: str | None = None) -> SSEEvent:
    return SSEEvent(data=json.dumps(payload), event=name or payload.get("type"))


def feed(translator: AnthropicStream, *payloads: dict[str, Any]) -> list[ChatCompletionChunk]:
    return [chunk for payload in payloads for chunk in translator.feed(event(payload))]


def deltas(chunks: list[ChatCompletionChunk]) -> list[dict[str, Any]]:
    return [chunk["choices"][0]["delta"] for chunk in chunks]


def test_chunks_carry_the_message_id_model_and_created() -> None:
    chunks = feed(AnthropicStream(REQ, json_mode=False), START)
    assert (chunks[0]["id"], chunks[0]["model"], chunks[0]["created"]) == ("msg_1", "claude-x", 0)
    assert chunks[0]["choices"][0]["finish_reason"] is None and chunks[0]["choices"][0]["logprobs"] is None


def test_usage_prefers_the_cumulative_message_delta_counts() -> None:
    translator = AnthropicStream(REQ, json_mode=False)
    assert translator.usage is None
    end = {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 9}}
    chunks = feed(translator, START, end)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert translator.usage == {
        "prompt_tokens": 10,
        "completion_tokens": 9,
        "total_tokens": 19,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    later = {**end, "usage": {"input_tokens": 12, "cache_read_input_tokens": 5, "output_tokens": 11}}
    feed(translator, later)
    assert translator.usage is not None and translator.usage["prompt_tokens"] == 17


def test_redacted_thinking_and_unknown_events_and_blocks() -> None:
    translator = AnthropicStream(REQ, json_mode=False)
    chunks = feed(
        translator,
        START,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "redacted_thinking", "data": "xyz"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "server_tool_use", "id": "s", "name": "w"},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "Hi"}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "citations_delta", "citation": {}}},
        {"type": "brand_new_event"},
        {"type": "ping"},
    )
    assert deltas(chunks)[1:] == [
        {"thinking_blocks": [{"type": "redacted_thinking", "data": "xyz"}]},
        {"content": "Hi"},
    ]


def test_empty_and_keep_alive_events_send_nothing() -> None:
    translator = AnthropicStream(REQ, json_mode=False)
    assert translator.feed(SSEEvent(data="")) == []
    assert translator.feed(SSEEvent(data="{}", event="ping")) == []


@pytest.mark.parametrize(
    "data",
    ["not json", "[1]", json.dumps({"type": "content_block_start", "index": 0}), json.dumps({"type": "message_start"})],
)
def test_malformed_events_are_protocol_errors(data: str) -> None:
    with pytest.raises(UpstreamProtocolError):
        AnthropicStream(REQ, json_mode=False).feed(SSEEvent(data=data))


def test_a_stream_without_message_stop_fails_on_close() -> None:
    translator = AnthropicStream(REQ, json_mode=False)
    feed(translator, START)
    with pytest.raises(UpstreamProtocolError):
        translator.close()
    feed(translator, {"type": "message_stop"})
    assert translator.close() == []


@pytest.mark.parametrize(
    ("kind", "status"),
    [("overloaded_error", 529), ("api_error", 500), ("rate_limit_error", 429), ("invalid_request_error", 400),
     ("timeout_error", 504), ("something_new", 500)],
)  # fmt: skip
def test_error_events_get_the_status_of_their_type(kind: str, status: int) -> None:
    translator = AnthropicStream(REQ, json_mode=False)
    with pytest.raises(UpstreamStatusError) as caught:
        feed(translator, START, {"type": "error", "error": {"type": kind, "message": "boom"}})
    assert caught.value.status_code == status
    assert caught.value.to_body()["error"]["code"] == kind and caught.value.message == "boom"


def test_error_event_without_an_error_object() -> None:
    error = stream_error({"type": "error"})
    assert (error.status_code, error.code) == (500, None)


def test_error_bodies_that_are_not_anthropic_json() -> None:
    assert map_error(502, {}, b"").message == "The upstream answered HTTP 502."
    odd = map_error(400, {"Retry-After": "1", "request-id": "req_1"}, b'{"error": {"type": "invalid_request_error"}}')
    assert odd.message == "The upstream answered HTTP 400." and dict(odd.headers) == {"Retry-After": "1"}
    assert map_error(400, {}, b'{"error": {"message": "unknown_field: Extra inputs are not permitted"}}').param is None
    assert map_error(400, {}, b'{"error": "flat"}').message.startswith("The upstream answered HTTP 400")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>", "not JSON"),
        (b'{"type": "error"}', "not an Anthropic message"),
        (b'{"type": "message", "content": [{"type": "text"}]}', "malformed"),
    ],
)
def test_replies_that_are_not_messages_are_protocol_errors(body: bytes, problem: str) -> None:
    with pytest.raises(UpstreamProtocolError, match=problem):
        AnthropicChat().parse_response(body, REQ, TARGET)


def test_reply_with_no_text_and_no_tools_has_empty_content() -> None:
    reply: dict[str, Any] = {
        "id": "msg_2",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": "brand_new_reason",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 0},
    }
    completion = AnthropicChat().parse_response(orjson.dumps(reply), REQ, TARGET)
    assert completion["choices"][0]["message"]["content"] == ""
    assert completion["choices"][0]["finish_reason"] == "stop"
