"""Streams to the client as SSE bytes: passthrough relay of upstream bytes, or translated chunks.

Passthrough forwards each upstream read as it arrives, cut only at event boundaries, so an error
event that ends a broken stream never lands inside a half-sent event. Nothing is re-encoded: the
bytes are scanned for the usage object and the `[DONE]` sentinel, and only the event carrying usage
is parsed.

When the upstream sends no usage (a client that did not ask for `stream_options.include_usage`, a
server that ignores it), the usage is counted offline at the end of the stream, from the bytes already
relayed: passthrough keeps a reference to each forwarded read until a usage object shows up, and
decodes them only if none did. A stream the client aborts is counted the same way, up to the abort.

    >>> async for frame in passthrough(upstream, record, estimate): await send(frame)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import cast

import orjson

from llmrelay.dialects.completions import ChunkConverter
from llmrelay.errors import RelayError, UpstreamError
from llmrelay.pipeline.context import RequestRecord
from llmrelay.providers.base import StreamTranslator
from llmrelay.schemas.chat import ChatCompletionChunk, Usage
from llmrelay.schemas.stream import DONE, Framing, encode_event
from llmrelay.transport.attempt import UpstreamStream
from llmrelay.transport.sse import LineDecoder, SSEDecoder

_SEPARATORS = (b"\n\n", b"\r\n\r\n", b"\r\r")
_USAGE_MARKERS = (b'"usage":{', b'"usage": {')
_MAX_KEPT = 8 * 1024 * 1024
"""Bytes of a usage-less stream kept for counting; a longer reply is counted from its first 8 MiB."""


def error_event(error: RelayError) -> bytes:
    return encode_event(error.to_body())


async def passthrough(
    upstream: UpstreamStream, record: RequestRecord, estimate: Callable[[str], Usage] | None = None
) -> AsyncIterator[bytes]:
    """Relay an OpenAI-format SSE body; on a broken upstream, end with an error event. Without usage
    from the upstream, `estimate(relayed_text)` counts it when the stream ends or is aborted."""
    chunks = EventChunks(upstream)
    kept = _Kept() if estimate is not None else None
    try:
        async for ready in chunks:
            _scan(ready, record, kept)
            yield ready
    except UpstreamError as exc:
        record.incomplete = True
        yield error_event(exc)
    finally:
        chunks.finish()
        if record.usage is None and kept is not None and estimate is not None:
            record.usage = estimate(kept.text())
            record.usage_estimated = True


class EventChunks:
    """An upstream SSE body's reads, each cut at its last event boundary (the rest waits for the next
    read), so that no event is split between two chunks: what a passthrough relays, and scans.

    `complete` turns true once the upstream has been read to its end, before a last event that came
    without its blank line is yielded as it came; `finish()` then releases the upstream, and aborts it
    otherwise (a broken upstream, a client gone).

        >>> chunks = EventChunks(upstream)
        >>> try:
        ...     async for ready in chunks: yield ready
        ... finally:
        ...     chunks.finish()
    """

    __slots__ = ("complete", "upstream")

    def __init__(self, upstream: UpstreamStream) -> None:
        self.upstream = upstream
        self.complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pending = b""
        async for data in self.upstream:
            buf = pending + data if pending else data
            cut = _last_boundary(buf)
            if cut == 0:
                pending = buf
                continue
            ready, pending = (buf, b"") if cut == len(buf) else (buf[:cut], buf[cut:])
            yield ready
        self.complete = True
        if pending:
            yield pending

    def finish(self) -> None:
        if self.complete:
            self.upstream.release()
        else:
            self.upstream.abort()


class _Kept:
    """The relayed reads of a stream that has shown no usage yet, decoded only if it never does."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, ready: bytes) -> None:
        if self.size < _MAX_KEPT:
            self.parts.append(ready)
            self.size += len(ready)

    def text(self) -> str:
        decoder = SSEDecoder()
        out: list[str] = []
        for event in [*decoder.feed(b"".join(self.parts)), *decoder.close()]:
            if event.data != "[DONE]":
                with contextlib.suppress(orjson.JSONDecodeError):
                    reply_text(orjson.loads(event.data), out)
        return "".join(out)


def reply_text(reply: object, out: list[str]) -> None:
    """Append the generated text of an OpenAI reply or chunk (chat content, tool-call arguments,
    legacy completion text) to `out`: what an offline count of completion tokens reads."""
    choices = reply.get("choices") if isinstance(reply, dict) else None
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        message = choice.get("delta") or choice.get("message") or {}
        if isinstance(text := choice.get("text"), str):
            out.append(text)
        if not isinstance(message, dict):
            continue
        if isinstance(content := message.get("content"), str):
            out.append(content)
        for call in message.get("tool_calls") or ():
            arguments = (call.get("function") or {}).get("arguments") if isinstance(call, dict) else None
            if isinstance(arguments, str):
                out.append(arguments)


