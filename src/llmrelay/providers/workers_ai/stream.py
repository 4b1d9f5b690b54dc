"""Workers AI SSE → OpenAI chunks, for both endpoints and every chunk shape they send.

Events, all `data:` lines (no `event:` names), ending with `data: [DONE]` (reference §5.1):

- native: `{"response": "Oslo", "p": "abcdefgh"}` (`p` is padding), then
  `{"response": "", "usage": {…}}`; tool calls stream as `{"tool_calls": [{"id", "type", "index",
  "function": {"name", "arguments": ""}}]}`, then `{"tool_calls": [{"index": 0, "function":
  {"arguments": "{\"ci"}}]}` pieces, and may end with a `{"id": null, "type": null, "function":
  {"name": null}}` entry that carries nothing; a whole `{"name", "arguments": {…}}` call may also come
  in one event; `finish_reason` may appear at the top level (cloudflare/ai workers-ai-provider
  `streaming.ts` and `test/stream-text.test.ts`);
- OpenAI-shaped (newer models on `/ai/run`, everything on `/ai/v1`): `{"choices": [{"delta": {…}}],
  "usage": {…}}` with `usage` repeated on every chunk as a running total, and ids that can change
  mid-stream; `delta.reasoning` or `delta.reasoning_content` for reasoning, `delta.content` sometimes a
  JSON number (cloudflare/ai#651).

What the client gets: one id (`chatcmpl-<request id>`), `created` and `model` on every chunk; the role
on each choice's first chunk; content and `reasoning_content` deltas; tool-call deltas whose `index`
counts the calls from 0 whatever the upstream numbered them, each opened once with its id and name;
then, at the end, one chunk per choice with `finish_reason` (synthesised as for non-stream replies:
see `response.finish_reason`). `usage` is the last one seen, never a sum. An `error`/`errors` event is
raised; a stream that ends without `[DONE]` or a finish reason is an error too (a model that cannot
stream on `/ai/run`, such as gpt-oss, answers a stream request with plain JSON: no events at all).

    >>> stream = WorkersAIStream(req, "@cf/meta/llama-3.1-8b-instruct")
    >>> stream.feed(SSEEvent('{"response":"Oslo"}'))[0]["choices"][0]["delta"]
    {'role': 'assistant', 'content': 'Oslo'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.common import chunk, completion_id
from llmrelay.providers.workers_ai.errors import failure_in, loads
from llmrelay.providers.workers_ai.response import (
    arguments_text,
    as_index,
    as_object,
    call_id,
    content_text,
    finish_reason,
    max_tokens,
    usage_of,
)
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest, Usage
from llmrelay.schemas.sse import SSEEvent

JSON = dict[str, Any]


class _Choice:
    """One choice's stream state: role sent yet, the calls opened so far, the upstream's finish reason."""

    __slots__ = ("call_ids", "finish", "slots", "started")

    def __init__(self) -> None:
        self.started = False
        self.finish: object = None
        self.call_ids: list[str] = []
        self.slots: dict[int, int] = {}
        """upstream tool-call index → our index"""


class WorkersAIStream:
    def __init__(self, req: ChatRequest, model: str) -> None:
        self._req = req
        self._model = model
        self._id = completion_id(req)
        self._choices: dict[int, _Choice] = {}
        self._usage: Usage | None = None
        self._done = False
        self._events = 0

    @property
    def usage(self) -> Usage | None:
        return self._usage

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]:
        if event.data == "[DONE]":
            self._done = True
            return []
        if not event.data.strip():
            return []
        obj = loads(event.data)
        if not isinstance(obj, dict):
            raise UpstreamProtocolError("Workers AI sent a stream event that is not a JSON object.")
        self._events += 1
        failure = failure_in(obj, event.data.encode(), 500)
        if failure is not None:
            raise failure
        self._usage = usage_of(obj.get("usage")) or self._usage
        if isinstance(obj.get("choices"), list):
            return [out for raw in obj["choices"] if isinstance(raw, dict) for out in self._openai_choice(raw)]
        return self._native(obj)

    def close(self) -> list[ChatCompletionChunk]:
        if not self._done and not any(state.finish for state in self._choices.values()):
            if self._events == 0:
                raise UpstreamProtocolError(
                    "Workers AI answered the stream request without any event. Some models (e.g. "
                    "@cf/openai/gpt-oss-*) do not stream on /ai/run; use a 'v1/' model id for the OpenAI-compatible endpoint."
                )
            raise UpstreamProtocolError("The Workers AI stream ended before it was complete.")
        out: list[ChatCompletionChunk] = []
        for index, state in sorted((self._choices or {0: _Choice()}).items()):
            if not state.started:
                out.append(self._emit(state, index, {"content": ""}))
            reason = finish_reason(
                state.finish, tool_calls=bool(state.call_ids), use=self._usage, limit=max_tokens(self._req)
            )
            out.append(chunk(self._req, self._model, {}, reason, index=index, id=self._id))
        return out

    def _native(self, obj: Mapping[str, Any]) -> list[ChatCompletionChunk]:
        state = self._choice(0)
        delta: JSON = {}
        text = content_text(obj.get("response"))
        if text:
            delta["content"] = text
        self._add_tool_calls(state, delta, obj.get("tool_calls"))
        if isinstance(obj.get("finish_reason"), str):
            state.finish = obj["finish_reason"]
        return [self._emit(state, 0, delta)] if delta else []

    def _openai_choice(self, raw: Mapping[str, Any]) -> list[ChatCompletionChunk]:
        index = as_index(raw.get("index"), 0)
        state = self._choice(index)
        source = as_object(raw.get("delta"))
        delta: JSON = {}
        reasoning = source.get("reasoning_content") or source.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            delta["reasoning_content"] = reasoning
        text = content_text(source.get("content"))
        if text:
            delta["content"] = text
        self._add_tool_calls(state, delta, source.get("tool_calls"))
        if raw.get("finish_reason"):
            state.finish = raw["finish_reason"]
        return [self._emit(state, index, delta)] if delta else []

    def _add_tool_calls(self, state: _Choice, delta: JSON, calls: object) -> None:
        if isinstance(calls, list) and calls:
            tool_deltas = self._tool_deltas(state, calls)
            if tool_deltas:
                delta["tool_calls"] = tool_deltas

    def _tool_deltas(self, state: _Choice, calls: list[Any]) -> list[JSON]:
        out: list[JSON] = []
        for call in calls:
            if not isinstance(call, dict):
                raise UpstreamProtocolError("Workers AI sent a tool call that is not an object.")
            function = as_object(call.get("function")) or call
            name, upstream_id = function.get("name"), call.get("id")
            arguments = function.get("arguments")
            pieces = arguments_text(arguments) if arguments is not None else ""
            if not name and not pieces and not upstream_id:
                continue  # the empty entry that closes a call (workers-ai-provider streaming.ts)
            key = call.get("index") if isinstance(call.get("index"), int) else None
            ours = state.slots.get(key) if key is not None else None
            if ours is None and not name and key is None and state.call_ids:
                ours = len(state.call_ids) - 1  # more arguments for the open call, sent without an index
            if ours is not None:
                if pieces:
                    out.append({"index": ours, "function": {"arguments": pieces}})
                continue
            ours = len(state.call_ids)
            if key is not None:
                state.slots[key] = ours
            made = sum(len(other.call_ids) for other in self._choices.values())  # unique across choices
            state.call_ids.append(
                upstream_id if isinstance(upstream_id, str) and upstream_id else call_id(self._req, made)
            )
            opened = {"name": name if isinstance(name, str) else "", "arguments": pieces}
            out.append({"index": ours, "id": state.call_ids[ours], "type": "function", "function": opened})
        return out

    def _choice(self, index: int) -> _Choice:
        return self._choices.setdefault(index, _Choice())

    def _emit(self, state: _Choice, index: int, delta: JSON) -> ChatCompletionChunk:
        if not state.started:
            state.started = True
            delta = {"role": "assistant", **delta}
        return chunk(self._req, self._model, delta, index=index, id=self._id)
