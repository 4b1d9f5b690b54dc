"""Anthropic stream events → OpenAI chunks, for one stream (reference §2.4; SDK `raw_*_event.py`).

| Anthropic event | chunks |
|---|---|
| `message_start` | `delta: {role: assistant, content: ""}`; its `id`, `model` and input usage are kept |
| `content_block_start` text / thinking | their initial text, if any |
| `content_block_start` tool_use | `tool_calls: [{index, id, type, function: {name, arguments: ""}}]` |
| `content_block_delta` text_delta / thinking_delta | `content` / `reasoning_content` |
| `content_block_delta` input_json_delta | `tool_calls: [{index, function: {arguments}}]`; in JSON mode, the `json_tool_call` input as `content` |
| `content_block_stop` of a thinking block | `thinking_blocks: [{type, thinking, signature}]` (whole, LiteLLM's field) |
| `message_delta` | `delta: {}` with the mapped `finish_reason`; its cumulative usage is kept |
| `message_stop`, `ping`, `signature_delta`, `citations_delta`, unknown events | nothing |
| `error` | raises the mapped UpstreamStatusError |

`index` counts tool calls only: Anthropic's block `index` counts every block, so a text block at 0
would shift them. Every tool_use block opens with an empty `partial_json` (bifrost
`streamdecode_fixtures_test.go`); empty argument pieces are not sent. A stream that ends without
`message_stop` raises, so the client sees an error event instead of a silently short answer.

    >>> translator = AnthropicStream(req, json_mode=False)
    >>> [chunk for event in events for chunk in translator.feed(event)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import orjson

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.anthropic.errors import stream_error
from llmrelay.providers.anthropic.response import finish_reason, to_usage
from llmrelay.providers.anthropic.wire import JSON_TOOL, AnthropicUsage
from llmrelay.providers.common import chunk, completion_id
from llmrelay.schemas.chat import ChatCompletionChunk, ChatRequest, FinishReason, Usage
from llmrelay.schemas.sse import SSEEvent

Event = dict[str, Any]


class AnthropicStream:
    """The StreamTranslator for one Anthropic stream."""

    def __init__(self, req: ChatRequest, *, json_mode: bool) -> None:
        self._req = req
        self._json_mode = json_mode
        self._id = completion_id(req)
        self._model = req.model
        self._tool_index: dict[int, int] = {}
        """Anthropic block index → OpenAI tool call index, for client tool_use blocks."""
        self._json_blocks: set[int] = set()
        self._thinking: dict[int, dict[str, Any]] = {}
        """Thinking blocks being streamed, by block index: sent whole in `thinking_blocks` at their stop."""
        self._usage: AnthropicUsage | None = None
        self._stopped = False
        self._handlers: Mapping[str, Callable[[Event], list[ChatCompletionChunk]]] = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "content_block_stop": self._block_stop,
            "message_delta": self._message_delta,
            "message_stop": self._message_stop,
            "error": self._error,
        }

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]:
        if not event.data:
            return []
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("The upstream sent a stream event that is not JSON.") from None
        if not isinstance(data, dict):
            raise UpstreamProtocolError("The upstream sent a stream event that is not a JSON object.")
        handler = self._handlers.get(str(data.get("type") or event.event))
        if handler is None:  # ping, and event types added later (the API's versioning policy allows them)
            return []
        try:
            return handler(data)
        except (KeyError, TypeError, AttributeError):
            raise UpstreamProtocolError(f"The upstream sent a malformed '{data.get('type')}' event.") from None

    def close(self) -> list[ChatCompletionChunk]:
        if not self._stopped:
            raise UpstreamProtocolError("The upstream stream ended before its message_stop event.")
        return []

    @property
    def usage(self) -> Usage | None:
        return to_usage(self._usage) if self._usage is not None else None

    def _chunk(self, delta: dict[str, Any], finish: FinishReason | None = None) -> list[ChatCompletionChunk]:
        return [chunk(self._req, self._model, delta, finish, id=self._id)]

    def _message_start(self, data: Event) -> list[ChatCompletionChunk]:
        message = data["message"]
        self._id = str(message.get("id") or self._id)
        self._model = str(message.get("model") or self._model)
        self._usage = cast(AnthropicUsage, dict(message.get("usage") or {}))
        return self._chunk({"role": "assistant", "content": ""})

    def _block_start(self, data: Event) -> list[ChatCompletionChunk]:
        index, block = data["index"], data["content_block"]
        kind = block["type"]
        if kind == "text" and block.get("text"):
            return self._chunk({"content": block["text"]})
        if kind == "thinking" or kind == "redacted_thinking":
            self._thinking[index] = dict(block)
            return self._chunk({"reasoning_content": block["thinking"]}) if block.get("thinking") else []
        if kind != "tool_use":
            return []
        if self._json_mode and block["name"] == JSON_TOOL:
            self._json_blocks.add(index)
            return []
        position = self._tool_index[index] = len(self._tool_index)
        function = {"name": block["name"], "arguments": ""}
        return self._chunk(
            {"tool_calls": [{"index": position, "id": block["id"], "type": "function", "function": function}]}
        )

    def _block_delta(self, data: Event) -> list[ChatCompletionChunk]:
        index, delta = data["index"], data["delta"]
        kind = delta["type"]
        if kind == "text_delta":
            return self._chunk({"content": delta["text"]})
        if kind == "thinking_delta":
            self._thinking[index]["thinking"] = self._thinking[index].get("thinking", "") + delta["thinking"]
            return self._chunk({"reasoning_content": delta["thinking"]})
        if kind == "signature_delta":
            self._thinking[index]["signature"] = delta["signature"]
            return []
        if kind != "input_json_delta" or not delta["partial_json"]:
            return []
        if index in self._json_blocks:
            return self._chunk({"content": delta["partial_json"]})
        if index not in self._tool_index:
            return []
        call = {"index": self._tool_index[index], "function": {"arguments": delta["partial_json"]}}
        return self._chunk({"tool_calls": [call]})

    def _block_stop(self, data: Event) -> list[ChatCompletionChunk]:
        block = self._thinking.pop(data["index"], None)
        return self._chunk({"thinking_blocks": [block]}) if block is not None else []

    def _message_delta(self, data: Event) -> list[ChatCompletionChunk]:
        # `message_delta.usage` is cumulative, and may repeat the input counts (message_delta_usage.py).
        later = {key: value for key, value in (data.get("usage") or {}).items() if value is not None}
        self._usage = cast(AnthropicUsage, {**(self._usage or {}), **later})
        json_answer = bool(self._json_blocks) and not self._tool_index
        stop_reason = data["delta"].get("stop_reason")
        return self._chunk({}, finish_reason(stop_reason, json_answer=json_answer))

    def _message_stop(self, data: Event) -> list[ChatCompletionChunk]:
        self._stopped = True
        return []

    def _error(self, data: Event) -> list[ChatCompletionChunk]:
        raise stream_error(data)