async def translated(
    upstream: UpstreamStream,
    translator: StreamTranslator,
    include_usage: bool,
    record: RequestRecord,
    estimate: Callable[[str], Usage],
    decoder: SSEDecoder | LineDecoder,
) -> AsyncIterator[bytes]:
    """Decode the upstream's events, translate them, and frame them as OpenAI does whatever the
    upstream's own ending. When the upstream reports no usage, `estimate(completion_text)` counts it.
    """
    framing = Framing(include_usage)
    text: list[str] = []
    complete = False
    try:
        async for data in upstream:
            for event in decoder.feed(data):
                for chunk in translator.feed(event):
                    yield framing.encode(_collect(chunk, text))
        for event in decoder.close():
            for chunk in translator.feed(event):
                yield framing.encode(_collect(chunk, text))
        for chunk in translator.close():
            yield framing.encode(_collect(chunk, text))
        complete = True
        record.usage = translator.usage or _estimated(record, estimate, text)
        yield framing.end(record.usage)
    except RelayError as exc:
        record.incomplete = True
        yield error_event(exc)
    finally:
        # An aborted or broken stream is billed for what was relayed up to the end.
        record.usage = record.usage or translator.usage or _estimated(record, estimate, text)
        if complete:
            upstream.release()
        else:
            upstream.abort()


async def completion_frames(frames: AsyncIterator[bytes], converter: ChunkConverter) -> AsyncIterator[bytes]:
    """A chat stream's frames as legacy completion chunks (a chat-only upstream serving /v1/completions);
    an error event and the closing [DONE] go through as they are."""
    decoder = SSEDecoder()
    try:
        async for frame in frames:
            for event in decoder.feed(frame):
                if event.data == "[DONE]":
                    yield DONE
                    continue
                data = orjson.loads(event.data)
                if "error" in data:
                    yield encode_event(data)
                    continue
                converted = converter.convert(data)
                if converted is not None:
                    yield encode_event(converted)
    finally:  # a client that leaves closes the chat stream, and so the upstream request, at once
        await close_frames(frames)


async def close_frames(frames: AsyncIterator[bytes]) -> None:
    """Close a stream of frames another stream was reading (an async generator: its `finally` runs now,
    aborting the upstream request it holds, rather than whenever it is collected)."""
    aclose = getattr(frames, "aclose", None)
    if aclose is not None:
        await aclose()


def _estimated(record: RequestRecord, estimate: Callable[[str], Usage], text: list[str]) -> Usage:
    record.usage_estimated = True
    return estimate("".join(text))


def _collect(chunk: ChatCompletionChunk, text: list[str]) -> ChatCompletionChunk:
    """Keep the generated text (content and tool-call arguments), for counting usage if need be."""
    for choice in chunk["choices"]:
        delta = choice["delta"]
        if delta.get("content"):
            text.append(delta["content"])
        for call in delta.get("tool_calls") or ():
            text.append((call.get("function") or {}).get("arguments") or "")
    return chunk


def _last_boundary(buf: bytes) -> int:
    """The index just past the last event separator in `buf`, or 0 when it holds no complete event."""
    cut = 0
    for sep in _SEPARATORS:
        at = buf.rfind(sep)
        if at >= 0 and at + len(sep) > cut:
            cut = at + len(sep)
    return cut


def _scan(ready: bytes, record: RequestRecord, kept: _Kept | None) -> None:
    """Pick usage out of complete events without decoding the others; keep the bytes until usage shows."""
    if any(marker in ready for marker in _USAGE_MARKERS):
        usage = _usage_in(ready)
        if usage is not None:
            record.usage = usage
    if kept is not None and record.usage is None:
        kept.add(ready)


def _usage_in(ready: bytes) -> Usage | None:
    """The usage of the last event in `ready` that carries one. That event alone is decoded first (a
    read often holds a whole short stream, usage in its last event); every event, if that fails."""
    at = max(ready.rfind(marker) for marker in _USAGE_MARKERS)
    start = 0
    for sep in _SEPARATORS:
        found = ready.rfind(sep, 0, at)
        if found >= 0:
            start = max(start, found + len(sep))
    usage = _usage_of_events(ready[start:])
    return usage if usage is not None else _usage_of_events(ready)


def _usage_of_events(ready: bytes) -> Usage | None:
    decoder = SSEDecoder()
    found: Usage | None = None
    for event in [*decoder.feed(ready), *decoder.close()]:
        if '"usage"' not in event.data or event.data == "[DONE]":
            continue
        try:
            chunk = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            continue
        usage = chunk.get("usage") if isinstance(chunk, dict) else None
        if isinstance(usage, dict):
            found = cast(Usage, usage)
    return found


__all__ = [
    "DONE",
    "EventChunks",
    "Framing",
    "close_frames",
    "encode_event",
    "error_event",
    "passthrough",
    "reply_text",
    "translated",
]
