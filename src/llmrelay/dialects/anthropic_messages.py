"""An OpenAI `chat.completion` → an Anthropic `Message` (anthropic-sdk-python `types/message.py`,
`usage.py`, `stop_reason.py`): the reply half of Messages inbound (the request half is
`anthropic_request.py`, streams are `anthropic_stream.py`).

- `id`: `msg_` + the completion's id (its `chatcmpl-` prefix dropped); `model`: the completion's.
- `content`: one `text` block for the message's text (or its `refusal`: `stop_reason` `refusal`), then one `tool_use` block
  per tool call with `input` = the parsed `arguments` (arguments that are not a JSON object: `{}`).
- `stop_reason`: `stop` → `end_turn`, or `stop_sequence` when the upstream says which stop string it
  matched (vLLM's `choices[].stop_reason`); `length` → `max_tokens`; `tool_calls` / `function_call`
  → `tool_use`; `content_filter` → `refusal`.
- `usage`: `input_tokens` = prompt tokens less cached ones, `cache_read_input_tokens` = the cached
  tokens, `cache_creation_input_tokens` = 0 (chat upstreams report no cache writes), `output_tokens`.

    >>> to_message(completion, stop_sequences=[])["stop_reason"]
    'end_turn'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

JSON = dict[str, Any]

_STOP_REASONS: Mapping[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def message_id(completion_id: object) -> str:
    text = str(completion_id or "")
    return text if text.startswith("msg_") else f"msg_{text.removeprefix('chatcmpl-') or 'llmrelay'}"


def stop_reason(finish_reason: object, matched: object, stop_sequences: Sequence[str]) -> tuple[str, str | None]:
    """(`stop_reason`, `stop_sequence`) for a choice's `finish_reason` and, when the upstream names it,
    the stop string it matched."""
    if finish_reason == "stop" and isinstance(matched, str) and matched in stop_sequences:
        return "stop_sequence", matched
    return _STOP_REASONS.get(str(finish_reason), "end_turn"), None


def usage_of(usage: Mapping[str, Any] | None) -> JSON:
    """A chat `usage` (or None: zeros) as a Message's `usage`."""
    usage = usage or {}
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    prompt = int(usage.get("prompt_tokens") or 0)
    return {
        "input_tokens": max(prompt - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def tool_input(arguments: object) -> JSON:
    """A tool call's `arguments` string as the object a `tool_use` block holds."""
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) and arguments else {}
    except orjson.JSONDecodeError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def to_message(completion: Mapping[str, Any], *, stop_sequences: Sequence[str]) -> JSON:
    choices = completion.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[JSON] = []
    text = message.get("content") or message.get("refusal")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": str(call.get("id")),
                "name": str(function.get("name")),
                "input": tool_input(function.get("arguments")),
            }
        )
    reason, sequence = stop_reason(choice.get("finish_reason"), choice.get("stop_reason"), stop_sequences)
    if message.get("refusal") and not message.get("content") and reason == "end_turn":
        reason = "refusal"
    return {
        "id": message_id(completion.get("id")),
        "type": "message",
        "role": "assistant",
        "model": str(completion.get("model") or ""),
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_of(completion.get("usage")),
    }
