"""Gemini stream translation, error mapping and embeddings: edges the recorded cases do not cover."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.errors import UnsupportedParameterError, UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.base import Target
from llmrelay.providers.gemini import GeminiChat, GeminiEmbeddings
from llmrelay.providers.gemini.errors import map_error
from llmrelay.providers.gemini.ids import CallIds, split
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest
from llmrelay.schemas.sse import SSEEvent

TARGET = Target(provider="g", base_url="https://g.example", model="gemini-2.5-flash", api_key="k")


def stream(n: int = 1) -> Any:
    raw = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True, "n": n})
    return GeminiChat().open_stream(ChatRequest.parse(raw, created=1, request_id="r"), TARGET)


def event(data: object) -> SSEEvent:
    return SSEEvent(data=orjson.dumps(data).decode())


def text(index: int, value: str, finish: str | None = None, **part: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": value, **part}], "role": "model"}, "index": index}
    if finish:
        candidate["finishReason"] = finish
    return candidate


def deltas(chunks: list[ChatCompletionChunk]) -> list[tuple[int, dict[str, Any], str | None]]:
    return [(c["choices"][0]["index"], c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in chunks]


def test_two_candidates_interleave_and_finish_separately() -> None:
    s = stream(n=2)
    out = s.feed(event({"candidates": [text(0, "a"), text(1, "b")], "modelVersion": "gemini-2.5-flash-002"}))
    out += s.feed(event({"candidates": [text(1, "", "MAX_TOKENS"), text(0, "c", "STOP")]}))
    assert deltas(out) == [
        (0, {"role": "assistant", "content": "a"}, None),
        (1, {"role": "assistant", "content": "b"}, None),
        (1, {}, "length"),
        (0, {"content": "c"}, None),
        (0, {}, "stop"),
    ]
    assert {c["model"] for c in out} == {"gemini-2.5-flash-002"}
    assert s.close() == []


def test_thought_parts_blank_events_and_empty_candidates_are_skipped() -> None:
    s = stream()
    assert s.feed(SSEEvent(data="")) == []
    assert s.feed(event({"candidates": [text(0, "thinking…", thought=True)]})) == []
    assert s.feed(event({"usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}})) == []
    assert s.usage == {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}
    assert deltas(s.feed(event({"candidates": [{"finishReason": "SAFETY", "index": 0}]}))) == [
        (0, {"role": "assistant", "content": ""}, None),
        (0, {}, "content_filter"),
    ]


@pytest.mark.parametrize("events", [[], [{"candidates": [text(0, "partial")]}]])
def test_a_stream_without_finish_reason_was_cut(events: list[dict[str, Any]]) -> None:
    s = stream()
    for data in events:
        s.feed(event(data))
    with pytest.raises(UpstreamProtocolError):
        s.close()


def test_in_stream_error_without_code_takes_status_from_the_canonical_name() -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        stream().feed(event({"error": {"message": "slow down", "status": "RESOURCE_EXHAUSTED"}}))
    assert caught.value.status_code == 429 and caught.value.code == "rate_limit_exceeded"


def test_garbage_event_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        stream().feed(SSEEvent(data="<html>"))


def error(status: int, body: object, headers: dict[str, str] | None = None) -> UpstreamStatusError:
    return map_error(status, headers or {}, orjson.dumps(body))


def test_fractional_retry_delay_and_upstream_header_precedence() -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.5s"}
    body = {"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED", "details": [retry]}}
    assert dict(error(429, body).headers) == {"retry-after": "1", "retry-after-ms": "500"}
    assert dict(error(429, body, {"Retry-After": "9"}).headers) == {"retry-after": "9"}


def test_compat_array_body_unauthenticated_and_unmapped_fields() -> None:
    unauth = error(401, [{"error": {"code": 401, "message": "no", "status": "UNAUTHENTICATED"}}])
    assert (unauth.status_code, unauth.error_type, unauth.code) == (401, "authentication_error", "invalid_api_key")
    violation = {"field": "contents[2].parts[0].function_response", "description": "d"}
    details = [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}]
    bad = error(400, {"error": {"code": 400, "message": "d", "status": "INVALID_ARGUMENT", "details": details}})
    assert bad.param == "contents[2].parts[0].function_response"
    empty = map_error(500, {}, b"")
    assert empty.message == "Gemini answered HTTP 500." and empty.code is None


def test_call_ids() -> None:
    ids = CallIds("")
    assert ids.next(None, None) == "call_llmrelay_0"
    assert ids.next("fc-9", "c2ln") == "fc-9__thought__c2ln"
    assert split("fc-9__thought__c2ln") == ("fc-9", "c2ln")
    assert split("call_x__thought__") == ("call_x__thought__", None)
    assert split("plain") == ("plain", None)


def embeddings_request(**fields: Any) -> EmbeddingsRequest:
    return EmbeddingsRequest.parse(orjson.dumps({"model": "e", "input": "hi", **fields}))


@pytest.mark.parametrize(("fields", "param"), [({"input": [[1, 2]]}, "input"), ({"task": "x"}, "task")])
def test_embeddings_rejects_token_ids_and_unknown_fields(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        GeminiEmbeddings().build_request(embeddings_request(**fields), TARGET)
    assert caught.value.param == param


def test_embeddings_count_mismatch_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        GeminiEmbeddings().parse_response(b'{"embeddings": []}', embeddings_request(), TARGET)
