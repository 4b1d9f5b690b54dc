"""The fake's `POST /v1/completions` (legacy, reference §1.5): validation and deterministic answers."""

from __future__ import annotations

from typing import Any

import orjson

from tests.fakes.openai_validate import ApiError

COMPLETION_MODELS = frozenset({"gpt-3.5-turbo-instruct"})
PIECES = ("\n\n", "One,", " two,", " three.")
_PARAMS = frozenset({
    "model", "prompt", "suffix", "max_tokens", "temperature", "top_p", "n", "best_of", "stream", "stream_options",
    "logprobs", "echo", "stop", "presence_penalty", "frequency_penalty", "logit_bias", "seed", "user",
})  # fmt: skip
_USAGE = {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}


def validate_completion(body: dict[str, Any], extra_fields: frozenset[str]) -> ApiError | None:
    unknown = sorted(set(body) - _PARAMS - extra_fields)
    if unknown:
        return ApiError(400, f"Unrecognized request argument supplied: {unknown[0]}")
    if body.get("model") not in COMPLETION_MODELS:
        message = f"The model `{body.get('model')}` does not exist or you do not have access to it."
        return ApiError(404, message, code="model_not_found")
    if "prompt" not in body:
        return ApiError(400, "Missing required parameter: 'prompt'.", param="prompt")
    return None


def completion_body(body: dict[str, Any], number: int) -> dict[str, Any]:
    return {
        "id": f"cmpl-fake{number:06d}",
        "object": "text_completion",
        "created": 1733012000,
        "model": body["model"],
        "system_fingerprint": None,
        "choices": [{"text": "".join(PIECES), "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": _USAGE,
    }


def completion_events(body: dict[str, Any], number: int) -> list[bytes]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": f"cmpl-fake{number:06d}", "object": "text_completion", "created": 1733012001, "model": body["model"]}
    chunks: list[dict[str, Any]] = []
    for i, piece in enumerate(PIECES):
        finish = "stop" if i == len(PIECES) - 1 else None
        chunks.append({**base, "choices": [{"text": piece, "index": 0, "logprobs": None, "finish_reason": finish}]})
    if include_usage:
        chunks = [{**c, "usage": None} for c in chunks] + [{**base, "choices": [], "usage": _USAGE}]
    return [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]
