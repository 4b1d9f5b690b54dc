"""Validate a Messages API request the way api.anthropic.com does, returning Anthropic's error.

    error = check_headers(headers, api_key) or validate_messages(body, models)
    if error is not None:
        await send_json(send, error.status, error.body("req_fake000001"), {})

Field names and checks follow anthropic-sdk-python `types/message_create_params.py` and the block
param types; wording follows real 400 bodies (reference §2.1, §2.5). Two rules are stricter than
today's API, on purpose: roles must alternate (the API now merges consecutive turns itself, but an
adapter that relies on that is fragile), and the first turn must be `user` (the API's historic
`messages: first message must use the "user" role`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

API_VERSIONS = frozenset({"2023-06-01", "2023-01-01", "2026-10-21"})
"""2026-10-21: what anthropic-sdk-python 2.12 sends (`_constants.ANTHROPIC_API_VERSION`)."""
FIELDS = frozenset(
    {
        "model", "max_tokens", "messages", "system", "temperature", "top_p", "top_k", "stop_sequences",
        "stream", "tools", "tool_choice", "metadata", "thinking", "service_tier", "output_config",
    }
)  # fmt: skip
COUNT_FIELDS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking"})
"""The fields of a count_tokens body (SDK `types/message_count_tokens_params.py`, restricted as FIELDS is)."""
_BLOCKS = {
    "user": frozenset({"text", "image", "document", "tool_result"}),
    "assistant": frozenset({"text", "tool_use", "thinking", "redacted_thinking"}),
}
_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_TOOL_FIELDS = frozenset({"name", "description", "input_schema", "cache_control", "type"})
_CHOICE_FIELDS = {
    "auto": frozenset({"type", "disable_parallel_tool_use"}),
    "any": frozenset({"type", "disable_parallel_tool_use"}),
    "tool": frozenset({"type", "name", "disable_parallel_tool_use"}),
    "none": frozenset({"type"}),
}
JSONObject = dict[str, Any]


@dataclass(frozen=True)
class AnthropicError:
    """One Anthropic error: HTTP status, `error.type` and `error.message`."""

    status: int
    type: str
    message: str

    def body(self, request_id: str) -> JSONObject:
        return {"type": "error", "error": {"type": self.type, "message": self.message}, "request_id": request_id}


def bad(message: str) -> AnthropicError:
    return AnthropicError(400, "invalid_request_error", message)


def check_headers(headers: Mapping[str, str], api_key: str) -> AnthropicError | None:
    """401 without the right `x-api-key`; 400 without a known `anthropic-version` or a JSON content type."""
    given = headers.get("x-api-key")
    if not given:
        return AnthropicError(401, "authentication_error", "x-api-key header is required")
    if given != api_key:
        return AnthropicError(401, "authentication_error", "invalid x-api-key")
    version = headers.get("anthropic-version")
    if version is None:
        return bad("anthropic-version: header is required")
    if version not in API_VERSIONS:
        return bad(f"anthropic-version: invalid version '{version}'")
    if not headers.get("content-type", "").startswith("application/json"):
        return bad("content-type: must be application/json")
    return None


def validate_messages(body: object, models: frozenset[str], *, count: bool = False) -> AnthropicError | None:
    """`count`: a `POST /v1/messages/count_tokens` body (no `max_tokens`, fewer fields)."""
    if not isinstance(body, dict):
        return bad("Input should be a valid dictionary")
    for name in body:
        if name not in (COUNT_FIELDS if count else FIELDS):
            return bad(f"{name}: Extra inputs are not permitted")
    for name in ("model", "messages") if count else ("model", "max_tokens", "messages"):
        if name not in body:
            return bad(f"{name}: Field required")
    if body["model"] not in models:
        return AnthropicError(404, "not_found_error", f"model: {body['model']}")
    options = _check_system(body.get("system")) if count else _check_options(body)
    return options or _check_tools(body) or _check_messages(body["messages"], bool(body.get("tools")))


def _check_options(body: JSONObject) -> AnthropicError | None:
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return bad("max_tokens: Input should be greater than or equal to 1")
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int | float) or not 0 <= value <= 1):
            return bad(f"{name}: Input should be less than or equal to 1")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        return bad("stop_sequences: Input should be a valid list")
    if "stream" in body and not isinstance(body["stream"], bool):
        return bad("stream: Input should be a valid boolean")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or set(metadata) - {"user_id"}):
        return bad("metadata: Extra inputs are not permitted")
    if body.get("service_tier") not in (None, "auto", "standard_only"):
        return bad("service_tier: Input should be 'auto' or 'standard_only'")
    return _check_system(body.get("system")) or _check_thinking(body)


def _check_system(system: object) -> AnthropicError | None:
    if system is None or (isinstance(system, str) and system):
        return None
    if isinstance(system, list) and system and all(_is_text(block) for block in system):
        return None
    return bad("system: Input should be a valid string or a list of non-empty text blocks")


def _check_thinking(body: JSONObject) -> AnthropicError | None:
    thinking = body.get("thinking")
    if thinking is None or thinking == {"type": "disabled"}:
        return None
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled" or not isinstance(budget, int):
        return bad("thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled'")
    if budget < 1024:
        return bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    if budget >= body["max_tokens"]:
        return bad("`max_tokens` must be greater than `thinking.budget_tokens`.")
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return bad("Thinking may not be enabled when tool_choice forces tool use.")
    return None


def _check_tools(body: JSONObject) -> AnthropicError | None:
    tools = body.get("tools")
    names: set[str] = set()
    for k, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or "name" not in tool or "input_schema" not in tool:
            return bad(f"tools.{k}: name and input_schema are required")
        extra = sorted(set(tool) - _TOOL_FIELDS)
        if extra:
            return bad(f"tools.{k}.custom.{extra[0]}: Extra inputs are not permitted")
        if not isinstance(tool["input_schema"], dict) or tool["input_schema"].get("type") != "object":
            return bad(f"tools.{k}.custom.input_schema.type: Input should be 'object'")
        names.add(tool["name"])
    return _check_choice(body.get("tool_choice"), names)


def _check_choice(choice: object, names: set[str]) -> AnthropicError | None:
    if choice is None:
        return None
    kind = choice.get("type") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or kind not in _CHOICE_FIELDS:
        return bad("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'")
    extra = sorted(set(choice) - _CHOICE_FIELDS[kind])
    if extra:
        return bad(f"tool_choice.{kind}.{extra[0]}: Extra inputs are not permitted")
    if kind == "tool" and choice.get("name") not in names:
        return bad(f"Tool '{choice.get('name')}' not found in provided tools")
    return None


def _is_text(block: object) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
        and bool(block["text"])
    )


def _check_messages(messages: object, has_tools: bool) -> AnthropicError | None:
    if not isinstance(messages, list) or not messages:
        return bad("messages: at least one message is required")
    previous: JSONObject | None = None
    for i, message in enumerate(messages):
        error = _check_message(message, i, previous, has_tools)
        if error is not None:
            return error
        previous = message
    return _unanswered(messages[-1], len(messages) - 1, None)


def _check_message(message: object, i: int, previous: JSONObject | None, has_tools: bool) -> AnthropicError | None:
    if not isinstance(message, dict) or set(message) != {"role", "content"}:
        return bad(f"messages.{i}: a message has exactly the fields 'role' and 'content'")
    role = message["role"]
    if role not in _BLOCKS:
        return bad(f"messages.{i}.role: Input should be 'user' or 'assistant'")
    if previous is None and role != "user":
        return bad('messages: first message must use the "user" role')
    if previous is not None and previous["role"] == role:
        return bad(
            f'messages: roles must alternate between "user" and "assistant", but found multiple "{role}" roles in a row'
        )
    content = message["content"]
    if isinstance(content, str):
        return (
            None
            if content
            else bad(
                f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            )
        )
    if not isinstance(content, list) or not content:
        return bad(
            f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
        )
    for j, block in enumerate(content):
        error = _check_block(block, role, f"messages.{i}.content.{j}", has_tools)
        if error is not None:
            return error
    if previous is not None:
        return _unanswered(previous, i - 1, message) or _unexpected_results(previous, message, i)
    return None


def _check_block(block: object, role: str, where: str, has_tools: bool) -> AnthropicError | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if not isinstance(block, dict) or kind not in _BLOCKS[role]:
        return bad(f"{where}.type: Input tag '{kind}' is not allowed in a {role} message")
    if kind == "text" and not _is_text(block):
        return bad("messages: text content blocks must be non-empty")
    if kind in ("tool_use", "tool_result") and not has_tools:
        return bad("Requests which include `tool_use` or `tool_result` blocks must define tools.")
    if kind == "tool_use" and not isinstance(block.get("input"), dict):
        return bad(f"{where}.tool_use.input: Input should be a valid dictionary")
    if kind in ("image", "document"):
        return _check_source(block.get("source"), f"{where}.{kind}.source", kind)
    return None


def _check_source(source: object, where: str, kind: str) -> AnthropicError | None:
    source_type = source.get("type") if isinstance(source, dict) else None
    if isinstance(source, dict) and source_type == "url" and isinstance(source.get("url"), str):
        return None
    if not isinstance(source, dict) or source_type != "base64" or not isinstance(source.get("data"), str):
        return bad(f"{where}: Input tag '{source_type}' does not match the expected tags: 'base64', 'url'")
    allowed = _MEDIA_TYPES if kind == "image" else frozenset({"application/pdf"})
    if source.get("media_type") not in allowed:
        return bad(f"{where}.base64.media_type: Input should be {', '.join(sorted(allowed))}")
    return None


def _tool_ids(message: JSONObject, kind: str, key: str) -> list[str]:
    content = message["content"]
    return [b[key] for b in content if b.get("type") == kind] if isinstance(content, list) else []


def _unanswered(assistant: JSONObject, i: int, following: JSONObject | None) -> AnthropicError | None:
    """Every `tool_use` of an assistant turn needs a `tool_result` in the very next (user) turn, first."""
    if assistant["role"] != "assistant":
        return None
    answered = set(_tool_ids(following, "tool_result", "tool_use_id")) if following else set()
    missing = [tool_id for tool_id in _tool_ids(assistant, "tool_use", "id") if tool_id not in answered]
    if missing:
        return bad(
            f"messages.{i + 1 if following else i}: `tool_use` ids were found without `tool_result` blocks immediately "
            f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block in the "
            "next message."
        )
    content = following["content"] if following else None
    if isinstance(content, list) and answered:
        kinds = [block["type"] for block in content]
        if kinds[: len(answered)] != ["tool_result"] * len(answered):
            return bad(f"messages.{i + 1}: `tool_result` blocks must come first in the user message")
    return None


def _unexpected_results(previous: JSONObject, message: JSONObject, i: int) -> AnthropicError | None:
    asked = set(_tool_ids(previous, "tool_use", "id"))
    for tool_id in _tool_ids(message, "tool_result", "tool_use_id"):
        if tool_id not in asked:
            return bad(
                f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {tool_id}. Each "
                "`tool_result` block must have a corresponding `tool_use` block in the previous message."
            )
    return None
