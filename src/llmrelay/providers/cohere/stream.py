"""Cohere Chat v2 SSE events → OpenAI chat chunks (reference §4.4, cohere-python `v2/types/v2chat_stream_response.py`).

    >>> stream = CohereStream(req, "command-a-03-2025")
    >>> stream.feed(SSEEvent(event="content-delta", data='{"type":"content-delta","index":0,…}'))

| Cohere event | OpenAI chunk |
|---|---|
| `message-start` | `{"role": "assistant", "content": ""}`; its `id` names every chunk (`chatcmpl-<id>`) |
| `content-delta` | `content` (text) or `reasoning_content` (a `thinking` item) |
| `tool-plan-delta` | `content`, as `response.py` does with `tool_plan` |
| `tool-call-start` | a `tool_calls` delta with `index`, `id`, `type`, `name` and the first arguments |
| `tool-call-delta` | a `tool_calls` delta with `index` and an `arguments` fragment |
| `tool-call-end` | `arguments: "{}"` if the call streamed none (Cohere sends none for an argument-less call) |
| `message-end` | the chunk with `finish_reason`; `usage` kept for the relay; `delta.error` or `ERROR`/`TIMEOUT` raise |
| `content-start` | nothing (it opens a block with empty text; text it did carry would be sent) |
| `content-end`, `citation-*`, `debug`, unknown types, `[DONE]` | nothing |

OpenAI indexes tool calls 0, 1, … in the order they start. Cohere numbers its calls from 0 in recorded
streams (vercel/ai `cohere-tool-call.chunks.txt`), but nothing documents that, so each Cohere index is
given the next OpenAI index the first time it is seen and keeps it. A stream that ends without
`message-end` raises, so a cut never looks like success.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from llmrelay.errors import UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.cohere.response import arguments, finish_reason, generation_error, load_object, usage_of
from llmrelay.providers.common import chunk
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest, FinishReason, Usage
from llmrelay.schemas.sse import SSEEvent

JSONObject = dict[str, Any]


class CohereStream:
    """The per-stream state: the message id, tool-call indexes, calls still without arguments, the usage."""

    def __init__(self, req: ChatRequest, model: str) -> None:
        self._req = req
        self._model = model
        self._id: str | None = None
        self._indexes: dict[int, int] = {}
        self._without_arguments: set[int] = set()
        self._usage: Usage | None = None
        self._ended = False

    @property
    def usage(self) -> Usage | None:
        return self._usage

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]:
        if not event.data or event.data == "[DONE]" or self._ended:
            return []
        data = load_object(event.data, "a stream event")
        kind = data.get("type") or event.event
        if not kind and "message" in data:  # an error body in place of an event
            raise UpstreamStatusError(500, str(data["message"]), raw=event.data.encode())
        delta = data.get("delta")
        handler = _HANDLERS.get(str(kind))
        return handler(self, data, delta if isinstance(delta, dict) else {}) if handler is not None else []

    def close(self) -> list[ChatCompletionChunk]:
        if not self._ended:
            raise UpstreamProtocolError("The upstream stream ended before its message-end event.")
        return []

    def _chunk(self, delta: JSONObject, finish: FinishReason | None = None) -> ChatCompletionChunk:
        return chunk(self._req, self._model, delta, finish, id=f"chatcmpl-{self._id}" if self._id else None)

    def _message_start(self, data: JSONObject, delta: JSONObject) -> list[ChatCompletionChunk]:
        if isinstance(data.get("id"), str) and data["id"]:
            self._id = data["id"]
        return [self._chunk({"role": "assistant", "content": ""})]

    def _content_delta(self, data: JSONObject, delta: JSONObject) -> list[ChatCompletionChunk]:
        content = _message(delta).get("content")
        if not isinstance(content, dict):
            return []
        if content.get("thinking"):
            return [self._chunk({"reasoning_content": str(content["thinking"])})]
        if content.get("text"):
            return [self._chunk({"content": str(content["text"])})]
        return []

    def _tool_plan_delta(self, data: JSONObject, delta: JSONObject) -> list[ChatCompletionChunk]:
        plan = _message(delta).get("tool_plan")
        return [self._chunk({"content": plan})] if isinstance(plan, str) and plan else []

    def _tool_call_start(self, data: JSONObject, delta: JSONObject) -> list[ChatCompletionChunk]:
        call = _message(delta).get("tool_calls")
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(function, dict):
            raise UpstreamProtocolError("The upstream sent a tool-call-start without a function.")
        index = self._indexes.setdefault(_index(data), len(self._indexes))
        first = function.get("arguments")
        if not first:
            self._without_arguments.add(index)
        fn = {"name": str(function.get("name") or ""), "arguments": first if isinstance(first, str) else ""}
        start = {"index": index, "id": str(call.get("id") or ""), "type": "function", "function": fn}
        return [self._chunk({"tool_calls": [start]})]

    def _tool_call_delta(self, data: JSONObject, delta: JSONObject) -> list[ChatCompletionChunk]:
        index = self._known_index(data)
        call = _message(delta).get("tool_calls")
        function = call.get("function") if isinstance(call, dict) else None
        fragment = function.get("arguments") if isinstance(function, dict) else None
        if not isinstance(fragment, str) or not fragment:
            return []
        self._without_arguments.discard(index)
        return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})]

    def _tool_call_end(self, data: JSONObject, delta: JSONObject) -> list[ChatCompletionChunk]:
        index = self._known_index(data)
        if index not in self._without_arguments:
            return []
        self._without_arguments.discard(index)
        return [self._chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments(None)}}]})]

    def _message_end(self, data: JSONObject, delta: JSONObject) -> list[ChatCompletionChunk]:
        self._ended = True
        self._usage = usage_of(delta.get("usage"))
        error = delta.get("error")
        if error:
            raise generation_error(delta.get("finish_reason"), error)
        return [self._chunk({}, finish_reason(delta.get("finish_reason"), None))]

    def _known_index(self, data: JSONObject) -> int:
        native = _index(data)
        if native not in self._indexes:
            raise UpstreamProtocolError(f"The upstream continued tool call {native} before starting it.")
        return self._indexes[native]


def _message(delta: JSONObject) -> JSONObject:
    message = delta.get("message")
    return message if isinstance(message, dict) else {}


def _index(data: JSONObject) -> int:
    index = data.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool):
        raise UpstreamProtocolError("The upstream sent a tool-call event without an integer index.")
    return index


_Handler = Callable[[CohereStream, JSONObject, JSONObject], list[ChatCompletionChunk]]
_HANDLERS: Final[Mapping[str, _Handler]] = {
    "message-start": CohereStream._message_start,
    "content-start": CohereStream._content_delta,  # opens a block with "" text; any text it carried is kept
    "content-delta": CohereStream._content_delta,
    "tool-plan-delta": CohereStream._tool_plan_delta,
    "tool-call-start": CohereStream._tool_call_start,
    "tool-call-delta": CohereStream._tool_call_delta,
    "tool-call-end": CohereStream._tool_call_end,
    "message-end": CohereStream._message_end,
}
