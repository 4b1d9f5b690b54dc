"""Workers AI replies, streams and errors beyond the recorded cases."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.base import Target
from llmrelay.providers.workers_ai import WorkersAIChat, WorkersAIEmbeddings
from llmrelay.providers.workers_ai.stream import WorkersAIStream
from llmrelay.schemas.chat import ChatRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest
from llmrelay.schemas.sse import SSEEvent

TARGET = Target("cf", "https://api.cloudflare.com/client/v4", "@cf/m/x", "tok", options={"account_id": "a"})
MODEL = "@cf/m/x"


def req(**body: Any) -> ChatRequest:
    raw = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True, **body})
    return ChatRequest.parse(raw, created=1, request_id="r1")


def run(events: list[Any], **body: Any) -> tuple[list[dict[str, Any]], WorkersAIStream]:
    stream = WorkersAIStream(req(**body), MODEL)
    chunks: list[dict[str, Any]] = []
    for event in events:
        data = event if isinstance(event, str) else orjson.dumps(event).decode()
        chunks += [dict(c) for c in stream.feed(SSEEvent(data))]
    chunks += [dict(c) for c in stream.close()]
    return chunks, stream


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks]


def test_no_events_at_all_points_to_the_v1_endpoint() -> None:
    with pytest.raises(UpstreamProtocolError, match="v1/"):
        run([])


def test_done_alone_is_an_empty_answer() -> None:
    chunks, _ = run(["[DONE]"])
    assert deltas(chunks) == [{"role": "assistant", "content": ""}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_whole_tool_calls_in_a_stream_get_indexes_and_ids() -> None:
    events: list[Any] = [
        {"tool_calls": [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": "{}"}]},
        {"tool_calls": [{"arguments": ', "more": 2'}]},
        "[DONE]",
    ]
    chunks, _ = run(events)
    calls = deltas(chunks)[0]["tool_calls"]
    assert calls == [
        {"index": 0, "id": "call_r1_0", "type": "function", "function": {"name": "a", "arguments": '{"x":1}'}},
        {"index": 1, "id": "call_r1_1", "type": "function", "function": {"name": "b", "arguments": "{}"}},
    ]
    assert deltas(chunks)[1] == {"tool_calls": [{"index": 1, "function": {"arguments": ', "more": 2'}}]}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_upstream_indexes_are_renumbered_from_zero() -> None:
    events: list[Any] = [{"tool_calls": [{"index": 5, "id": "t", "function": {"name": "a", "arguments": "{"}}]}]
    events += [{"tool_calls": [{"index": 5, "function": {"arguments": "}"}}]}, "[DONE]"]
    chunks, _ = run(events)
    assert [d["tool_calls"][0]["index"] for d in deltas(chunks)[:2]] == [0, 0]


def test_top_level_finish_reason_is_used_and_usage_is_the_last_not_a_sum() -> None:
    events = [
        {"response": "a", "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
        {"response": "b", "usage": {"prompt_tokens": 3, "completion_tokens": 2}, "finish_reason": "length"},
    ]
    chunks, stream = run(events)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert stream.usage == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def test_reaching_the_clients_limit_is_length() -> None:
    chunks, _ = run(
        [{"response": "a b"}, {"response": "", "usage": {"prompt_tokens": 1, "completion_tokens": 2}}, "[DONE]"],
        max_tokens=2,
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        ({"error": {"message": "AiError: capacity", "code": 3040}}, 429, "3040"),
        ({"error": "boom"}, 500, None),
        ({"errors": [{"code": 5007, "message": "No such model"}], "success": False}, 400, "5007"),
        ({"errors": {"code": 9999, "message": "odd"}}, 500, "9999"),
    ],
)
def test_in_stream_errors_are_raised_with_a_status(event: dict[str, Any], status: int, code: str | None) -> None:
    with pytest.raises(UpstreamError) as caught:
        run([{"response": "x"}, event])
    assert caught.value.status_code == status
    assert caught.value.code == code


@pytest.mark.parametrize("data", ["not json", "[1, 2]"])
def test_unreadable_events_are_protocol_errors(data: str) -> None:
    with pytest.raises(UpstreamProtocolError):
        run([data])


def parse(body: object, **extra: Any) -> dict[str, Any]:
    request = ChatRequest.parse(
        orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}), request_id="r1"
    )
    return dict(WorkersAIChat().parse_response(orjson.dumps(body), request, TARGET))


def test_a_200_envelope_with_success_false_is_the_error_it_names() -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        parse(
            {"result": None, "success": False, "errors": [{"code": 3040, "message": "Out of capacity"}], "messages": []}
        )
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (429, "3040", "Out of capacity")


@pytest.mark.parametrize(
    "body",
    [
        {"result": "text", "success": True, "errors": []},
        {"result": {"shape": [1, 2]}, "success": True, "errors": []},
        {"result": {"response": "x", "tool_calls": [{"arguments": {}}]}, "success": True, "errors": []},
        [1],
    ],
)
def test_unreadable_replies_are_protocol_errors(body: object) -> None:
    with pytest.raises(UpstreamProtocolError):
        parse(body)


def test_a_bare_result_and_a_numeric_response_are_read() -> None:
    reply = parse({"response": 42, "usage": {"prompt_tokens": 2.0, "completion_tokens": 1.0, "total_tokens": 3.0}})
    assert reply["choices"][0]["message"]["content"] == "42"
    assert reply["usage"] == {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}


def test_map_error_keeps_every_message_and_the_retry_headers() -> None:
    body = orjson.dumps(
        {"success": False, "errors": [{"code": "7003", "message": "a"}, {"code": 7000, "message": "b"}]}
    )
    error = WorkersAIChat().map_error(404, {"Retry-After": "1", "cf-ray": "x"}, body)
    assert (error.status_code, error.message, error.code, dict(error.headers)) == (
        404,
        "a; b",
        "7003",
        {"Retry-After": "1"},
    )


def test_embeddings_count_mismatch_is_a_protocol_error() -> None:
    request = EmbeddingsRequest.parse(b'{"model": "m", "input": ["a", "b"]}')
    body = orjson.dumps({"result": {"shape": [1, 2], "data": [[0.1, 0.2]]}, "success": True, "errors": []})
    with pytest.raises(UpstreamProtocolError):
        WorkersAIEmbeddings().parse_response(body, request, TARGET)


def test_several_choices_keep_their_own_role_and_finish() -> None:
    def one(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": f"x{index}", "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}

    events = [one(0, {"content": "a"}), one(1, {"content": "b"}), one(0, {}, "stop"), one(1, {}, "length"), "[DONE]"]
    chunks, _ = run(events)
    seen = [(c["choices"][0]["index"], c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks]
    assert seen == [
        (0, {"role": "assistant", "content": "a"}, None),
        (1, {"role": "assistant", "content": "b"}, None),
        (0, {}, "stop"),
        (1, {}, "length"),
    ]
    assert {c["id"] for c in chunks} == {"chatcmpl-r1"}
