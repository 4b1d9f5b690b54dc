"""A Workers AI reply → an OpenAI `chat.completion`, whichever of its shapes `result` has.

- Native (reference §5.1; cloudflare-python `types/ai/ai_run_response.py`):
  `{"response": "…", "tool_calls": [{"name", "arguments"}], "usage": {…}}`. `response` is a string, null
  with tool calls, or, in JSON mode, the JSON value itself (developers.cloudflare.com/workers-ai/
  features/json-mode: `{"response": {"name": "India", …}}`), which is serialised back to a string.
  Tool-call `arguments` come as an object or a string, with no id: ids are made from the request id.
  There is no finish reason, so one is synthesised (`finish_reason` below).
- OpenAI-shaped (newer models on `/ai/run`, and everything on `/ai/v1/chat/completions`):
  `{"choices": [{"message": {…}, "finish_reason": …}], "usage": {…}}`. Normalised: `refusal` and
  `logprobs` present, `content` a string (the compat endpoint has been seen sending numbers:
  cloudflare/ai#651), `reasoning` renamed `reasoning_content`, `usage` reduced to OpenAI's fields
  (`neurons` dropped).

    >>> completion_from(unwrap(loads(body), body), req, "@cf/meta/llama-3.1-8b-instruct")["choices"][0]["finish_reason"]
    'stop'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import orjson

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.common import choice, completion, message, usage
from llmrelay.schemas.chat import ChatCompletion, ChatRequest, Choice, FinishReason, ToolCall, Usage

_FINISH: Mapping[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "length": "length",
    "model_length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def completion_from(result: Mapping[str, Any], req: ChatRequest, model: str) -> ChatCompletion:
    if isinstance(result.get("choices"), list):
        return _from_openai(result, req, model)
    if "response" in result or "tool_calls" in result:
        return _from_native(result, req, model)
    raise UpstreamProtocolError("Workers AI answered with a result that is neither a text generation nor a completion.")


def _from_native(result: Mapping[str, Any], req: ChatRequest, model: str) -> ChatCompletion:
    calls = [tool_call(raw, call_id(req, i)) for i, raw in enumerate(_list(result.get("tool_calls")))]
    text = content_text(result.get("response"))
    use = usage_of(result.get("usage"))
    finish = finish_reason(result.get("finish_reason"), tool_calls=bool(calls), use=use, limit=max_tokens(req))
    return completion(req, model, [choice(message(text if text or not calls else None, calls), finish)], use)


def _from_openai(result: Mapping[str, Any], req: ChatRequest, model: str) -> ChatCompletion:
    use = usage_of(result.get("usage"))
    choices: list[Choice] = []
    made = 0  # tool-call ids made so far, so that they stay unique across choices
    for position, raw in enumerate(_list(result.get("choices"))):
        if not isinstance(raw, dict):
            raise UpstreamProtocolError("Workers AI answered with a choice that is not an object.")
        msg = as_object(raw.get("message"))
        calls = [tool_call(c, call_id(req, made + i)) for i, c in enumerate(_list(msg.get("tool_calls")))]
        made += len(calls)
        extra = {}
        reasoning = msg.get("reasoning_content") or msg.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            extra["reasoning_content"] = reasoning
        finish = finish_reason(raw.get("finish_reason"), tool_calls=bool(calls), use=use, limit=max_tokens(req))
        one = choice(
            message(content_text(msg.get("content")), calls, **extra),
            finish,
            index=as_index(raw.get("index"), position),
        )
        if isinstance(raw.get("logprobs"), dict):
            one["logprobs"] = raw["logprobs"]
        choices.append(one)
    upstream_id = result.get("id")
    return completion(req, model, choices, use, id=upstream_id if isinstance(upstream_id, str) else None)


def content_text(value: object) -> str | None:
    """Text as OpenAI sends it: a string stays; JSON mode's object (or a stray number) is serialised."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def tool_call(raw: object, fallback_id: str) -> ToolCall:
    """A native `{name, arguments}` or OpenAI `{id, type, function}` call → OpenAI's shape."""
    if not isinstance(raw, dict):
        raise UpstreamProtocolError("Workers AI answered with a tool call that is not an object.")
    function = raw.get("function")
    source = function if isinstance(function, dict) else raw
    name = source.get("name")
    if not isinstance(name, str) or not name:
        raise UpstreamProtocolError("Workers AI answered with a tool call without a function name.")
    upstream_id = raw.get("id")
    return {
        "id": upstream_id if isinstance(upstream_id, str) and upstream_id else fallback_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments_text(source.get("arguments"))},
    }


def arguments_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value if value is not None else {}).decode()


def call_id(req: ChatRequest, index: int) -> str:
    """An id for a tool call the upstream gave none: unique per request (the gateway's request id)."""
    return f"call_{req.request_id or 'llmrelay'}_{index}"


def usage_of(raw: object) -> Usage | None:
    """OpenAI's usage from Workers AI's (counts may be floats; `neurons` and other extras are dropped)."""
    if not isinstance(raw, dict):
        return None
    prompt, completion_tokens = _count(raw.get("prompt_tokens")), _count(raw.get("completion_tokens"))
    if prompt is None and completion_tokens is None:
        return None
    prompt_details = raw.get("prompt_tokens_details")
    completion_details = raw.get("completion_tokens_details")
    return usage(
        prompt or 0,
        completion_tokens or 0,
        cached=_count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, dict) else None,
        reasoning=_count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else None,
    )


def finish_reason(raw: object, *, tool_calls: bool, use: Usage | None, limit: int | None) -> FinishReason:
    """The upstream's reason when it gives a known one; otherwise synthesised.

    Native replies carry none (reference §5.1), so: `tool_calls` when the reply has tool calls;
    `length` when the client set a token limit and `completion_tokens` reached it (the only truncation
    signal there is; without a client limit the model's own default, often 256, is unknown here);
    `stop` otherwise. A `stop` beside tool calls becomes `tool_calls`: the compat endpoint reported
    `stop` for tool calls until Feb 2026 (Workers AI release notes, 2026-02-17).
    """
    mapped = _FINISH.get(raw) if isinstance(raw, str) else None
    if mapped is not None and not (mapped == "stop" and tool_calls):
        return mapped
    if tool_calls:
        return "tool_calls"
    if limit is not None and use is not None and use["completion_tokens"] >= limit:
        return "length"
    return "stop"


def max_tokens(req: ChatRequest) -> int | None:
    body = cast(Mapping[str, Any], req.body)
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def as_object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_index(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
