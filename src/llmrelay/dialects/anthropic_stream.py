"""OpenAI chat chunks → Anthropic Messages stream events, for one stream (anthropic-sdk-python
`types/raw_message_stream_event.py` and the `raw_*_event.py` it unions; reference §2.4).

| chat chunks | events |
|---|---|
| the first chunk | `message_start` (id `msg_…`, model, empty content, `usage.input_tokens` = the offline count of the prompt) |
| `delta.content` (or `refusal`) | a `text` block: `content_block_start`, then a `text_delta` per piece |
| `delta.tool_calls` entry with a new `index` | a `tool_use` block (`id`, `name`, `input: {}`), then an `input_json_delta` (`partial_json`) per argument piece |
| the first block opened | a `ping` right after its start, as the API sends one |
| a new block, or the end | `content_block_stop` for the block that was open |
| `finish_reason` | kept for `message_delta` (see `anthropic_messages.stop_reason`) |
| the end (`close`) | `message_delta` (`stop_reason`, `stop_sequence`, `usage`: the real counts from the final usage chunk), `message_stop` |
| an error frame | `event: error` (`anthropic_errors.error_event`); the stream ends there |

Blocks open one at a time, in order, as the API streams them; a block's `index` counts every block.
An upstream that interleaves the argument pieces of parallel tool calls (OpenAI itself sends one
call after the other) gets a piece for an already closed call sent under that call's block index:
the SDK accumulates deltas by index, so nothing is lost.

    >>> stream = MessagesStream(input_tokens=12, stop_sequences=[])
    >>> frames = [f for chunk in chunks for f in stream.feed(chunk)] + stream.close(usage)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay.dialects.anthropic_errors import error_event, event
from llmrelay.dialects.anthropic_messages import message_id, stop_reason, usage_of

JSON = dict[str, Any]


class MessagesStream:
    """Feed it every chat chunk (parsed), then `close()` once the chunks end; each call returns frames."""

    def __init__(self, *, input_tokens: int, stop_sequences: Sequence[str], model: str = "") -> None:
        self._input_tokens = input_tokens
        self._stops = list(stop_sequences)
        self._model = model
        self._started = False
        self._next_index = 0
        self._open: int | None = None
        """The block index of the block being streamed, if any."""
        self._text_open = False
        self._tools: dict[int, int] = {}
        """Chat tool-call index → the block index of its `tool_use` block."""
        self._message_id = ""
        self._finish: object = None
        self._matched: object = None
        self._refused = False
        self._usage: Mapping[str, Any] | None = None

    def feed(self, chunk: Mapping[str, Any]) -> list[bytes]:
        out = self._start(chunk) if not self._started else []
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        choices = chunk.get("choices") or ()
        for choice in choices[:1]:  # Messages has one reply; llmrelay never asks chat for more
            delta = choice.get("delta") or {}
            out += self._text(delta)
            for call in delta.get("tool_calls") or ():
                out += self._tool(call)
            if choice.get("finish_reason") is not None:
                self._finish, self._matched = choice["finish_reason"], choice.get("stop_reason")
        return out

    def error(self, error: Mapping[str, Any]) -> list[bytes]:
        """The frames for an OpenAI error frame's `error` object; nothing may follow them."""
        return [error_event(error)]

    def close(self, usage: Mapping[str, Any] | None = None) -> list[bytes]:
        """The closing events; `usage` (the relay's count) stands in when no chunk carried usage."""
        out = self._start({}) if not self._started else []
        out += self._stop_open()
        reason, sequence = stop_reason(self._finish, self._matched, self._stops)
        if self._refused and self._finish in (None, "stop"):
            reason = "refusal"
        final = usage_of(self._usage or usage)
        if not (self._usage or usage):
            final["input_tokens"] = self._input_tokens
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        out.append(event("message_delta", {"type": "message_delta", "delta": delta, "usage": final}))
        out.append(event("message_stop", {"type": "message_stop"}))
        return out

    def _start(self, chunk: Mapping[str, Any]) -> list[bytes]:
        self._started = True
        self._message_id = message_id(chunk.get("id"))
        self._model = str(chunk.get("model") or self._model)
        message: JSON = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self._input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 0,
            },
        }
        return [event("message_start", {"type": "message_start", "message": message})]

    def _text(self, delta: Mapping[str, Any]) -> list[bytes]:
        text = delta.get("content")
        if not isinstance(text, str) or not text:
            text = delta.get("refusal")
            if not isinstance(text, str) or not text:
                return []
            self._refused = True
        out = [] if self._text_open else self._open_block({"type": "text", "text": ""}, text=True)
        payload = {"type": "content_block_delta", "index": self._open, "delta": {"type": "text_delta", "text": text}}
        out.append(event("content_block_delta", payload))
        return out

    def _tool(self, call: Mapping[str, Any]) -> list[bytes]:
        position = call.get("index", 0)
        function = call.get("function") or {}
        out: list[bytes] = []
        if position not in self._tools:
            call_id = call.get("id") or f"toolu_{self._message_id.removeprefix('msg_')}_{position}"
            block = {"type": "tool_use", "id": str(call_id), "name": str(function.get("name") or ""), "input": {}}
            out = self._open_block(block, text=False)
            self._tools[position] = self._next_index - 1
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            payload = {"type": "content_block_delta", "index": self._tools[position], "delta": delta}
            out.append(event("content_block_delta", payload))
        return out

    def _open_block(self, block: JSON, *, text: bool) -> list[bytes]:
        out = self._stop_open()
        index = self._open = self._next_index
        self._next_index += 1
        self._text_open = text
        out.append(
            event("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})
        )
        if index == 0:
            out.append(event("ping", {"type": "ping"}))
        return out

    def _stop_open(self) -> list[bytes]:
        if self._open is None:
            return []
        index, self._open, self._text_open = self._open, None, False
        return [event("content_block_stop", {"type": "content_block_stop", "index": index})]
