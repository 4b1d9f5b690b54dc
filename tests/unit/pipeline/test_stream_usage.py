"""Usage read out of a passthrough stream's relayed reads without decoding every event."""

from __future__ import annotations

import orjson
import pytest

from llmrelay.pipeline.stream import _usage_in

USAGE = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


def event(obj: object, sep: bytes = b"\n\n") -> bytes:
    return b"data: " + orjson.dumps(obj) + sep


def chunk(text: str, usage: object = None) -> dict[str, object]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}], "usage": usage}


@pytest.mark.parametrize("sep", [b"\n\n", b"\r\n\r\n", b"\r\r"])
def test_the_usage_event_at_the_end_of_a_whole_stream(sep: bytes) -> None:
    read = (
        b"".join(event(chunk(t), sep) for t in ("a", "b", "c")) + event(chunk("", USAGE), sep) + b"data: [DONE]" + sep
    )
    assert _usage_in(read) == USAGE


def test_the_last_usage_wins_and_later_events_do_not_hide_it() -> None:
    first = {**USAGE, "total_tokens": 1}
    read = event(chunk("a", first)) + event(chunk("b", USAGE)) + event(chunk("c")) + b"data: [DONE]\n\n"
    assert _usage_in(read) == USAGE


def test_an_unreadable_event_with_the_marker_falls_back_to_every_event() -> None:
    read = event(chunk("a", USAGE)) + b'data: {"usage":{ not json\n\n'
    assert _usage_in(read) == USAGE


def test_a_multi_line_event_is_decoded_whole() -> None:
    body = orjson.dumps(chunk("", USAGE), option=orjson.OPT_INDENT_2).decode()
    read = event(chunk("a")) + "".join(f"data: {line}\n" for line in body.splitlines()).encode() + b"\n"
    assert _usage_in(read.replace(b'"usage": {', b'"usage":{')) == USAGE
