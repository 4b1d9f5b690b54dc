"""Anthropic Messages API wire shapes and the constants the adapter is built on (reference §2).

The shapes follow anthropic-sdk-python `src/anthropic/types/` (`message_create_params.py`,
`message_param.py`, `tool_param.py`, `tool_choice_*_param.py`, `thinking_config_enabled_param.py`,
`message.py`, `usage.py`, `raw_*_event.py`), restricted to what llmrelay sends and reads.

    >>> block: TextBlock = {"type": "text", "text": "Hi"}
    >>> API_VERSION
    '2023-06-01'
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypedDict

API_VERSION = "2023-06-01"
"""The `anthropic-version` header sent unless the provider's `headers` set another one."""

DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` when the client gives none. Anthropic requires the field; 4096 is the largest value
every Claude model accepts (Claude 3 Haiku and Opus cap output at 4096), and LiteLLM's default."""

JSON_TOOL = "json_tool_call"
"""The forced tool that emulates `response_format` json_object / json_schema (LiteLLM's name)."""

THINKING_BUDGETS = {"low": 1024, "medium": 2048, "high": 4096}
"""`reasoning_effort` → `thinking.budget_tokens`: LiteLLM's values; 1024 is the API's minimum budget."""


class TextBlock(TypedDict):
    type: Literal["text"]
    text: str


class Base64Source(TypedDict):
    type: Literal["base64"]
    media_type: str
    data: str


class URLSource(TypedDict):
    type: Literal["url"]
    url: str


class ImageBlock(TypedDict):
    type: Literal["image"]
    source: Base64Source | URLSource


class DocumentBlock(TypedDict):
    type: Literal["document"]
    source: Base64Source | URLSource


class ToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(TypedDict):
    type: Literal["tool_result"]
    tool_use_id: str
    content: NotRequired[str]


class ThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlock(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


Block = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock
Role = Literal["user", "assistant"]


class MessageParam(TypedDict):
    role: Role
    content: str | list[Block]


class ToolParam(TypedDict):
    name: str
    description: NotRequired[str]
    input_schema: dict[str, Any]


class ToolChoice(TypedDict):
    type: Literal["auto", "any", "tool", "none"]
    name: NotRequired[str]
    disable_parallel_tool_use: NotRequired[bool]


class ThinkingConfig(TypedDict):
    type: Literal["enabled"]
    budget_tokens: int


class Metadata(TypedDict):
    user_id: str


class MessagesRequest(TypedDict, total=False):
    """The body of `POST /v1/messages` (`MessageCreateParamsBase`)."""

    model: Required[str]
    max_tokens: Required[int]
    messages: Required[list[MessageParam]]
    system: str | list[TextBlock]
    temperature: float
    top_p: float
    stop_sequences: list[str]
    stream: bool
    tools: list[ToolParam]
    tool_choice: ToolChoice
    metadata: Metadata
    thinking: ThinkingConfig
    service_tier: Literal["auto", "standard_only"]


class AnthropicUsage(TypedDict, total=False):
    """`usage` of a Message, and the cumulative `usage` of a `message_delta` event (`usage.py`)."""

    input_tokens: int | None
    output_tokens: int
    cache_creation_input_tokens: int | None
    cache_read_input_tokens: int | None
    output_tokens_details: dict[str, int] | None


class Message(TypedDict):
    """A non-stream reply, and the `message` of a `message_start` event (`message.py`)."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    stop_sequence: str | None
    usage: AnthropicUsage
