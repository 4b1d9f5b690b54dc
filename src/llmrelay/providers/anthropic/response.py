"""An Anthropic `Message` → an OpenAI `chat.completion` (reference §2.3; SDK `message.py`, `usage.py`).

- `text` blocks are joined into `message.content`; each `tool_use` block is a `tool_calls` entry
  (`id` kept, `arguments` = its `input` as JSON). In JSON mode the `json_tool_call` input is the
  content instead, and `finish_reason` is `stop`.
- `thinking` blocks: their text joined into `message.reasoning_content`; they and any
  `redacted_thinking` blocks are also kept whole in `message.thinking_blocks`, as LiteLLM returns them,
  so a client can echo them back in a tool loop. `citations` and server-tool blocks are not carried.
- `stop_reason`: `end_turn` / `stop_sequence` / `pause_turn` → `stop`; `max_tokens` /
  `model_context_window_exceeded` → `length`; `tool_use` → `tool_calls`; `refusal` →
  `content_filter`. A value added after `stop_reason.py` was read maps to `stop`.
- usage: `prompt_tokens` = `input_tokens` + `cache_read_input_tokens` + `cache_creation_input_tokens`
  (the SDK's "total input tokens"), `cached_tokens` = `cache_read_input_tokens`, `completion_tokens` =
  `output_tokens`, `reasoning_tokens` = `output_tokens_details.thinking_tokens` when reported.

    >>> to_completion(message, req, json_mode=False)["choices"][0]["finish_reason"]
    'stop'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from llmrelay.providers.anthropic.wire import JSON_TOOL, AnthropicUsage, Message
from llmrelay.providers.common import choice, completion, message, usage
from llmrelay.schemas.chat import ChatCompletion, ChatRequest, FinishReason, ToolCall, Usage

_FINISH: Mapping[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: object, *, json_answer: bool) -> FinishReason:
    """OpenAI's `finish_reason`; `json_answer` when the JSON tool was the only tool called."""
    if stop_reason == "tool_use" and json_answer:
        return "stop"
    return _FINISH.get(str(stop_reason), "stop")


def to_usage(raw: AnthropicUsage) -> Usage:
    cache_read = raw.get("cache_read_input_tokens") or 0
    prompt = (raw.get("input_tokens") or 0) + cache_read + (raw.get("cache_creation_input_tokens") or 0)
    details = raw.get("output_tokens_details")
    reasoning = details.get("thinking_tokens") if isinstance(details, dict) else None
    return usage(prompt, raw.get("output_tokens") or 0, cached=cache_read, reasoning=reasoning)


def tool_call(block: Mapping[str, Any]) -> ToolCall:
    arguments = orjson.dumps(block.get("input") or {}).decode()
    return {
        "id": str(block["id"]),
        "type": "function",
        "function": {"name": str(block["name"]), "arguments": arguments},
    }


def to_completion(reply: Message, req: ChatRequest, *, json_mode: bool) -> ChatCompletion:
    texts: list[str] = []
    calls: list[ToolCall] = []
    thoughts: list[str] = []
    kept: list[dict[str, Any]] = []
    json_answer: str | None = None
    for block in reply["content"]:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block["text"]))
        elif kind == "tool_use" and json_mode and block.get("name") == JSON_TOOL:
            json_answer = orjson.dumps(block.get("input") or {}).decode()
        elif kind == "tool_use":
            calls.append(tool_call(block))
        elif kind == "thinking":
            thoughts.append(str(block["thinking"]))
            kept.append({"type": "thinking", "thinking": block["thinking"], "signature": block.get("signature")})
        elif kind == "redacted_thinking":
            kept.append({"type": "redacted_thinking", "data": block.get("data")})
    content = json_answer if json_answer is not None else ("".join(texts) if texts or not calls else None)
    extra: dict[str, Any] = {}
    if thoughts:
        extra["reasoning_content"] = "".join(thoughts)
    if kept:
        extra["thinking_blocks"] = kept
    finish = finish_reason(reply.get("stop_reason"), json_answer=json_answer is not None and not calls)
    msg = message(content, calls, **extra)
    return completion(req, reply["model"], [choice(msg, finish)], to_usage(reply["usage"]), id=reply["id"])
