"""Gemini `streamGenerateContent?alt=sse` events → OpenAI chat chunks (reference §3.5).

Each event is `data: <GenerateContentResponse>`; there is no `[DONE]`, the stream ends at EOF after the
event carrying `finishReason` (the relay writes `[DONE]`). Per candidate (= choice index):

- the first chunk carries `role: "assistant"`; text parts become `content` deltas as they come;
- a `functionCall` part always arrives whole in one event on the Gemini API (`FunctionCall.partial_args`
  / `will_continue` are "not supported in Gemini API", google-genai `types.py`), so it becomes one
  tool-call delta with `id`, `name` and the whole `arguments`; its `index` counts the calls of that
  choice (0, 1, …), in order, across events;
- `finishReason` becomes a chunk with `delta: {}` and the mapped `finish_reason`.

`usageMetadata` rides on every event and is cumulative: the last one is kept as `usage`. A prompt
blocked before any candidate (`promptFeedback.blockReason`) ends each choice with `content_filter`.
`data: {"error": {…}}` inside the stream is raised as the mapped error. A stream that ends without
any `finishReason` was cut and is an UpstreamProtocolError.

    >>> translator = GeminiStream(req, "gemini-2.5-flash")
    >>> translator.feed(SSEEvent(data='{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"index":0}]}'))
"""

from __future__ import annotations

from typing import Any

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.common import chunk
from llmrelay.providers.gemini.errors import stream_error
from llmrelay.providers.gemini.ids import CallIds
from llmrelay.providers.gemini.response import (
    blocked,
    decode,
    finish_reason,
    parts_of,
    requested_n,
    tool_call,
    usage_of,
)
from llmrelay.providers.gemini.wire import JSONObject
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest, Usage
from llmrelay.schemas.sse import SSEEvent


class GeminiStream:
    def __init__(self, req: ChatRequest, model: str) -> None:
        self._req = req
        self._model = model
        self._model_known = False
        self._ids = CallIds(req.request_id)
        self._calls: dict[int, int] = {}
        """choice index → number of tool calls sent for it so far."""
        self._open: set[int] = set()
        self._finished: set[int] = set()
        self._usage: Usage | None = None

    @property
    def usage(self) -> Usage | None:
        return self._usage

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]:
        if not event.data.strip():
            return []
        data = decode(event.data)
        if "error" in data:
            raise stream_error(data["error"], event.data.encode())
        if not self._model_known:
            self._model = data.get("modelVersion") or self._model
            self._model_known = True
        self._usage = usage_of(data.get("usageMetadata")) or self._usage
        candidates = data.get("candidates")
        if not candidates:
            return self._blocked() if blocked(data) else []
        out: list[ChatCompletionChunk] = []
        for pos, candidate in enumerate(candidates):
            out.extend(self._candidate(candidate, pos))
        return out

    def close(self) -> list[ChatCompletionChunk]:
        if not self._finished or self._open - self._finished:
            raise UpstreamProtocolError("The Gemini stream ended before it said why it finished (no finishReason).")
        return []

    def _candidate(self, candidate: Any, pos: int) -> list[ChatCompletionChunk]:
        if not isinstance(candidate, dict):
            raise UpstreamProtocolError("Gemini sent a candidate that is not an object.")
        index = candidate.get("index")
        index = index if isinstance(index, int) else pos
        texts, calls = parts_of(candidate)
        out: list[ChatCompletionChunk] = []
        delta = self._delta(index, texts, calls)
        if delta:
            out.append(chunk(self._req, self._model, delta, index=index))
        native = candidate.get("finishReason")
        if isinstance(native, str) and native:
            if index not in self._open:
                out.append(self._role_chunk(index))
            reason = finish_reason(native, has_calls=index in self._calls)
            out.append(chunk(self._req, self._model, {}, reason, index=index))
            self._finished.add(index)
        return out

    def _delta(self, index: int, texts: list[str], calls: list[JSONObject]) -> dict[str, Any]:
        text = "".join(texts)
        if not text and not calls:
            return {}
        delta: dict[str, Any] = {} if index in self._open else {"role": "assistant"}
        self._open.add(index)
        if text:
            delta["content"] = text
        if calls:
            first = self._calls.get(index, 0)
            delta["tool_calls"] = [{"index": first + k, **tool_call(part, self._ids)} for k, part in enumerate(calls)]
            self._calls[index] = first + len(calls)
        return delta

    def _role_chunk(self, index: int) -> ChatCompletionChunk:
        self._open.add(index)
        return chunk(self._req, self._model, {"role": "assistant", "content": ""}, index=index)

    def _blocked(self) -> list[ChatCompletionChunk]:
        out: list[ChatCompletionChunk] = []
        for index in range(requested_n(self._req)):
            out.append(self._role_chunk(index))
            out.append(chunk(self._req, self._model, {}, "content_filter", index=index))
            self._finished.add(index)
        return out
