"""BITO replies beyond the recorded cases: any byte split gives the same chunks, errors inside a body or
stream, odd lines, and the state a translator keeps."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmrelay.errors import UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.base import Target
from llmrelay.providers.bito import BitoChat
from llmrelay.providers.bito.errors import map_bito_error
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest
from llmrelay.schemas.sse import SSEEvent
from llmrelay.transport.sse import LineDecoder

TARGET = Target(provider="b", base_url="http://127.0.0.1:9", model="o3-mini High", api_key="tok")
REQ = ChatRequest.parse(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}', request_id="r1")
PIECES = ("Hé", "llo", " wörld", "")


def line(text: str) -> bytes:
    return orjson.dumps({"choices": [{"text": text}]})


def run(wire: bytes, splits: list[int] | None = None) -> list[ChatCompletionChunk]:
    """What BitoStream yields for `wire`, read in pieces cut at `splits`, as pipeline.stream drives it
    (with the line decoder BitoChat.stream_framing asks for)."""
    assert BitoChat.stream_framing == "lines"
    translator = BitoChat().open_stream(REQ, TARGET)
    decoder = LineDecoder()
    cuts = [0, *sorted(set(splits or [])), len(wire)]
    out: list[ChatCompletionChunk] = []
    for start, end in itertools.pairwise(cuts):
        for event in decoder.feed(wire[start:end]):
            out += translator.feed(event)
    for event in decoder.close():
        out += translator.feed(event)
    return out + translator.close()


def content(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)


@pytest.mark.parametrize("separator", [b"\n", b"\n\n", b"\r\n", b"\r\n\r\n"])
@given(splits=st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_any_split_and_line_ending_gives_the_same_chunks(separator: bytes, splits: list[int]) -> None:
    wire = b"".join(b"data: " + line(p) + separator for p in PIECES) + b"data: [DONE]" + separator
    chunks = run(wire, [s % (len(wire) + 1) for s in splits])
    assert content(chunks) == "Héllo wörld"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, None, "stop"]
    assert {c["id"] for c in chunks} == {"chatcmpl-r1"}
    assert {c["model"] for c in chunks} == {"o3-mini High"}


def test_events_after_done_are_ignored_and_close_adds_nothing() -> None:
    translator = BitoChat().open_stream(REQ, TARGET)
    chunks = translator.feed(SSEEvent('{"choices":[{"text":"a"}]}\n[DONE]\n{"choices":[{"text":"b"}]}'))
    assert content(chunks) == "a"
    assert translator.feed(SSEEvent('{"choices":[{"text":"c"}]}')) == []
    assert translator.close() == []
    assert translator.usage is None


@pytest.mark.parametrize(
    "data",
    ['{"choices":[]}', '{"choices":[{}]}', '{"choices":[{"text":null}]}', '{"choices":["x"]}', '{"id":"x"}'],
)
def test_lines_without_text_add_nothing(data: str) -> None:
    translator = BitoChat().open_stream(REQ, TARGET)
    first = translator.feed(SSEEvent(data))
    assert [c["choices"][0]["delta"] for c in first] == [{"role": "assistant", "content": ""}]
    assert translator.feed(SSEEvent(data)) == []


@pytest.mark.parametrize("data", ['{"choices":[{"text":"a"}', "[1, 2]", "<html>"])
def test_unreadable_lines_are_protocol_errors(data: str) -> None:
    with pytest.raises(UpstreamProtocolError):
        BitoChat().open_stream(REQ, TARGET).feed(SSEEvent(data))


def test_error_object_raises_at_once_when_nothing_is_pending() -> None:
    translator = BitoChat().open_stream(REQ, TARGET)
    translator.feed(SSEEvent('{"choices":[{"text":"a"}]}'))
    with pytest.raises(UpstreamStatusError) as caught:
        translator.feed(SSEEvent('{"status":1,"response":"Unauthorized Access"}'))
    assert (caught.value.status_code, caught.value.message) == (403, "Unauthorized Access")


def test_openai_style_error_inside_the_stream() -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        BitoChat().open_stream(REQ, TARGET).feed(SSEEvent('{"error":{"message":"boom","type":"server_error"}}'))
    assert (caught.value.status_code, caught.value.message) == (502, "boom")


def test_error_after_text_in_one_event_is_raised_on_the_next_call() -> None:
    translator = BitoChat().open_stream(REQ, TARGET)
    chunks = translator.feed(SSEEvent('{"choices":[{"text":"a"}]}\n{"status":3,"response":"late"}\n[DONE]'))
    assert content(chunks) == "a"
    with pytest.raises(UpstreamStatusError, match="late"):
        translator.close()


def test_bare_json_lines_stream_as_they_come() -> None:
    assert content(run(b'{"choices":[{"text":"ba"}]}\n{"choices":[{"text":"re"}]}\n[DONE]\n', [5, 30])) == "bare"


def test_stream_with_no_line_is_an_error_not_an_empty_answer() -> None:
    with pytest.raises(UpstreamProtocolError, match="without a single line"):
        run(b"\n\n")


def parse(body: bytes) -> dict[str, Any]:
    return dict(BitoChat().parse_response(body, REQ, TARGET))


def test_whole_body_in_every_framing() -> None:
    pieces = [line(p) for p in PIECES]
    for wire in (
        b"".join(b"data: " + p + b"\n" for p in pieces) + b"data: [DONE]\n",
        b"".join(p + b"\n" for p in pieces),
        b": keep-alive\n" + b"".join(b"event: message\ndata:" + p + b"\n\n" for p in pieces),
    ):
        reply = parse(wire)
        assert reply["choices"][0]["message"]["content"] == "Héllo wörld"
        assert reply["choices"][0]["finish_reason"] == "stop"
        assert "usage" not in reply


def test_whole_body_errors() -> None:
    with pytest.raises(UpstreamProtocolError, match="empty body"):
        parse(b"\n\n")
    with pytest.raises(UpstreamStatusError) as caught:
        parse(b'{"status":1,"response":"Unauthorized Access"}')
    assert caught.value.status_code == 403
    with pytest.raises(UpstreamProtocolError):
        parse(b"data: " + line("a")[:-3] + b"\n")


def test_error_mapping_keeps_retry_headers_only() -> None:
    error = map_bito_error(503, {"Retry-After": "3", "Set-Cookie": "x"}, b'{"status":3,"response":"Service is busy"}')
    assert (error.status_code, error.message, dict(error.headers)) == (503, "Service is busy", {"Retry-After": "3"})
    assert error.to_body()["error"]["type"] == "server_error"
    assert map_bito_error(500, {}, b'{"status":3,"response":""}').message == "The BITO upstream answered HTTP 500."
    assert map_bito_error(502, {}, b"").message == "The upstream answered HTTP 502."
