"""Legacy completions (reference §1.5): the parsed request the pipeline carries.

>>> CompletionRequest.parse(b'{"model": "m", "prompt": "Count to three:"}').stream
False
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

from llmrelay.errors import InvalidRequestError
from llmrelay.schemas.chat import parse_json_object


class CompletionRequestBody(TypedDict, total=False):
    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    stream: bool
    stream_options: dict[str, Any]
    max_tokens: int
    provider: str


class CompletionRequest:
    """A validated completions request; like ChatRequest, every field the client sent stays in `body`."""

    __slots__ = ("body", "include_usage", "model", "raw", "stream")

    def __init__(self, raw: bytes, body: CompletionRequestBody) -> None:
        self.raw = raw
        self.body = body
        self.model: str = body["model"]
        self.stream: bool = bool(body.get("stream"))
        options = body.get("stream_options")
        self.include_usage = bool(self.stream and isinstance(options, dict) and options.get("include_usage"))

    @classmethod
    def parse(cls, raw: bytes) -> CompletionRequest:
        body = parse_json_object(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError("Missing required parameter: 'model'.", param="model")
        if not _valid_prompt(body.get("prompt")):
            raise InvalidRequestError(
                "Invalid 'prompt': expected a string, an array of strings, or token arrays.", param="prompt"
            )
        for name, kind in (("stream", bool), ("stream_options", dict), ("provider", str)):
            value = body.get(name)
            if value is not None and not isinstance(value, kind):
                raise InvalidRequestError(f"Invalid type for '{name}'.", param=name, code="invalid_type")
        return cls(raw, cast(CompletionRequestBody, body))


def _valid_prompt(value: object) -> bool:
    if isinstance(value, str):
        return True
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(v, str) for v in value) or all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return True
    return all(isinstance(v, list) and v and all(isinstance(t, int) for t in v) for v in value)
