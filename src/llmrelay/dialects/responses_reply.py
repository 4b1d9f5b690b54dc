"""A chat completion → a Response object (openai-python `types/responses/response.py`): the reply half
of the Responses translation (the request half is `responses.py`, streams `responses_stream.py`).

- `id`: `resp_…`; items `msg_…` / `fc_…` (`ItemIds`); `created_at` the request's time, `completed_at`
  the answer's (both given by the caller: this module has no clock).
- The request's settings are echoed as OpenAI does (`instructions`, `tools`, `tool_choice`, `text`,
  `temperature`, `top_p`, `max_output_tokens`, `metadata`, `previous_response_id`, `store`, `user`...),
  with OpenAI's defaults for those left out; required-but-nullable fields are present as `null`;
  `usage` (not nullable in OpenAI's schema) is there once the response is finished.
- `output`: one assistant `message` with an `output_text` part (and a `refusal` part when the model
  refused), then one `function_call` item per tool call (`call_id` = the chat tool call's id).
- `finish_reason` `length` → `status: incomplete`, `incomplete_details.reason: max_output_tokens`;
  `content_filter` → `incomplete` with reason `content_filter`; anything else → `completed`.
- `usage`: `input_tokens` / `output_tokens` / `total_tokens` from the chat usage, with
  `input_tokens_details.cached_tokens` and `output_tokens_details.reasoning_tokens`.

    >>> shell = response_shell(req, ItemIds("ab").response, created_at=1733011200, model="m")
    >>> from_completion(shell, completion, ItemIds("ab"), completed_at=1733011201)["status"]
    'completed'
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay.dialects.responses import JSON, ItemIds, ResponsesRequest
from llmrelay.schemas.chat import Usage
from llmrelay.schemas.stream import named_event

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
_ECHOED_OR_NULL = ("max_output_tokens", "max_tool_calls", "previous_response_id", "safety_identifier")


def response_shell(req: ResponsesRequest, response_id: str, created_at: int, model: str) -> JSON:
    """The Response as it stands before any output: `status: in_progress`, the request's settings echoed."""
    body = req.body
    text = _object(body.get("text"))
    reasoning = _object(body.get("reasoning"))
    shell: JSON = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "model": model,
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "service_tier": "default",
        "store": req.store,
        "temperature": _number(body.get("temperature"), 1.0),
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity") or "medium"},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": [_echo_tool(tool) for tool in body.get("tools") or ()],
        "top_logprobs": body.get("top_logprobs") or 0,
        "top_p": _number(body.get("top_p"), 1.0),
        "truncation": body.get("truncation") or "disabled",
    }
    for name in _ECHOED_OR_NULL:
        shell[name] = body.get(name)
    if isinstance(body.get("user"), str):  # a string or absent: the schema has no null for it
        shell["user"] = body["user"]
    return shell


def _echo_tool(tool: Mapping[str, Any]) -> JSON:
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict"),
    }


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def from_completion(shell: Mapping[str, Any], completion: Mapping[str, Any], ids: ItemIds, completed_at: int) -> JSON:
    """The finished Response for a `chat.completion` (its first choice) answering the shell's request."""
    choices = completion.get("choices") or [{}]
    choice = _object(choices[0])
    message = _object(choice.get("message"))
    finish = choice.get("finish_reason")
    status = "incomplete" if finish in _INCOMPLETE else "completed"
    output: list[JSON] = []
    parts: list[JSON] = []
    content = message.get("content")
    if isinstance(content, str) and content:
        parts.append(output_text(content))
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    calls = [c for c in message.get("tool_calls") or () if isinstance(c, dict)]
    if parts or not calls:
        output.append(message_item(ids.next("msg"), parts or [output_text("")], status))
    for call in calls:
        function = call.get("function") or {}
        output.append(
            function_call_item(
                ids.next("fc"), str(call.get("id") or ids.next("call")), str(function.get("name") or ""),
                str(function.get("arguments") or ""), "completed",
            )
        )  # fmt: skip
    return finished(shell, output, finish, completion.get("usage"), completed_at)


def finished(
    shell: Mapping[str, Any], output: Sequence[JSON], finish: object, usage: Mapping[str, Any] | None, completed_at: int
) -> JSON:
    """The shell with its output, final status and usage (`finish`: the chat `finish_reason`)."""
    response = copy.deepcopy(dict(shell))
    reason = _INCOMPLETE.get(str(finish))
    response["status"] = "incomplete" if reason else "completed"
    response["incomplete_details"] = {"reason": reason} if reason else None
    response["completed_at"] = None if reason else completed_at
    response["output"] = list(output)
    response["usage"] = response_usage(usage)
    return response


def failed(shell: Mapping[str, Any], output: Sequence[JSON], error: Mapping[str, Any]) -> JSON:
    """The shell as a failed Response: `error` is an OpenAI error object (`message`, `type`, `code`)."""
    response = copy.deepcopy(dict(shell))
    rate_limited = "rate_limit" in str(error.get("type")) or error.get("code") == "rate_limit_exceeded"
    response["status"] = "failed"
    response["output"] = list(output)
    response["error"] = {
        "code": "rate_limit_exceeded" if rate_limited else "server_error",
        "message": str(error.get("message") or "The upstream failed."),
    }
    return response


def output_text(text: str) -> JSON:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def message_item(item_id: str, content: list[JSON], status: str) -> JSON:
    return {"id": item_id, "type": "message", "status": status, "content": content, "role": "assistant"}


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> JSON:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def response_usage(usage: Mapping[str, Any] | None) -> JSON:
    """A chat `usage` (None: zeros) as a Response's `usage`."""
    usage = usage or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": int(prompt_details.get("cached_tokens") or 0),
            "cache_write_tokens": 0,
        },
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": int(completion_details.get("reasoning_tokens") or 0)},
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }


def chat_usage(usage: object) -> Usage | None:
    """A Response's `usage` as the chat usage the gateway accounts with; None when there is none."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    out: Usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
    }
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens")
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens")
    if cached:
        out["prompt_tokens_details"] = {"cached_tokens": int(cached)}
    if reasoning:
        out["completion_tokens_details"] = {"reasoning_tokens": int(reasoning)}
    return out


def encode_event(event: Mapping[str, Any]) -> bytes:
    """One stream event in OpenAI's framing: an `event:` line naming its type, then its `data:`."""
    return named_event(str(event["type"]), event)
