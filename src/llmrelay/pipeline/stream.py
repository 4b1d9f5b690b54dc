"""Streams to the client as SSE bytes: passthrough relay of upstream bytes, or translated chunks.

Passthrough forwards each upstream read as it arrives, cut only at event boundaries, so an error
event that ends a broken stream never lands inside a half-sent event. Nothing is re-encoded: the
bytes are scanned for the usage object and the `[DONE]` sentinel, and only the event carrying usage
is parsed.

    >>> async for frame in passthrough(upstream, record): await send(frame)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import cast

import orjson

from llmrelay.errors import RelayError, UpstreamError
from llmrelay.pipeline.context import RequestRecord
from llmrelay.providers.base import StreamTranslator
from llmrelay.schemas.chat import ChatCompletionChunk, Usage
from llmrelay.schemas.stream import DONE, Framing, encode_event
from llmrelay.transport.attempt import UpstreamStream
from llmrelay.transport.sse import LineDecoder, SSEDecoder

_SEPARATORS = (b"\n\n", b"\r\n\r\n", b"\r\r")
_USAGE_MARKERS = (b'"usage":{', b'"usage": {')


def error_event(error: RelayError) -> bytes:
    return encode_event(error.to_body())


async def passthrough(upstream: UpstreamStream, record: RequestRecord) -> AsyncIterator[bytes]:
    """Relay an OpenAI-format SSE body; on a broken upstream, end with an error event."""
    pending = b""
    complete = False
    try:
        async for data in upstream:
            buf = pending + data if pending else data
            cut = _last_boundary(buf)
            if cut == 0:
                pending = buf
                continue
            ready, pending = (buf, b"") if cut == len(buf) else (buf[:cut], buf[cut:])
            _scan(ready, record)
            yield ready
        complete = True
        if pending:  # a last event without its blank line: forward it as it came
            _scan(pending, record)
            yield pending
    except UpstreamError as exc:
        yield error_event(exc)
    finally:
        if complete:
            upstream.release()
        else:
            upstream.abort()


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
        record.usage = translator.usage or estimate("".join(text))
        yield framing.end(record.usage)
    except RelayError as exc:
        yield error_event(exc)
    finally:
        record.usage = record.usage or translator.usage
        if complete:
            upstream.release()
        else:
            upstream.abort()


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


def _scan(ready: bytes, record: RequestRecord) -> None:
    """Pick usage out of complete events without decoding the others."""
    if any(marker in ready for marker in _USAGE_MARKERS):
        usage = _usage_in(ready)
        if usage is not None:
            record.usage = usage


def _usage_in(ready: bytes) -> Usage | None:
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


__all__ = ["DONE", "Framing", "encode_event", "error_event", "passthrough", "translated"]
