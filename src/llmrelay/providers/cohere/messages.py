"""OpenAI chat messages → Cohere Chat v2 messages (reference §4.1, cohere-python `types/chat_message_v2.py`).

    >>> cohere_messages([{"role": "developer", "content": "Be terse."}, {"role": "user", "content": "Hi"}])
    [{'role': 'system', 'content': 'Be terse.'}, {'role': 'user', 'content': 'Hi'}]

Roles map one to one (`developer` becomes `system`). An assistant turn that calls tools carries its
text as `tool_plan`, where Cohere expects the plan that precedes its calls; tool results go back as
`role: "tool"` with their `tool_call_id`. A message's `name` has no Cohere equivalent and is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.common import parse_data_url, text_of

JSONObject = dict[str, Any]

_IMAGE_DETAILS = frozenset({"auto", "low", "high"})


def cohere_messages(messages: Sequence[Mapping[str, Any]]) -> list[JSONObject]:
    return [_message(message, f"messages[{i}]") for i, message in enumerate(messages)]


def _message(message: Mapping[str, Any], where: str) -> JSONObject:
    role = message["role"]
    if role in ("system", "developer"):
        return {"role": "system", "content": text_of(message.get("content"), param=f"{where}.content")}
    if role == "user":
        return {"role": "user", "content": _user_content(message.get("content"), f"{where}.content")}
    if role == "assistant":
        return _assistant(message, where)
    if role == "tool":
        return _tool_result(message, where)
    raise UnsupportedParameterError(
        f"Messages with role '{role}' are not supported by Cohere; send tool results as role 'tool'.",
        param=f"{where}.role",
    )


def _user_content(content: object, where: str) -> str | list[JSONObject]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        raise UnsupportedParameterError("User message content must be a string or a non-empty array.", param=where)
    return [_user_part(part, f"{where}[{j}]") for j, part in enumerate(content)]


def _user_part(part: object, where: str) -> JSONObject:
    kind = part.get("type") if isinstance(part, dict) else None
    if isinstance(part, dict) and kind == "text" and isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]}
    if isinstance(part, dict) and kind == "image_url":
        return {"type": "image_url", "image_url": _image_url(part.get("image_url"), f"{where}.image_url")}
    raise UnsupportedParameterError(
        f"Content parts of type '{kind}' are not supported by Cohere (text and image_url are).", param=f"{where}.type"
    )


def _image_url(image: object, where: str) -> JSONObject:
    """Cohere takes a base64 data URI or a web URL (cohere-python `types/image_url.py`)."""
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        raise UnsupportedParameterError("Expected an object with a string 'url'.", param=where)
    if url.startswith("data:"):
        parsed = parse_data_url(url)
        if parsed is None or not parsed[0].startswith("image/"):
            raise UnsupportedParameterError(
                "Image data URLs must be base64 'data:image/…;base64,…'.", param=f"{where}.url"
            )
    elif not url.startswith(("https://", "http://")):
        raise UnsupportedParameterError("Image URLs must be http(s) URLs or base64 data URLs.", param=f"{where}.url")
    out: JSONObject = {"url": url}
    detail = image.get("detail") if isinstance(image, dict) else None
    if detail is not None:
        if detail not in _IMAGE_DETAILS:
            raise UnsupportedParameterError("Image detail must be 'auto', 'low' or 'high'.", param=f"{where}.detail")
        out["detail"] = detail
    return out


def _assistant(message: Mapping[str, Any], where: str) -> JSONObject:
    if message.get("function_call") is not None:
        raise UnsupportedParameterError(
            "Legacy 'function_call' messages are not supported; use 'tool_calls'.", param=f"{where}.function_call"
        )
    text = text_of(message.get("content"), param=f"{where}.content")
    calls = message.get("tool_calls")
    if not calls:
        return {"role": "assistant", "content": text}
    if not isinstance(calls, list):
        raise UnsupportedParameterError("'tool_calls' must be an array.", param=f"{where}.tool_calls")
    out: JSONObject = {
        "role": "assistant",
        "tool_calls": [_call(c, f"{where}.tool_calls[{j}]") for j, c in enumerate(calls)],
    }
    if text:
        out["tool_plan"] = text
    return out


def _call(call: object, where: str) -> JSONObject:
    function = call.get("function") if isinstance(call, dict) else None
    if (
        not isinstance(call, dict)
        or not isinstance(call.get("id"), str)
        or not isinstance(function, dict)
        or not isinstance(function.get("name"), str)
        or not isinstance(function.get("arguments"), str)
    ):
        raise UnsupportedParameterError(
            "A tool call needs a string 'id', 'function.name' and 'function.arguments'.", param=where
        )
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": function["name"], "arguments": function["arguments"]},
    }


def _tool_result(message: Mapping[str, Any], where: str) -> JSONObject:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise UnsupportedParameterError("A tool message needs a 'tool_call_id'.", param=f"{where}.tool_call_id")
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": text_of(message.get("content"), param=f"{where}.content"),
    }
