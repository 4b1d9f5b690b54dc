r"""BITO's answer → OpenAI: text increments in, a completion or chunks out.

BITO always streams (reference §6): lines `data: {"choices":[{"text":"…"}]}` — the `data:` prefix is
optional, blank lines between events may be missing — ending with a `[DONE]` line (with or without
`data:`), or just EOF. There is no finish reason, usage or tool call: the answer ends with `"stop"` and
`usage` stays None (the gateway's accounting counts tokens itself).

Two ways in:

- `parse_response` reads a whole response body line by line, so it takes every framing BITO uses;
- `BitoStream` is fed line events (`BitoChat.stream_framing = "lines"`: one event per line, as soon as
  it ends, `data:` optional). It also takes SSE events whose data joins several lines with `\n` (an
  SSE decoder's reading of BITO lines without blank lines), splitting them again. A stream that
  yields no line at all ends with an UpstreamProtocolError rather than an empty answer.

    >>> BitoStream(req, "Claude Sonnet 3.7").feed(SSEEvent('{"choices":[{"text":"Hi"}]}'))[0]["choices"][0]["delta"]
    {'role': 'assistant', 'content': 'Hi'}
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from llmrelay.errors import UpstreamError, UpstreamProtocolError
from llmrelay.providers.bito.errors import in_stream_error
from llmrelay.providers.common import choice, chunk, completion, message
from llmrelay.schemas.chat import ChatCompletion, ChatCompletionChunk, ChatRequest, Usage
from llmrelay.schemas.sse import SSEEvent

DONE = "[DONE]"
# Only "\r\n", "\r" and "\n" end a line: str.splitlines() would also cut at U+2028 and friends,
# which JSON allows unescaped inside a string.
_LINE_END = re.compile(r"\r\n|\r|\n")
_SSE_FIELDS = ("event:", "id:", "retry:", ":")


def increment(payload: str) -> str:
    """The text one BITO JSON line adds; an error object inside the stream is raised."""
    try:
        obj: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(f"The BITO upstream sent a line that is not JSON: {payload[:80]!r}") from None
    if not isinstance(obj, dict):
        raise UpstreamProtocolError("The BITO upstream sent a line that is not a JSON object.")
    choices = obj.get("choices")
    if isinstance(choices, list):
        first = choices[0] if choices else None
        text = first.get("text") if isinstance(first, dict) else None
        return text if isinstance(text, str) else ""
    error = in_stream_error(obj, payload.encode())
    if error is not None:
        raise error
    return ""  # an object with neither text nor an error: nothing to add (bito2ai skips these too)


def payload_of(line: str) -> str | None:
    """The JSON (or `[DONE]`) of one raw line, without its optional `data:`; None for blank/SSE-only lines."""
    line = line.strip()
    if line.startswith("data:"):
        return line[5:].strip() or None
    if not line or line.startswith(_SSE_FIELDS):
        return None
    return line


def answer_text(body: bytes) -> str:
    """The whole answer in a complete BITO response body."""
    texts: list[str] = []
    seen = False
    for line in _LINE_END.split(body.decode("utf-8", "replace")):
        payload = payload_of(line)
        if payload is None:
            continue
        seen = True
        if payload == DONE:
            break
        texts.append(increment(payload))
    if not seen:
        raise UpstreamProtocolError("The BITO upstream answered with an empty body.")
    return "".join(texts)


def parse_whole(body: bytes, req: ChatRequest, model: str) -> ChatCompletion:
    return completion(req, model, [choice(message(answer_text(body)), "stop")], None)


class BitoStream:
    """Chunks for one BITO stream: role with the first text, one chunk per text, then `stop`.

    translator = BitoStream(req, target.model)
    chunks = translator.feed(event) ... + translator.close()
    """

    __slots__ = ("_finished", "_model", "_pending", "_req", "_seen", "_started")

    def __init__(self, req: ChatRequest, model: str) -> None:
        self._req = req
        self._model = model
        self._started = False  # the role chunk went out
        self._finished = False  # the stop chunk went out; anything later is ignored
        self._seen = False  # some data line arrived
        self._pending: UpstreamError | None = None  # an error met after chunks that had to go out first

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]:
        self._raise_pending()
        out: list[ChatCompletionChunk] = []
        for line in event.data.split("\n"):
            payload = line.strip()
            if self._finished or not payload:
                continue
            self._seen = True
            if payload == DONE:
                out += self._finish()
                continue
            try:
                text = increment(payload)
            except UpstreamError as exc:
                if not out:
                    raise
                # Lines joined into one event: deliver the text before the error, raise on the next call.
                self._pending = exc
                break
            if text or not self._started:
                out.append(self._delta(text))
        return out

    def close(self) -> list[ChatCompletionChunk]:
        self._raise_pending()
        if self._finished:
            return []
        if not self._seen:
            raise UpstreamProtocolError("The BITO upstream's stream ended without a single line of answer.")
        return self._finish()  # EOF without [DONE]: BITO's answer is over all the same (reference §6)

    @property
    def usage(self) -> Usage | None:
        return None

    def _raise_pending(self) -> None:
        if self._pending is not None:
            raise self._pending

    def _delta(self, text: str) -> ChatCompletionChunk:
        delta: dict[str, Any] = {"content": text} if self._started else {"role": "assistant", "content": text}
        self._started = True
        return chunk(self._req, self._model, delta)

    def _finish(self) -> list[ChatCompletionChunk]:
        out = [] if self._started else [self._delta("")]
        self._finished = True
        out.append(chunk(self._req, self._model, {}, "stop"))
        return out
