"""Cohere Chat v2 reply → OpenAI `chat.completion` (reference §4.3, cohere-python `v2/types/v2chat_response.py`).

    >>> parse_chat(body, req, target)["choices"][0]["finish_reason"]
    'tool_calls'

- `message.content` text items are joined into `content`; `thinking` items become `reasoning_content`
  (the field OpenAI-compatible servers use for reasoning text).
- `tool_plan` (the text Cohere writes before its calls) leads `content`, so the client sees it and
  sends it back, where `messages.py` turns it into `tool_plan` again.
- `citations` have no OpenAI field and are dropped.
- `finish_reason`: `COMPLETE`/`STOP_SEQUENCE` → `stop`, `MAX_TOKENS` → `length`, `TOOL_CALL` →
  `tool_calls`; `ERROR` and `TIMEOUT` raise (500 / 504) with Cohere's message.
- usage: `usage.tokens` (what the model really processed, Cohere's prompt template included) is
  reported, falling back to `usage.billed_units` field by field; `usage.cached_tokens` becomes
  `prompt_tokens_details.cached_tokens`. `billed_units` is what Cohere charges (smaller).
"""

from __future__ import annotations

from typing import Any

import orjson

from llmrelay.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.base import Target
from llmrelay.providers.common import choice, completion, message, usage
from llmrelay.schemas.chat import ChatCompletion, ChatRequest, FinishReason, ToolCall, Usage

_FINISH: dict[str, FinishReason] = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}
_FAILED = {"ERROR": 500, "TIMEOUT": 504}


def parse_chat(body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
    reply = load_object(body, "a chat reply")
    native = reply.get("message")
    if not isinstance(native, dict):
        raise UpstreamProtocolError("The upstream answered with JSON that is not a Cohere chat reply.")
    reason = finish_reason(reply.get("finish_reason"), None)
    text, thinking = _content(native.get("content"))
    calls = [_tool_call(call) for call in native.get("tool_calls") or []]
    plan = native.get("tool_plan") if calls else None
    content = (plan or "") + text if calls else text
    extra = {"reasoning_content": thinking} if thinking else {}
    msg = message(content or (None if calls else ""), calls or None, **extra)
    reply_id = reply.get("id")
    return completion(
        req,
        target.model,
        [choice(msg, reason)],
        usage_of(reply.get("usage")),
        id=f"chatcmpl-{reply_id}" if isinstance(reply_id, str) and reply_id else None,
    )


def load_object(body: bytes | str, what: str) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(f"The upstream sent {what} that is not JSON.") from None
    if not isinstance(parsed, dict):
        raise UpstreamProtocolError(f"The upstream sent {what} that is not a JSON object.")
    return parsed


def finish_reason(native: object, error: object) -> FinishReason:
    """OpenAI's finish_reason for Cohere's, or the error Cohere reported instead of finishing."""
    if isinstance(native, str) and native in _FINISH and not error:
        return _FINISH[native]
    raise generation_error(native, error)


def generation_error(native: object, error: object) -> UpstreamError:
    status = _FAILED.get(native, 500) if isinstance(native, str) else 500
    if isinstance(error, str) and error:
        text = error
    elif native in _FAILED:
        text = f"The upstream stopped the generation with finish_reason {native}."
    else:
        return UpstreamProtocolError(f"The upstream sent an unknown finish_reason: {native!r}.")
    return UpstreamStatusError(status, text, error_type="timeout" if status == 504 else None)


def usage_of(native: object) -> Usage | None:
    if not isinstance(native, dict):
        return None
    tokens, billed = native.get("tokens"), native.get("billed_units")
    prompt = _count(tokens, billed, "input_tokens")
    output = _count(tokens, billed, "output_tokens")
    if prompt is None and output is None:
        return None
    cached = native.get("cached_tokens")
    return usage(prompt or 0, output or 0, cached=int(cached) if isinstance(cached, int | float) else None)


def _count(tokens: object, billed: object, key: str) -> int | None:
    for source in (tokens, billed):
        value = source.get(key) if isinstance(source, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)  # the SDK types these as float; the API sends whole numbers
    return None


def _content(items: object) -> tuple[str, str]:
    text: list[str] = []
    thinking: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "text":
            text.append(str(item.get("text") or ""))
        elif item.get("type") == "thinking":
            thinking.append(str(item.get("thinking") or ""))
    return "".join(text), "".join(thinking)


def _tool_call(call: object) -> ToolCall:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(call, dict) or not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise UpstreamProtocolError("The upstream sent a tool call without a function name.")
    return {
        "id": str(call.get("id") or ""),
        "type": "function",
        "function": {"name": function["name"], "arguments": arguments(function.get("arguments"))},
    }


def arguments(native: object) -> str:
    """A call's JSON arguments; Cohere sends "" (or nothing) for a call without arguments
    (vercel/ai `packages/cohere/src/__fixtures__/cohere-empty-tool-call.chunks.txt`), which no client can parse."""
    return native if isinstance(native, str) and native else "{}"
