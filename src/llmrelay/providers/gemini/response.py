"""Gemini `GenerateContentResponse` → OpenAI `chat.completion` (reference §3.4), and the pieces the stream shares.

- Each candidate is a choice (`index` = the candidate's `index`). Its text parts, joined, are `content`;
  parts marked `thought: true` are thinking summaries and are left out (this adapter never asks for them).
  Each `functionCall` part is a tool call, `arguments` = its `args` as JSON, id from `ids.CallIds`.
  Other parts (code execution, generated media) have no Chat Completions form and are left out.
- `finishReason` → `finish_reason`: see `finish_reason`. A prompt blocked before any candidate
  (`promptFeedback.blockReason`, HTTP 200, no `candidates`) gives `n` empty choices with `content_filter`.
- `usageMetadata` → `usage`: see `usage_of`.

    >>> finish_reason("STOP", has_calls=True)
    'tool_calls'
"""

from __future__ import annotations

from typing import Any

import orjson

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.common import choice, completion, json_reply, message, usage
from llmrelay.providers.gemini.ids import CallIds
from llmrelay.providers.gemini.wire import JSONObject
from llmrelay.schemas.chat import ChatCompletion, ChatRequest, Choice, FinishReason, ToolCall, Usage

_FILTERED = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE"}
    | {"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
)
"""google-genai `types.FinishReason` values meaning the output was stopped by a content filter."""


def finish_reason(native: str, *, has_calls: bool) -> FinishReason:
    """`MAX_TOKENS` → length; safety family → content_filter; `STOP` → stop (tool_calls if the candidate
    called a function); everything else (`OTHER`, `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL`,
    `TOO_MANY_TOOL_CALLS`, unspecified, …) → stop, with whatever content the candidate has."""
    if native == "MAX_TOKENS":
        return "length"
    if native in _FILTERED:
        return "content_filter"
    return "tool_calls" if has_calls and native == "STOP" else "stop"


def usage_of(meta: object) -> Usage | None:
    """`prompt_tokens` = promptTokenCount (+ toolUsePromptTokenCount); `completion_tokens` =
    candidatesTokenCount + thoughtsTokenCount; `total_tokens` = totalTokenCount; cached and reasoning
    details when Gemini reports cachedContentTokenCount / thoughtsTokenCount."""
    if not isinstance(meta, dict):
        return None
    prompt = _count(meta, "promptTokenCount") + _count(meta, "toolUsePromptTokenCount")
    thoughts = meta.get("thoughtsTokenCount")
    cached = meta.get("cachedContentTokenCount")
    out = usage(
        prompt,
        _count(meta, "candidatesTokenCount") + _count(meta, "thoughtsTokenCount"),
        cached=cached if isinstance(cached, int) else None,
        reasoning=thoughts if isinstance(thoughts, int) else None,
    )
    total = meta.get("totalTokenCount")
    if isinstance(total, int):
        out["total_tokens"] = total
    return out


def _count(meta: JSONObject, key: str) -> int:
    value = meta.get(key)
    return value if isinstance(value, int) else 0


def parts_of(candidate: JSONObject) -> tuple[list[str], list[JSONObject]]:
    """The answer texts and the `functionCall` parts of a candidate, in order."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts: list[str] = []
    calls: list[JSONObject] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or part.get("thought") is True:
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            calls.append(part)
    return texts, calls


def tool_call(part: JSONObject, ids: CallIds) -> ToolCall:
    call = part["functionCall"]
    name = call.get("name")
    if not isinstance(name, str):
        raise UpstreamProtocolError("Gemini sent a functionCall without a name.")
    arguments = orjson.dumps(call.get("args") or {}).decode()
    call_id = ids.next(call.get("id"), part.get("thoughtSignature"))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def requested_n(req: ChatRequest) -> int:
    n = req.body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def blocked(data: JSONObject) -> bool:
    """Whether Gemini refused the prompt itself (no candidates, `promptFeedback.blockReason` set)."""
    feedback = data.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))


def decode(body: bytes | str) -> JSONObject:
    data: JSONObject = json_reply(body, "Gemini answered")
    return data


def completion_of(data: JSONObject, req: ChatRequest, model: str) -> ChatCompletion:
    candidates = data.get("candidates")
    model = data.get("modelVersion") or model
    use = usage_of(data.get("usageMetadata"))
    if not candidates:
        if not blocked(data):
            raise UpstreamProtocolError("Gemini answered with no candidates and no block reason.")
        choices = [choice(message(None), "content_filter", i) for i in range(requested_n(req))]
        return completion(req, model, choices, use)
    ids = CallIds(req.request_id)
    return completion(req, model, [_choice(c, pos, ids) for pos, c in enumerate(candidates)], use)


def _choice(candidate: Any, pos: int, ids: CallIds) -> Choice:
    if not isinstance(candidate, dict):
        raise UpstreamProtocolError("Gemini sent a candidate that is not an object.")
    texts, calls = parts_of(candidate)
    tool_calls = [tool_call(part, ids) for part in calls]
    native = candidate.get("finishReason")
    reason = finish_reason(native if isinstance(native, str) else "STOP", has_calls=bool(tool_calls))
    index = candidate.get("index")
    return choice(
        message("".join(texts) if texts else None, tool_calls), reason, index if isinstance(index, int) else pos
    )
