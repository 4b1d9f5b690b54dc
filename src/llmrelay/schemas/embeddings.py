"""Embeddings wire shapes (reference §1.6) and the parsed request the pipeline carries.

>>> req = EmbeddingsRequest.parse(b'{"model": "m", "input": ["a", "b"]}')
>>> req.inputs, req.encoding_format
(['a', 'b'], 'float')
"""

from __future__ import annotations

import base64
import sys
from array import array
from collections.abc import Sequence
from typing import Any, Literal, TypedDict, cast

from llmrelay.errors import InvalidRequestError
from llmrelay.schemas.chat import parse_json_object

EncodingFormat = Literal["float", "base64"]


class EmbeddingsRequestBody(TypedDict, total=False):
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: EncodingFormat
    dimensions: int
    user: str
    provider: str


class Embedding(TypedDict):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str


class EmbeddingsUsage(TypedDict):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(TypedDict):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage


class EmbeddingsRequest:
    """A validated embeddings request; `inputs` is always a list (token-id inputs stay lists of ints)."""

    __slots__ = ("body", "dimensions", "encoding_format", "inputs", "model", "raw")

    def __init__(self, raw: bytes, body: EmbeddingsRequestBody) -> None:
        self.raw = raw
        self.body = body
        self.model: str = body["model"]
        self.inputs: list[str] | list[list[int]] = _as_list(body["input"])
        self.encoding_format: EncodingFormat = body.get("encoding_format") or "float"
        self.dimensions: int | None = body.get("dimensions")

    @classmethod
    def parse(cls, raw: bytes) -> EmbeddingsRequest:
        body = parse_json_object(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError("Missing required parameter: 'model'.", param="model")
        _check_input(body.get("input"))
        if body.get("encoding_format") not in (None, "float", "base64"):
            raise InvalidRequestError(
                "Invalid value for 'encoding_format': expected 'float' or 'base64'.", param="encoding_format"
            )
        dimensions = body.get("dimensions")
        if dimensions is not None and (
            not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1
        ):
            raise InvalidRequestError(
                "Invalid value for 'dimensions': expected a positive integer.", param="dimensions"
            )
        return cls(raw, cast(EmbeddingsRequestBody, body))


def _as_list(value: Any) -> Any:
    """One string or one token array becomes a list of one input; a list of inputs stays as it is."""
    return [value] if isinstance(value, str) or _is_token_list(value) else value


def _is_token_list(value: Any) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )


def _check_input(value: Any) -> None:
    if value is None:
        raise InvalidRequestError("Missing required parameter: 'input'.", param="input")
    if isinstance(value, str):
        if value:
            return
        raise InvalidRequestError("Invalid 'input': the string must not be empty.", param="input")
    if isinstance(value, list) and value:
        if all(isinstance(v, str) and v for v in value) or _is_token_list(value):
            return
        if all(_is_token_list(v) for v in value):
            return
    raise InvalidRequestError(
        "Invalid 'input': expected a non-empty string, an array of non-empty strings, or token arrays.", param="input"
    )


def to_base64(vector: Sequence[float]) -> str:
    """OpenAI's `encoding_format: base64`: the vector as little-endian float32, base64-encoded."""
    packed = array("f", vector)
    if sys.byteorder != "little":  # pragma: no cover - the wire format is little-endian
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")
