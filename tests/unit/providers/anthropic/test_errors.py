"""The Messages API's errors as the relay sees them: a prompt over the context window carries
OpenAI's `context_length_exceeded`, which `context_window_fallbacks` act on."""

from __future__ import annotations

import orjson

from llmrelay.providers.anthropic.errors import map_error


def _body(message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": message}})


def test_prompt_too_long_is_a_context_length_error() -> None:
    error = map_error(400, {}, _body("prompt is too long: 208310 tokens > 200000 maximum"))
    assert (error.status_code, error.code) == (400, "context_length_exceeded")


def test_other_invalid_requests_keep_their_type() -> None:
    error = map_error(400, {}, _body("max_tokens: Field required"))
    assert error.code == "invalid_request_error"
