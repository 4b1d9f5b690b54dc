"""Validate Cohere Chat v2 and Embed v2 request bodies the way api.cohere.com does, returning Cohere's error.

    error = validate_chat(body, CHAT_MODELS, VISION_MODELS)
    if error is not None:
        await send_json(send, error.status, error.body(), {})

Fields and enums follow cohere-python (`v2/raw_client.py`, `types/chat_message_v2.py`, `types/tool_v2function.py`,
`types/response_format_v2.py`, `types/image_url.py`); messages follow the documented forms
(docs.cohere.com/reference/errors: `invalid request: …`, and `unknown field: parameter X is not a valid field`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHAT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "tools",
        "strict_tools",
        "documents",
        "citation_options",
        "response_format",
        "safety_mode",
        "max_tokens",
        "stop_sequences",
        "temperature",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "k",
        "p",
        "logprobs",
        "tool_choice",
        "thinking",
    }
)
EMBED_FIELDS = frozenset(
    {
        "model",
        "input_type",
        "texts",
        "images",
        "inputs",
        "max_tokens",
        "output_dimension",
        "embedding_types",
        "truncate",
    }
)
_MESSAGE_FIELDS = {
    "user": frozenset({"role", "content"}),
    "system": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "tool_plan", "citations"}),
    "tool": frozenset({"role", "tool_call_id", "content"}),
}
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|webp|gif);base64,(?P<data>[A-Za-z0-9+/=]+)")
_INPUT_TYPES = frozenset({"search_document", "search_query", "classification", "clustering", "image"})
_EMBEDDING_TYPES = frozenset({"float", "int8", "uint8", "binary", "ubinary", "base64"})
OUTPUT_DIMENSIONS = frozenset({256, 512, 1024, 1536})


@dataclass(frozen=True)
class CohereError:
    """One Cohere error: HTTP status and the `{"id", "message"}` body."""

    status: int
    message: str

    def body(self, error_id: str = "00000000-0000-4000-8000-000000000000") -> dict[str, str]:
        return {"id": error_id, "message": self.message}


def _bad(message: str) -> CohereError:
    return CohereError(400, f"invalid request: {message}")


def _unknown(field: str) -> CohereError:
    return CohereError(400, f"unknown field: parameter {field} is not a valid field")


def check_auth(headers: Mapping[str, str], api_key: str) -> CohereError | None:
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return CohereError(401, "no api key supplied")
    if given.strip() != api_key:
        return CohereError(401, "invalid api token")
    return None


def parse_json(headers: Mapping[str, str], body: bytes) -> tuple[Any, CohereError | None]:
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return None, _bad("content-type must be application/json")
    try:
        payload = json.loads(body)
    except ValueError:
        return None, _bad("could not parse the request body as JSON")
    if not isinstance(payload, dict):
        return payload, _bad("the request body must be a JSON object")
    return payload, None


def validate_chat(body: dict[str, Any], models: frozenset[str], vision: frozenset[str]) -> CohereError | None:
    unknown = [key for key in body if key not in CHAT_FIELDS]
    if unknown:
        return _unknown(unknown[0])
    if not isinstance(body.get("model"), str) or not body["model"]:
        return _bad("model must be specified")
    error = _check_messages(body.get("messages"), body["model"] in vision) or _check_options(body) or _check_tools(body)
    if error is not None:
        return error
    if body["model"] not in models:
        return not_found(body["model"])
    return None


def not_found(model: object) -> CohereError:
    return CohereError(
        404,
        f"model '{model}' not found, make sure the correct model ID was used and that you have access to the model.",
    )


def _check_messages(messages: object, vision: bool) -> CohereError | None:
    if not isinstance(messages, list) or not messages:
        return _bad("messages must contain at least one message")
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        error = _check_message(index, message, vision) or _check_pairing(index, message, open_calls)
        if error is not None:
            return error
    if open_calls:
        return _bad(f"tool call ids {sorted(open_calls)} have no tool results")
    return None


def _check_message(index: int, message: object, vision: bool) -> CohereError | None:
    role = message.get("role") if isinstance(message, dict) else None
    if not isinstance(message, dict) or role not in _MESSAGE_FIELDS:
        return _bad(f"messages[{index}].role must be one of: user, assistant, system, tool")
    extra = [key for key in message if key not in _MESSAGE_FIELDS[role]]
    if extra:
        return _unknown(f"messages[{index}].{extra[0]}")
    where = f"messages[{index}]"
    if role == "assistant":
        return _check_assistant(where, message)
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        return _bad(f"{where}.tool_call_id is required")
    allowed = {"user": {"text", "image_url"}, "system": {"text"}, "tool": {"text", "document"}}[role]
    return _check_content(where, message.get("content"), allowed, vision, allow_empty=role == "tool")


def _check_content(
    where: str, content: object, allowed: set[str], vision: bool, *, allow_empty: bool = False
) -> CohereError | None:
    if isinstance(content, str):
        return None if content or allow_empty else _bad(f"{where}.content must not be empty")
    if not isinstance(content, list) or not content:
        return _bad(f"{where}.content must be a string or a non-empty list of content items")
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            return _bad(f"{where}.content[{j}].type must be one of: {', '.join(sorted(allowed))}")
        if kind == "image_url":
            error = _check_image(f"{where}.content[{j}].image_url", part, vision)
            if error is not None:
                return error
        elif kind == "text" and not isinstance(part.get("text"), str):
            return _bad(f"{where}.content[{j}].text must be a string")
    return None


def _check_image(where: str, part: dict[str, Any], vision: bool) -> CohereError | None:
    if not vision:
        return _bad("image content is not supported by this model; use a vision model")
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(image, dict) or not isinstance(url, str):
        return _bad(f"{where}.url must be a string")
    if set(image) - {"url", "detail"} or image.get("detail", "auto") not in ("auto", "low", "high"):
        return _bad(f"{where} must have a url and an optional detail of auto, low or high")
    if url.startswith(("https://", "http://")):
        return None
    match = _DATA_IMAGE.fullmatch(url)
    try:
        if match is None or not base64.b64decode(match.group("data"), validate=True):
            return _bad(f"{where}.url must be a web URL or a base64 data URI of a png, jpeg, webp or gif image")
    except binascii.Error:
        return _bad(f"{where}.url holds invalid base64")
    return None


def _check_assistant(where: str, message: dict[str, Any]) -> CohereError | None:
    calls = message.get("tool_calls")
    if calls is None and "content" not in message:
        return _bad(f"{where} must have content or tool_calls")
    if "content" in message:
        error = _check_content(where, message["content"], {"text", "thinking"}, False)
        if error is not None:
            return error
    if "tool_plan" in message and not isinstance(message["tool_plan"], str):
        return _bad(f"{where}.tool_plan must be a string")
    for j, call in enumerate(calls or []):
        function = call.get("function") if isinstance(call, dict) else None
        if (
            not isinstance(call, dict)
            or set(call) != {"id", "type", "function"}
            or call["type"] != "function"
            or not isinstance(function, dict)
            or set(function) != {"name", "arguments"}
            or not _is_json_object(function["arguments"])
        ):
            return _bad(f"{where}.tool_calls[{j}] must be {{id, type: function, function: {{name, arguments}}}}")
    return None


def _is_json_object(text: object) -> bool:
    try:
        return isinstance(text, str) and isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _check_pairing(index: int, message: dict[str, Any], open_calls: set[str]) -> CohereError | None:
    if message["role"] == "tool":
        if message["tool_call_id"] not in open_calls:
            return _bad(f"messages[{index}].tool_call_id '{message['tool_call_id']}' does not match a tool call")
        open_calls.discard(message["tool_call_id"])
        return None
    if open_calls:
        return _bad(f"tool call ids {sorted(open_calls)} have no tool results before messages[{index}]")
    if message["role"] == "assistant":
        open_calls.update(call["id"] for call in message.get("tool_calls") or [])
    return None


_RANGES: dict[str, tuple[bool, float, float]] = {
    # name: (whole numbers only, min, max) — cohere-python v2/raw_client.py parameter docs
    "temperature": (False, 0.0, 2.0),
    "p": (False, 0.01, 0.99),
    "k": (True, 0, 500),
    "max_tokens": (True, 1, 32_000),
    "frequency_penalty": (False, 0.0, 1.0),
    "presence_penalty": (False, 0.0, 1.0),
    "seed": (True, 0, 2**63),
}


def _check_options(body: dict[str, Any]) -> CohereError | None:
    for name, (whole, low, high) in _RANGES.items():
        value = body.get(name)
        if value is None:
            continue
        number = isinstance(value, int) if whole else isinstance(value, int | float)
        if isinstance(value, bool) or not number or not low <= value <= high:
            return _bad(f"{name} must be between {low} and {high}, inclusive.")
    stop = body.get("stop_sequences")
    if stop is not None and (not isinstance(stop, list) or len(stop) > 5 or not all(isinstance(s, str) for s in stop)):
        return _bad("stop_sequences must be a list of at most 5 strings")
    for name in ("stream", "strict_tools", "logprobs"):
        if name in body and not isinstance(body[name], bool):
            return _bad(f"{name} must be a boolean")
    if body.get("safety_mode", "CONTEXTUAL") not in ("CONTEXTUAL", "STRICT", "OFF"):
        return _bad("safety_mode must be one of CONTEXTUAL, STRICT, OFF")
    thinking = body.get("thinking")
    if thinking is not None and (not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled")):
        return _bad("thinking.type must be enabled or disabled")
    return _check_response_format(body.get("response_format"), bool(body.get("tools")))


def _check_response_format(value: object, with_tools: bool) -> CohereError | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text" and isinstance(value, dict) and set(value) == {"type"}:
        return None
    if kind != "json_object" or not isinstance(value, dict) or set(value) - {"type", "json_schema"}:
        return _bad("response_format must be {type: text} or {type: json_object, json_schema?}")
    if "json_schema" in value and not isinstance(value["json_schema"], dict):
        return _bad("response_format.json_schema must be an object")
    # cohere-python types/response_format_v2.py: "not supported when used in combinations with the documents or tools"
    return _bad("response_format is not supported with tools") if with_tools else None


def _check_tools(body: dict[str, Any]) -> CohereError | None:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if choice is not None and (choice not in ("REQUIRED", "NONE") or not tools):
        return _bad("tool_choice must be REQUIRED or NONE, and requires tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return _bad("tools must be a list")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or set(tool) != {"type", "function"} or tool["type"] != "function":
            return _bad(f"tools[{i}] must be {{type: function, function}}")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return _bad(f"tools[{i}].function.name is required")
        extra = sorted(set(function) - {"name", "description", "parameters"})
        if extra:
            return _unknown(f"tools[{i}].function.{extra[0]}")
        if not isinstance(function.get("parameters"), dict):
            return _bad(f"tools[{i}].function.parameters is required")
    return None


def validate_embed(body: dict[str, Any], models: frozenset[str], sized: frozenset[str]) -> CohereError | None:
    unknown = [key for key in body if key not in EMBED_FIELDS]
    if unknown:
        return _unknown(unknown[0])
    if body.get("model") not in models:
        return not_found(body.get("model"))
    if body.get("input_type") not in _INPUT_TYPES:
        return _bad("valid input_type must be provided with the provided model")
    texts = body.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        return _bad("texts must be a non-empty list of non-empty strings")
    if len(texts) > 96:
        return _bad(f"total number of texts must be at most 96 - received {len(texts)}")
    types = body.get("embedding_types", ["float"])
    if not isinstance(types, list) or not types or not set(types) <= _EMBEDDING_TYPES:
        return _bad("embedding_types must be a list of float, int8, uint8, binary, ubinary, base64")
    dimension = body.get("output_dimension")
    if dimension is not None and body["model"] not in sized:
        return _bad("output_dimension is only supported for embed-v4.0 and newer models")
    if dimension is not None and dimension not in OUTPUT_DIMENSIONS:
        return _bad("output_dimension must be one of 256, 512, 1024, 1536")
    return None
