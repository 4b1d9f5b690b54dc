"""Cohere replies and stream events beyond the recorded cases: failures, odd events, state rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.errors import UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.base import Target
from llmrelay.providers.cohere.response import parse_chat
from llmrelay.providers.cohere.stream import CohereStream
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest
from llmrelay.schemas.sse import SSEEvent

REQ = ChatRequest.parse(b'{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}', request_id="r1")
TARGET = Target("co", "http://h", "command-a-03-2025")
START = {"id": "abc", "type": "message-start", "delta": {"message": {"role": "assistant"}}}
END = {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": {"billed_units": {"input_tokens": 2}}}}


def ev(data: dict[str, Any] | str, name: str | None = None) -> SSEEvent:
    text = data if isinstance(data, str) else json.dumps(data)
    return SSEEvent(
        data=text, event=name if name is not None else (data.get("type") if isinstance(data, dict) else None)
    )


def run(*events: dict[str, Any] | str) -> tuple[list[ChatCompletionChunk], CohereStream]:
    stream = CohereStream(REQ, TARGET.model)
    chunks = [c for e in events for c in stream.feed(ev(e))]
    return chunks + stream.close(), stream


def call_start(index: int, arguments: str = "") -> dict[str, Any]:
    call = {"id": f"c{index}", "type": "function", "function": {"name": "f", "arguments": arguments}}
    return {"type": "tool-call-start", "index": index, "delta": {"message": {"tool_calls": call}}}


def test_done_unknown_and_citation_events_yield_nothing_and_usage_falls_back_to_billed() -> None:
    chunks, stream = run(START, "[DONE]", {"type": "debug", "prompt": "…"}, {"type": "brand-new"}, END, "[DONE]")
    assert [c["choices"][0]["delta"] for c in chunks] == [{"role": "assistant", "content": ""}, {}]
    assert chunks[0]["id"] == "chatcmpl-abc"
    assert stream.usage == {"prompt_tokens": 2, "completion_tokens": 0, "total_tokens": 2}


def test_events_after_message_end_are_ignored() -> None:
    chunks, _ = run(
        START, END, {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "late"}}}}
    )
    assert len(chunks) == 2


def test_event_name_is_used_when_the_data_has_no_type() -> None:
    stream = CohereStream(REQ, TARGET.model)
    (chunk,) = stream.feed(SSEEvent(data='{"delta":{"message":{"tool_plan":"plan"}}}', event="tool-plan-delta"))
    assert chunk["choices"][0]["delta"] == {"content": "plan"}
    assert chunk["id"] == "chatcmpl-r1", "before message-start the id comes from the request"


def test_a_call_that_starts_with_its_arguments_gets_no_extra_fragment() -> None:
    chunks, _ = run(START, call_start(3, '{"a":1}'), {"type": "tool-call-end", "index": 3}, END)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[1]["tool_calls"][0]["index"] == 0
    assert deltas[1]["tool_calls"][0]["function"]["arguments"] == '{"a":1}'
    assert len(deltas) == 3


@pytest.mark.parametrize(
    ("event", "error", "status"),
    [
        ({"type": "message-end", "delta": {"finish_reason": "TIMEOUT"}}, UpstreamStatusError, 504),
        ({"type": "message-end", "delta": {"finish_reason": "ERROR"}}, UpstreamStatusError, 500),
        ({"type": "message-end", "delta": {"finish_reason": "BLOCKED"}}, UpstreamProtocolError, 502),
        ({"message": "overloaded"}, UpstreamStatusError, 500),
        ("not json", UpstreamProtocolError, 502),
        ({"type": "tool-call-delta", "index": 9, "delta": {}}, UpstreamProtocolError, 502),
        (
            {"type": "tool-call-start", "index": "0", "delta": {"message": {"tool_calls": {"function": {}}}}},
            UpstreamProtocolError,
            502,
        ),
        ({"type": "tool-call-start", "index": 0, "delta": {}}, UpstreamProtocolError, 502),
    ],
)
def test_stream_failures_raise(event: dict[str, Any] | str, error: type[Exception], status: int) -> None:
    stream = CohereStream(REQ, TARGET.model)
    stream.feed(ev(START))
    with pytest.raises(error) as caught:
        stream.feed(ev(event, name=""))
    assert getattr(caught.value, "status_code", None) == status


def test_timeout_keeps_the_timeout_type() -> None:
    stream = CohereStream(REQ, TARGET.model)
    with pytest.raises(UpstreamStatusError) as caught:
        stream.feed(ev({"type": "message-end", "delta": {"finish_reason": "TIMEOUT", "error": "took too long"}}))
    assert caught.value.to_body()["error"]["type"] == "timeout"
    assert caught.value.message == "took too long"


def test_a_stream_without_message_end_raises_at_close() -> None:
    stream = CohereStream(REQ, TARGET.model)
    stream.feed(ev(START))
    with pytest.raises(UpstreamProtocolError, match="message-end"):
        stream.close()


def reply(**fields: Any) -> bytes:
    base = {"id": "x", "message": {"role": "assistant", "content": []}, "finish_reason": "COMPLETE"}
    return json.dumps({**base, **fields}).encode()


def test_non_stream_error_finish_raises_with_the_message() -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        parse_chat(reply(finish_reason="ERROR"), REQ, TARGET)
    assert caught.value.status_code == 500


@pytest.mark.parametrize(
    "body", [b"<html>", b"[]", reply(message="text"), reply(message={"tool_calls": [{"id": "c"}]})]
)
def test_unreadable_replies_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        parse_chat(body, REQ, TARGET)


def test_empty_reply_is_empty_content_without_usage() -> None:
    completion = parse_chat(reply(), REQ, TARGET)
    assert completion["choices"][0]["message"]["content"] == ""
    assert "usage" not in completion
