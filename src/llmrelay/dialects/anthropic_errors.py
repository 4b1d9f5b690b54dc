"""Our errors in Anthropic's envelope, for the Messages routes: `{"type": "error", "error": {"type",
"message"}, "request_id"}` (anthropic-sdk-python `types/shared/error_response.py`), with the status
kept, so the SDK raises the class that status names (`_client._make_status_error`: 400
BadRequestError, 401 AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 429
RateLimitError, ≥ 500 InternalServerError).

`error.type` is Anthropic's name for the status; an error an Anthropic upstream sent keeps its own
type (the upstream adapter puts it in `code`). Inside a stream, where there is no status, an OpenAI
error frame's `type` / `code` pick it.

    >>> error_body(ModelNotFoundError("no such model"), "req_1")["error"]["type"]
    'not_found_error'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay.errors import RelayError
from llmrelay.schemas.stream import named_event

ERROR_TYPES = frozenset(
    {
        "invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
        "request_too_large", "rate_limit_error", "api_error", "timeout_error", "overloaded_error",
    }
)  # fmt: skip
_BY_STATUS: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_BY_OPENAI_TYPE: Mapping[str, str] = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "rate_limit_exceeded": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "timeout": "timeout_error",
}


def error_type(status: int, code: object = None) -> str:
    if isinstance(code, str) and code in ERROR_TYPES:
        return code
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(error: RelayError, request_id: str) -> dict[str, Any]:
    kind = error_type(error.status_code, error.code)
    return {"type": "error", "error": {"type": kind, "message": error.message}, "request_id": request_id}


event = named_event
"""One event framed as the Messages API frames it: `event: <name>`, then `data: <json>`."""


def error_event(error: Mapping[str, Any]) -> bytes:
    """An OpenAI error frame's `error` object (`{"message", "type", "code", …}`) as an `event: error`."""
    code, kind = error.get("code"), error.get("type")
    known = isinstance(code, str) and code in ERROR_TYPES
    name = str(code) if known else _BY_OPENAI_TYPE.get(str(kind), "api_error")
    message = str(error.get("message") or "The upstream failed during the stream.")
    return event("error", {"type": "error", "error": {"type": name, "message": message}})
