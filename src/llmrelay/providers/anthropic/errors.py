"""Anthropic error bodies → UpstreamStatusError, for HTTP errors and `error` events inside a stream.

A body is `{"type": "error", "error": {"type", "message", "details"?: {"error_code"}}, "request_id"}`
(SDK `types/shared/error_response.py`, `_exceptions.py`). The status is kept as the upstream sent
it, 529 overloaded included (retryable, like every 5xx); `code` is `details.error_code` when given,
else the Anthropic error type (`overloaded_error`, `rate_limit_error`, …); `retry-after`,
`retry-after-ms` and `x-should-retry` are kept. An error event inside a stream has no status, so
its type picks one (`overloaded_error` → 529, `api_error` → 500, …: reference §2.5).

`param`: Anthropic prefixes a validation message with the location it concerns
(`max_tokens: Field required`, `messages.3: tool_use ids were found without tool_result blocks …`,
reference §2.1). When that location starts with a field the client also sent under an OpenAI
name, the error names that field (`stop_sequences` → `stop`); Anthropic's own message indexes
(which count merged turns) are not repeated as OpenAI ones.

    >>> map_error(529, {"retry-after": "3"}, OVERLOADED).status_code
    529
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from llmrelay.errors import UpstreamStatusError
from llmrelay.providers.common import retry_headers

_STATUS_OF_TYPE: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_OPENAI_PARAM: Mapping[str, str] = {
    "model": "model",
    "messages": "messages",
    "system": "messages",
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop_sequences": "stop",
    "tools": "tools",
    "tool_choice": "tool_choice",
    "metadata": "user",
    "thinking": "reasoning_effort",
    "service_tier": "service_tier",
}
_TOO_LONG = "prompt is too long"
"""How the Messages API starts a 400 for a prompt over the context window ("prompt is too long: 208310 tokens > 200000 maximum")."""
_LOCATION = re.compile(r"([a-z_]+)(?:\.[\w.]+)?: ")


def map_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamStatusError:
    """An HTTP error answer from the Messages API, with its status kept."""
    kept = retry_headers(headers)
    error = _error_object(body)
    if error is None:
        text = body[:200].decode("utf-8", "replace").strip()
        message = f"The upstream answered HTTP {status}: {text}" if text else f"The upstream answered HTTP {status}."
        return UpstreamStatusError(status, message, headers=kept, raw=body)
    message, code = _message_and_code(error, status)
    return UpstreamStatusError(status, message, param=_param(message), code=code, headers=kept, raw=body)


def stream_error(event: Mapping[str, object]) -> UpstreamStatusError:
    """An `event: error` that arrived after the 200: `{"type": "error", "error": {"type", "message"}}`."""
    error = event.get("error")
    raw = orjson.dumps(event)
    if not isinstance(error, dict):
        return UpstreamStatusError(500, "The upstream reported an error inside the stream.", raw=raw)
    status = _STATUS_OF_TYPE.get(str(error.get("type")), 500)
    message, code = _message_and_code(error, status)
    return UpstreamStatusError(status, message, param=_param(message), code=code, raw=raw)


def _error_object(body: bytes) -> dict[str, object] | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else None


def _message_and_code(error: Mapping[str, object], status: int) -> tuple[str, str | None]:
    message = error.get("message")
    details = error.get("details")
    code = details.get("error_code") if isinstance(details, dict) else None
    kind = error.get("type")
    text = str(message) if message else f"The upstream answered HTTP {status}."
    if status == 400 and text.startswith(_TOO_LONG):  # OpenAI's code, which context_window_fallbacks act on
        code = "context_length_exceeded"
    return text, str(code) if code else (str(kind) if kind else None)


def _param(message: str) -> str | None:
    match = _LOCATION.match(message)
    return _OPENAI_PARAM.get(match.group(1)) if match else None
