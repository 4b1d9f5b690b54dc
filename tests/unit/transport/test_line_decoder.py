"""LineDecoder: one event per non-empty line, `data:` optional, whatever the read boundaries."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.schemas.sse import SSEEvent
from llmrelay.transport.sse import LineDecoder

WIRE = b'{"a":1}\r\ndata: {"b":"\xc3\xa9"}\n\n: keep-alive\nevent: x\ndata:[DONE]\n{"tail":true}'
EXPECTED = [SSEEvent('{"a":1}'), SSEEvent('{"b":"é"}'), SSEEvent("[DONE]"), SSEEvent('{"tail":true}')]


def decode(wire: bytes, cuts: list[int]) -> list[SSEEvent]:
    decoder = LineDecoder()
    points = [0, *sorted(set(cuts)), len(wire)]
    events = [e for start, end in itertools.pairwise(points) for e in decoder.feed(wire[start:end])]
    return events + decoder.close()


def test_lines_prefixes_comments_and_the_last_line_without_newline() -> None:
    assert decode(WIRE, []) == EXPECTED


@settings(max_examples=200)
@given(st.lists(st.integers(min_value=0, max_value=len(WIRE)), max_size=8))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    assert decode(WIRE, cuts) == EXPECTED
