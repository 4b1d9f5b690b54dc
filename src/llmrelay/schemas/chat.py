"""Chat Completions wire shapes (reference §1.1–1.3) and the parsed request the pipeline carries.

TypedDicts cost nothing at run time: a request body stays the dict orjson produced, with every field
the client sent, understood or not.

    >>> req = ChatRequest.parse(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
    >>> req.model, req.stream
    ('m', False)
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

import orjson

from llmrelay.errors import InvalidRequestError

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class FunctionCall(TypedDict):
    name: str
    arguments: str


class ToolCall(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class ChatMessage(TypedDict, total=False):
    role: str
    content: str | list[dict[str, Any]] | None
    name: str
    tool_calls: list[ToolCall]
    tool_call_id: str
    refusal: str | None


class StreamOptions(TypedDict, total=False):
    include_usage: bool


class ChatCompletionRequest(TypedDict, total=False):
    model: str
    messages: list[ChatMessage]
    stream: bool
    stream_options: StreamOptions
    max_tokens: int
    max_completion_tokens: int
    temperature: float
    top_p: float
    n: int
    stop: str | list[str]
    seed: int
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    response_format: dict[str, Any]
    user: str
    provider: str


class PromptTokensDetails(TypedDict, total=False):
    cached_tokens: int
    audio_tokens: int


class CompletionTokensDetails(TypedDict, total=False):
    reasoning_tokens: int
    audio_tokens: int
    accepted_prediction_tokens: int
    rejected_prediction_tokens: int


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: NotRequired[PromptTokensDetails]
    completion_tokens_details: NotRequired[CompletionTokensDetails]


class ResponseMessage(TypedDict):
    role: Literal["assistant"]
    content: str | None
    refusal: str | None
    tool_calls: NotRequired[list[ToolCall]]


class Choice(TypedDict):
    index: int
    message: ResponseMessage
    logprobs: dict[str, Any] | None
    finish_reason: FinishReason | None


class ChatCompletion(TypedDict):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: NotRequired[Usage]
    system_fingerprint: NotRequired[str | None]


class ChunkChoice(TypedDict):
    index: int
    delta: dict[str, Any]
    logprobs: dict[str, Any] | None
    finish_reason: FinishReason | None


class ChatCompletionChunk(TypedDict):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: NotRequired[Usage | None]


class ChatRequest:
    """A validated chat request: the raw bytes, the parsed body, and the fields the relay needs."""

    __slots__ = ("body", "created", "include_usage", "model", "raw", "request_id", "stream")

    def __init__(self, raw: bytes, body: ChatCompletionRequest, created: int = 0, request_id: str = "") -> None:
        self.raw = raw
        self.body = body
        self.created = created
        """Unix seconds when the gateway received it: the `created` of replies an adapter builds itself."""
        self.request_id = request_id
        """The gateway's request id: adapters that must invent a completion id derive it from this."""
        self.model: str = body["model"]
        self.stream: bool = bool(body.get("stream"))
        options = body.get("stream_options")
        self.include_usage: bool = bool(self.stream and isinstance(options, dict) and options.get("include_usage"))

    @classmethod
    def parse(cls, raw: bytes, *, created: int = 0, request_id: str = "") -> ChatRequest:
        """Parse and validate what the relay relies on; raises InvalidRequestError naming `param`."""
        body = parse_json_object(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _missing_or_typed("model", model, "a non-empty string")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _missing_or_typed("messages", messages, "a non-empty array")
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or not isinstance(message.get("role"), str):
                raise InvalidRequestError(
                    f"Invalid 'messages[{i}]': expected an object with a string 'role'.", param=f"messages[{i}]"
                )
        _check_type(body, "stream", bool, "a boolean")
        _check_type(body, "stream_options", dict, "an object")
        _check_type(body, "provider", str, "a string")
        return cls(raw, cast(ChatCompletionRequest, body), created, request_id)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise InvalidRequestError("The request body is empty; send a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return body


def _missing_or_typed(param: str, value: object, expected: str) -> InvalidRequestError:
    if value is None:
        return InvalidRequestError(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    return InvalidRequestError(
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)}.",
        param=param,
        code="invalid_type",
    )


def _check_type(body: dict[str, Any], param: str, kind: type, expected: str) -> None:
    value = body.get(param)
    if value is not None and not isinstance(value, kind):
        raise _missing_or_typed(param, value, expected)


def _json_type(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }
    return names.get(type(value), "null" if value is None else type(value).__name__)
