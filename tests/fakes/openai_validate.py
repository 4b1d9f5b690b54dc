"""Validate a Chat Completions request the way api.openai.com does, returning OpenAI's error.

    error = validate_chat(body, models=frozenset({"gpt-4o-mini"}), extra_fields=frozenset())
    if error is not None:
        await send_json(send, error.status, error.envelope(), {})

Messages follow the wording observed from the real API (reference §1.1/§1.4); checks a relay could
trip over are covered, not the whole JSON schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

# Every top-level Chat Completions parameter OpenAI accepts (reference §1.1); anything else is a 400.
CHAT_PARAMS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "n",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "user",
        "metadata",
        "store",
        "service_tier",
        "reasoning_effort",
        "modalities",
        "audio",
        "prediction",
        "web_search_options",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "functions",
        "function_call",
        "verbosity",
        "prompt_cache_key",
        "safety_identifier",
    }
)
ROLES = ("system", "assistant", "user", "function", "tool", "developer")
_NEEDS_CONTENT = frozenset({"system", "developer", "user", "tool", "function"})


@dataclass(frozen=True)
class ApiError:
    """One OpenAI error: HTTP status plus the four fields of the ``{"error": …}`` envelope."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None

    def envelope(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def mask_key(key: str) -> str:
    """Show a key the way OpenAI does in its 401 message: a short prefix, stars, the last four."""
    if len(key) < 12:
        return "*" * len(key)
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"


def check_auth(headers: Mapping[str, str], api_key: str) -> ApiError | None:
    """401 unless ``Authorization: Bearer <api_key>``."""
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code="invalid_api_key",
        )
    if given.strip() != api_key:
        return ApiError(
            401,
            f"Incorrect API key provided: {mask_key(given.strip())}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )
    return None


def parse_json_body(headers: Mapping[str, str], body: bytes) -> tuple[Any, ApiError | None]:
    """The decoded JSON object, or the 400 OpenAI gives for a wrong content type or a non-object."""
    content_type = headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return None, _bad(f"Invalid Content-Type header ({content_type or 'none'}), expected application/json.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, _bad(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON.)"
        )
    if not isinstance(payload, dict):
        return payload, _bad(f"Invalid type for request body: expected an object, but got {_kind(payload)} instead.")
    return payload, None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer"}
    return names.get(type(value), "a number" if isinstance(value, float) else "null")


def validate_chat(body: dict[str, Any], models: frozenset[str], extra_fields: frozenset[str]) -> ApiError | None:
    """The first problem OpenAI would report for this request body, or ``None``."""
    unknown = [key for key in body if key not in CHAT_PARAMS and key not in extra_fields]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        return _bad(f"Unrecognized request argument{plural} supplied: {', '.join(unknown)}")
    if "model" not in body:
        return _bad("you must provide a model parameter", param="model")
    if not isinstance(body["model"], str):
        return _bad(
            f"Invalid type for 'model': expected a string, but got {_kind(body['model'])} instead.",
            param="model",
            code="invalid_type",
        )
    error = _check_messages(body.get("messages")) or _check_options(body) or _check_tools(body)
    if error is not None:
        return error
    if body["model"] not in models:
        return ApiError(
            404,
            f"The model `{body['model']}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return None


def _check_messages(messages: object) -> ApiError | None:
    if messages is None:
        return _bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list):
        return _bad(
            f"Invalid type for 'messages': expected an array of objects, but got {_kind(messages)} instead.",
            "messages",
            "invalid_type",
        )
    if not messages:
        return _bad(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            "messages",
            "empty_array",
        )
    for index, message in enumerate(messages):
        error = _check_message(index, message)
        if error is not None:
            return error
    return _check_tool_pairing(messages)


def _check_message(index: int, message: object) -> ApiError | None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        return _bad(
            f"Invalid type for '{where}': expected an object, but got {_kind(message)} instead.", where, "invalid_type"
        )
    role = message.get("role")
    if role is None:
        return _bad(f"Missing required parameter: '{where}.role'.", f"{where}.role", "missing_required_parameter")
    if role not in ROLES:
        supported = ", ".join(f"'{r}'" for r in ROLES[:-1]) + f", and '{ROLES[-1]}'"
        return _bad(f"Invalid value: '{role}'. Supported values are: {supported}.", f"{where}.role", "invalid_value")
    if role in _NEEDS_CONTENT and "content" not in message:
        return _bad(f"Missing required parameter: '{where}.content'.", f"{where}.content", "missing_required_parameter")
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        return _bad(
            f"Missing required parameter: '{where}.tool_call_id'.",
            f"{where}.tool_call_id",
            "missing_required_parameter",
        )
    return None


def _check_tool_pairing(messages: list[dict[str, Any]]) -> ApiError | None:
    """Every ``tool`` message answers an open call; every assistant call is answered before moving on."""
    open_calls: dict[str, int] = {}
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            if open_calls.pop(message["tool_call_id"], None) is None:
                return _bad(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'.",
                    f"messages.[{index}].role",
                )
            continue
        if open_calls:
            return _unanswered(open_calls)
        if role == "assistant":
            calls = message.get("tool_calls") or []
            open_calls = {call.get("id", ""): index for call in calls if isinstance(call, dict)}
    return _unanswered(open_calls) if open_calls else None


def _unanswered(open_calls: dict[str, int]) -> ApiError:
    ids = ", ".join(open_calls)
    return _bad(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {ids}",
        f"messages.[{min(open_calls.values())}].role",
    )


def _check_options(body: dict[str, Any]) -> ApiError | None:
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        return _bad(
            f"Invalid type for 'stream': expected a boolean, but got {_kind(stream)} instead.", "stream", "invalid_type"
        )
    if body.get("stream_options") is not None and not stream:
        return _bad("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    n = body.get("n", 1)
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128):
        return _bad(f"Invalid 'n': expected an integer between 1 and 128, got {n!r}.", "n", "invalid_value")
    top = body.get("top_logprobs")
    if top is not None and not body.get("logprobs"):
        return _bad("Invalid value for 'top_logprobs': requires 'logprobs' to be true.", "top_logprobs")
    return None


def _check_tools(body: dict[str, Any]) -> ApiError | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is None:
        if choice is not None and choice != "none":
            return _bad(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                "tool_choice",
            )
        return None
    if not isinstance(tools, list):
        return _bad(
            f"Invalid type for 'tools': expected an array, but got {_kind(tools)} instead.", "tools", "invalid_type"
        )
    for index, tool in enumerate(tools):
        if tool_name(tool) is None:
            return _bad(
                f"Missing required parameter: 'tools[{index}].function.name'.",
                f"tools[{index}].function.name",
                "missing_required_parameter",
            )
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        if wanted not in {tool_name(tool) for tool in tools}:
            return _bad(f"Invalid value for 'tool_choice': function '{wanted}' not found in 'tools'.", "tool_choice")
    elif choice not in (None, "none", "auto", "required"):
        return _bad(
            f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
            "tool_choice",
            "invalid_value",
        )
    return None


def tool_name(tool: object) -> str | None:
    """The function name of a ``{"type": "function", "function": {"name": …}}`` tool, else ``None``."""
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return None
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else None
