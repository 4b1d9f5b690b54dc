"""The SSE decoder and splitter: any split of the byte stream yields the same events."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from llmrelay.transport.sse import SSEDecoder, SSEEvent, split_events

ENDINGS = ("\n", "\r\n", "\r")
# Characters that break naive decoders: multi-byte UTF-8, emoji, the str.splitlines()
# separators that SSE does not treat as line endings, BOM and NUL inside values, colons.
TRICKY = "é€中😀🧑‍🚀\u2028\u2029\x85\x0b\x0c\x1c\ufeff\0: "
VALUES = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n") | st.sampled_from(TRICKY), max_size=12
)
NAMES = VALUES.filter(bool)
UNKNOWN_FIELDS = st.sampled_from(["Data", "DATA", "events", "ids", "retry2", "x-trace", " data"])
BAD_RETRIES = st.sampled_from(["", "1.5", "-1", "12a", " 5", "\u0661\u0662", "\uff13", "²"])


def decode(pieces: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.close()


def cut(raw: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted({p % (len(raw) + 1) for p in points}), len(raw)]
    return [raw[a:b] for a, b in pairwise(bounds)]


def field(draw: st.DrawFn, name: str, value: str) -> str:
    """`name:value` in one of the spellings that all mean the same thing."""
    if value.startswith(" "):
        return f"{name}: {value}"  # one space is stripped, so it must be there
    spellings = [f"{name}:{value}", f"{name}: {value}"] + ([name] if value == "" else [])
    return draw(st.sampled_from(spellings))


@dataclass
class Block:
    """One generated event block: its lines and what they mean."""

    lines: list[str]
    data: list[str]
    event: str | None
    id: str | None  # the id this block sets, if any
    retry: int | None


@st.composite
def blocks(draw: st.DrawFn) -> Block:
    data = draw(st.lists(VALUES, max_size=3))
    event = draw(st.none() | NAMES)
    new_id = draw(st.none() | VALUES.map(lambda v: v.replace("\0", "")))
    retry = draw(st.none() | st.integers(0, 10**12))
    lines = [field(draw, "data", value) for value in data]
    extras = [":" + comment for comment in draw(st.lists(VALUES, max_size=2))]
    extras.append(field(draw, draw(UNKNOWN_FIELDS), draw(VALUES)))
    extras.append(field(draw, "id", draw(VALUES) + "\0"))  # ignored: contains NUL
    extras.append(field(draw, "retry", draw(BAD_RETRIES)))  # ignored: not digits
    extras = draw(st.lists(st.sampled_from(extras), unique=True))
    if event is not None:
        extras.append(field(draw, "event", event))
    if new_id is not None:
        extras.append(field(draw, "id", new_id))
    if retry is not None:
        extras.append(field(draw, "retry", str(retry)))
    for extra in extras:
        lines.insert(draw(st.integers(0, len(lines))), extra)
    return Block(lines, data, event, new_id, retry)


def encode(draw: st.DrawFn, lines: list[str]) -> bytes:
    """The lines with random line endings; perhaps a BOM, perhaps no final ending."""
    text = "\ufeff" if draw(st.booleans()) else ""
    previous = ""
    for line in lines:
        ending = draw(st.sampled_from(ENDINGS))
        if previous == "\r" and line == "" and ending == "\n":
            ending = "\r"  # "\r" + "\n" would be one "\r\n" ending, not a blank line
        text += line + ending
        previous = ending
    if lines and lines[-1] and draw(st.booleans()):
        text = text.removesuffix(previous)
    return text.encode()


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    """A random event stream, encoded, and the events it must decode to."""
    lines: list[str] = []  # logical lines; "" is a blank line
    expected: list[SSEEvent] = []
    last_id: str | None = None
    for block in draw(st.lists(blocks(), max_size=5)):
        last_id = last_id if block.id is None else block.id
        lines += block.lines + [""] * draw(st.integers(1, 3))
        if block.data or block.event is not None:
            expected.append(SSEEvent("\n".join(block.data), block.event, last_id, block.retry))
    if draw(st.booleans()):
        while lines and lines[-1] == "":
            lines.pop()  # the last event ends at EOF, unterminated: close() flushes it
    return encode(draw, lines), expected


@settings(max_examples=200, deadline=None)
@given(sse_streams(), st.lists(st.integers(min_value=0), max_size=30))
def test_any_split_yields_the_generated_events(stream: tuple[bytes, list[SSEEvent]], points: list[int]) -> None:
    raw, expected = stream
    assert decode([raw]) == expected
    assert decode(cut(raw, points)) == expected


@settings(max_examples=40, deadline=None)
@given(sse_streams())
def test_byte_at_a_time_yields_the_generated_events(stream: tuple[bytes, list[SSEEvent]]) -> None:
    raw, expected = stream
    assert decode([raw[i : i + 1] for i in range(len(raw))]) == expected


def test_openai_stream_ending_in_done() -> None:
    raw = (
        b'data: {"id":"c1","choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
        b'data: {"id":"c1","choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"id":"c1","choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    events = decode([raw[:40], raw[40:41], raw[41:]])
    assert [e.data for e in events] == [
        '{"id":"c1","choices":[{"delta":{"role":"assistant","content":""}}]}',
        '{"id":"c1","choices":[{"delta":{"content":"Hi"}}]}',
        '{"id":"c1","choices":[{"delta":{},"finish_reason":"stop"}]}',
        "[DONE]",
    ]
    assert all(e == SSEEvent(e.data) for e in events)


def test_anthropic_stream_with_event_lines_and_ping() -> None:
    raw = (
        b"event: message_start\r\n"
        b'data: {"type":"message_start","message":{"id":"msg_1"}}\r\n\r\n'
        b"event: ping\r\n"
        b'data: {"type": "ping"}\r\n\r\n'
        b"event: content_block_delta\r\n"
        b'data: {"type":"content_block_delta","delta":{"text":"Hi \xe2\x9c\x93"}}\r\n\r\n'
        b"event: message_stop\r\n"
        b'data: {"type":"message_stop"}\r\n\r\n'
    )
    assert [(e.event, e.data) for e in decode([raw])] == [
        ("message_start", '{"type":"message_start","message":{"id":"msg_1"}}'),
        ("ping", '{"type": "ping"}'),
        ("content_block_delta", '{"type":"content_block_delta","delta":{"text":"Hi ✓"}}'),
        ("message_stop", '{"type":"message_stop"}'),
    ]


def test_one_optional_space_after_the_colon_is_stripped() -> None:
    raw = b'data:{"a":1}\n\ndata:  two\n\nevent:x\ndata:\n\nid:7\ndata:y\n\n'
    assert decode([raw]) == [
        SSEEvent('{"a":1}'),
        SSEEvent(" two"),
        SSEEvent("", event="x"),
        SSEEvent("y", id="7"),
    ]


def test_a_line_without_colon_is_a_field_with_empty_value() -> None:
    assert decode([b"data\n\n", b"data\ndata\n\n", b"event\ndata: x\n\n"]) == [
        SSEEvent(""),
        SSEEvent("\n"),
        SSEEvent("x"),  # an empty event name is no event name
    ]


def test_data_lines_are_joined_with_newlines() -> None:
    assert decode([b"data: a\ndata:\ndata: c\n\n"]) == [SSEEvent("a\n\nc")]


def test_comments_keep_alives_and_empty_blocks_dispatch_nothing() -> None:
    raw = b": keep-alive\n\n:\n\n\n\n\r\n\revent:\n\ndata: a\n: inside an event\ndata: b\n\n"
    assert decode([raw]) == [SSEEvent("a\nb")]


def test_event_name_without_data_is_dispatched() -> None:
    assert decode([b"event: ping\n\n"]) == [SSEEvent("", event="ping")]


def test_unknown_fields_are_ignored_and_names_are_case_sensitive() -> None:
    assert decode([b"Data: no\nfoo: bar\ndata: yes\nDATA: no\n\n"]) == [SSEEvent("yes")]


def test_leading_bom_is_stripped_once() -> None:
    bom = b"\xef\xbb\xbf"
    assert decode([bom + b"data: x\n\n"]) == [SSEEvent("x")]
    assert decode([bom[:1], bom[1:2], bom[2:] + b"data: x\n\n"]) == [SSEEvent("x")]
    assert decode([bom + b"data: " + bom + b"x\n\n"]) == [SSEEvent("\ufeffx")]
    # A second BOM is part of the first line, whose field name is then "\ufeffdata".
    assert decode([bom + bom + b"data: x\n\n"]) == []
    assert decode([b"data: a\n" + bom + b"data: b\n\n"]) == [SSEEvent("a")]


def test_close_flushes_an_event_without_trailing_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"choices":[{"text":"hi"}]}\n\ndata: [DONE]') == [
        SSEEvent('{"choices":[{"text":"hi"}]}')
    ]
    assert decoder.close() == [SSEEvent("[DONE]")]
    assert decoder.close() == []
    assert decode([b"event: done\ndata: x\r"]) == [SSEEvent("x", event="done")]
    assert decode([b"data: x\n\n"]) == [SSEEvent("x")]
    assert decode([b": just a comment"]) == []


def test_close_resets_the_decoder_for_a_new_stream() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\ndata: b")
    assert decoder.close() == [SSEEvent("b", id="1")]
    assert decoder.feed(b"\xef\xbb\xbfdata: c\n\n") == [SSEEvent("c")]


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert decode([b"data: a\xffb\xc3\n\n"]) == [SSEEvent("a\ufffdb\ufffd")]
    assert decode([b"data: \xe2\x82\n\n"]) == [SSEEvent("\ufffd")]
    assert decode([b"data: ok\n\ndata: \xe2\x82"]) == [SSEEvent("ok"), SSEEvent("\ufffd")]


def test_multibyte_character_split_across_feeds_stays_intact() -> None:
    raw = "data: €😀\n\n".encode()
    assert decode([raw[:7], raw[7:8], raw[8:11], raw[11:13], raw[13:]]) == [SSEEvent("€😀")]


def test_retry_counts_only_when_all_ascii_digits() -> None:
    raw = (
        "retry: 3000\ndata: a\n\n"
        "data: b\n\n"
        "retry: 3s\ndata: c\n\n"
        "retry: \uff13\ndata: d\n\n"
        "retry:\ndata: e\n\n"
        "retry: 10\n\ndata: f\n\n"
    ).encode()
    assert [(e.data, e.retry) for e in decode([raw])] == [
        ("a", 3000),
        ("b", None),
        ("c", None),
        ("d", None),
        ("e", None),
        ("f", None),  # a retry in a block that dispatched nothing does not leak into the next
    ]


def test_id_persists_until_changed_and_nul_is_ignored() -> None:
    raw = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\nid: 3\n\ndata: e\n\n"
    assert [(e.data, e.id) for e in decode([raw])] == [
        ("a", "1"),
        ("b", "1"),
        ("c", "1"),
        ("d", ""),
        ("e", "3"),
    ]


def test_crlf_split_across_feeds_is_one_line_ending() -> None:
    # Counted as two endings, "\r" | "\n" would be a blank line and dispatch "a" alone.
    assert decode([b"data: a\r", b"\ndata: b\r\n\r\n"]) == [SSEEvent("a\nb")]
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r") == [SSEEvent("a")]  # the "\r" is dispatched without waiting
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"") == []  # an empty read does not forget the pending "\r"
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\n") == [SSEEvent("b")]


def test_lone_cr_line_endings() -> None:
    assert decode([b"event: e\rdata: a\rdata: b\r\rdata: c\r\r"]) == [
        SSEEvent("a\nb", event="e"),
        SSEEvent("c"),
    ]


def test_unicode_line_separators_are_not_line_endings() -> None:
    text = "data: a\u2028b\x85c\x0bd\x1ce\u2029f\n\n"
    assert decode([text.encode()]) == [SSEEvent("a\u2028b\x85c\x0bd\x1ce\u2029f")]


def test_long_line_in_many_small_reads() -> None:
    payload = "x" * 200_000 + "€"
    raw = f"data: {payload}\n\n".encode()
    assert decode([raw[i : i + 7] for i in range(0, len(raw), 7)]) == [SSEEvent(payload)]


def test_split_events_examples() -> None:
    assert split_events(b"") == ([], b"")
    assert split_events(b"data: 1\n\ndata: 2") == ([b"data: 1"], b"data: 2")
    assert split_events(b"a\r\n\r\nb\r\rc\n\nd\r\n\ne\n\r\nf") == ([b"a", b"b", b"c", b"d", b"e"], b"f")
    assert split_events(b"a\r\nb\r\n") == ([], b"a\r\nb\r\n")  # "\r\n" is one ending, not two
    assert split_events(b"\n\n\n\na\n\n\n") == ([b"a"], b"\n")
    # "\r\r" at the very end may be "\r" + "\r\n": held back until the next byte tells.
    assert split_events(b"a\n\nb\r\r") == ([b"a"], b"b\r\r")
    assert split_events(b"a\n\nb\r\r\n") == ([b"a", b"b"], b"")
    assert split_events(b"a\r\n\r") == ([], b"a\r\n\r")


BYTES_STREAMS = st.lists(
    st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"data: x", b":", b"\xe2\x82\xac", b"\xff"]), max_size=40
).map(b"".join)
LF_STREAMS = st.lists(st.sampled_from([b"\n", b"a", b"data: x", b"\xe2\x82\xac"]), max_size=30).map(b"".join)


def ending_at(buffer: bytes, i: int) -> int:
    r"""The length of the line ending at buffer[i]: 0 if none, -1 for a "\r" as last byte."""
    if buffer.startswith(b"\r\n", i):
        return 2
    if buffer.startswith(b"\r", i) and i + 1 == len(buffer):
        return -1  # may still become "\r\n"
    return 1 if buffer.startswith((b"\r", b"\n"), i) else 0


def reference_split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """split_events written the slow, obvious way: walk the line endings one by one."""
    blocks: list[bytes] = []
    start = i = 0
    while i < len(buffer):
        first = ending_at(buffer, i)
        if first <= 0:
            i += 1
            continue
        second = ending_at(buffer, i + first)
        if second == 0:
            i += first
            continue
        if second < 0:
            break
        if buffer[start:i]:
            blocks.append(buffer[start:i])
        i = start = i + first + second
    return blocks, buffer[start:]


@settings(max_examples=300, deadline=None)
@given(BYTES_STREAMS | LF_STREAMS)
def test_split_events_matches_a_reference_walk(raw: bytes) -> None:
    assert split_events(raw) == reference_split(raw)


@settings(max_examples=200, deadline=None)
@given(BYTES_STREAMS | LF_STREAMS, st.lists(st.integers(min_value=0), max_size=20))
def test_split_events_is_independent_of_read_boundaries(raw: bytes, points: list[int]) -> None:
    whole_blocks, whole_rest = split_events(raw)
    blocks: list[bytes] = []
    rest = b""
    for piece in cut(raw, points):
        new, rest = split_events(rest + piece)
        blocks += new
    assert (blocks, rest) == (whole_blocks, whole_rest)
    for block in blocks:
        assert block
        assert split_events(block) == ([], block)


@settings(max_examples=60, deadline=None)
@given(sse_streams(), st.lists(st.integers(min_value=0), max_size=20))
def test_split_events_blocks_decode_to_the_stream_events(
    stream: tuple[bytes, list[SSEEvent]], points: list[int]
) -> None:
    raw, expected = stream
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    rest = b""
    for piece in cut(raw, points):
        blocks, rest = split_events(rest + piece)
        for block in blocks:
            events += decoder.feed(block + b"\n\n")
    events += decoder.feed(rest) + decoder.close()
    assert events == expected
