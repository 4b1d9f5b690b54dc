"""The fake's `POST /v1/embeddings`: strict validation and deterministic vectors (reference §1.6).

A vector is derived from a hash of its input, so equal inputs give equal vectors and a test can
recompute what the gateway should return.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

from tests.fakes.openai_validate import ApiError

EMBEDDING_MODELS = frozenset({"text-embedding-3-small"})
DEFAULT_DIMENSIONS = 8
_PARAMS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})


def vector(text: str | list[int], dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    seed = hashlib.sha256(repr(text).encode()).digest()
    return [round((seed[i % 32] - 128) / 128, 4) for i in range(dimensions)]


def validate_embeddings(body: dict[str, Any], extra_fields: frozenset[str]) -> ApiError | None:
    unknown = sorted(set(body) - _PARAMS - extra_fields)
    if unknown:
        return ApiError(400, f"Unrecognized request argument supplied: {unknown[0]}")
    if body.get("model") not in EMBEDDING_MODELS:
        message = f"The model `{body.get('model')}` does not exist or you do not have access to it."
        return ApiError(404, message, code="model_not_found")
    value = body.get("input")
    if not value or not isinstance(value, str | list):
        return ApiError(400, "'input' is a required property", param="input")
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return ApiError(400, "Invalid value for 'encoding_format'", param="encoding_format")
    return None


def embeddings_body(body: dict[str, Any]) -> dict[str, Any]:
    value = body["input"]
    inputs = [value] if isinstance(value, str) or all(isinstance(v, int) for v in value) else value
    dimensions = body.get("dimensions") or DEFAULT_DIMENSIONS
    data = []
    for index, text in enumerate(inputs):
        floats = vector(text, dimensions)
        encoded: Any = floats
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{len(floats)}f", *floats)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(len(t.split()) if isinstance(t, str) else len(t) for t in inputs)
    return {
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
