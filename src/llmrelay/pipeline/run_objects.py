"""New Assistants-API objects with every field OpenAI's shapes have, and the run's error and usage values.

Ids look like OpenAI's (`asst_`, `thread_`, `msg_`, `run_`, `step_` + 24 characters); times are Unix seconds.

    >>> message_values("thread_abc", "user", [text_part("Hi")])["status"]
    'completed'
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from llmrelay.errors import InvalidRequestError, RateLimitError, RelayError
from llmrelay.storage.assistants import JSONObject

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def now() -> int:
    return int(time.time())


def text_part(value: str) -> JSONObject:
    return {"type": "text", "text": {"value": value, "annotations": []}}


def message_values(
    thread_id: str,
    role: str,
    content: list[JSONObject],
    *,
    attachments: list[JSONObject] | None = None,
    metadata: dict[str, str] | None = None,
    assistant_id: str | None = None,
    run_id: str | None = None,
    status: str = "completed",
) -> JSONObject:
    created = now()
    return {
        "id": new_id("msg"),
        "created_at": created,
        "thread_id": thread_id,
        "role": role,
        "status": status,
        "content": content,
        "assistant_id": assistant_id,
        "run_id": run_id,
        "attachments": attachments or [],
        "metadata": metadata or {},
        "incomplete_details": None,
        "completed_at": created if status == "completed" else None,
        "incomplete_at": None,
    }


def step_values(run: JSONObject, details: JSONObject, after_message: int | None) -> JSONObject:
    """A new run step (`in_progress`); `details` is its `step_details`."""
    return {
        "id": new_id("step"),
        "created_at": now(),
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "assistant_id": run["assistant_id"],
        "type": details["type"],
        "status": "in_progress",
        "step_details": details,
        "last_error": None,
        "metadata": {},
        "usage": None,
        "expired_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "after_message": after_message,
    }


def run_values(thread_id: str, assistant: JSONObject, options: JSONObject) -> JSONObject:
    """A new `queued` run of `assistant`: `options` are the run's own settings (already validated),
    each replacing the assistant's."""
    instructions = options.get("instructions")
    if instructions is None:
        instructions = assistant.get("instructions") or ""
    if options.get("additional_instructions"):
        instructions = (
            f"{instructions}\n\n{options['additional_instructions']}"
            if instructions
            else options["additional_instructions"]
        )

    def pick(name: str, default: Any = None) -> Any:
        value = options.get(name)
        return value if value is not None else assistant.get(name, default)

    return {
        "id": new_id("run"),
        "created_at": now(),
        "thread_id": thread_id,
        "assistant_id": assistant["id"],
        "status": "queued",
        "model": pick("model"),
        "instructions": instructions,
        "tools": pick("tools", []) or [],
        "tool_choice": options.get("tool_choice") or "auto",
        "response_format": pick("response_format") or "auto",
        "truncation_strategy": options.get("truncation_strategy") or {"type": "auto", "last_messages": None},
        "metadata": options.get("metadata") or {},
        "temperature": pick("temperature"),
        "top_p": pick("top_p"),
        "max_prompt_tokens": options.get("max_prompt_tokens"),
        "max_completion_tokens": options.get("max_completion_tokens"),
        "parallel_tool_calls": options.get("parallel_tool_calls", True) is not False,
        "reasoning_effort": pick("reasoning_effort"),
        "required_action": None,
        "last_error": None,
        "incomplete_details": None,
        "usage": None,
        "expires_at": None,
        "started_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
    }


def last_error(error: RelayError) -> JSONObject:
    """A run's `last_error` for an upstream failure: the codes OpenAI's Run object allows."""
    status = error.status_code
    if isinstance(error, RateLimitError) or status == 429:
        code = "rate_limit_exceeded"
    elif isinstance(error, InvalidRequestError) or status in (400, 413, 422):
        code = "invalid_prompt"
    else:
        code = "server_error"
    return {"code": code, "message": error.message}


def add_usage(total: JSONObject | None, usage: JSONObject | None) -> JSONObject | None:
    """Token counts summed over a run's model calls."""
    if usage is None:
        return total
    names = ("prompt_tokens", "completion_tokens", "total_tokens")
    base = total or dict.fromkeys(names, 0)
    return {name: int(base.get(name) or 0) + int(usage.get(name) or 0) for name in names}
