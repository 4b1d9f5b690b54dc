"""Gemini errors (google.rpc `Status`, reference §3.6) → llmrelay's `UpstreamStatusError`.

Body: `{"error": {"code": <http>, "message", "status": "<CANONICAL>", "details": [google.rpc.*]}}`
(the OpenAI-compatible endpoint wraps it in a one-item array; both are read). The HTTP status is kept,
with one exception: an invalid key comes back as 400 `INVALID_ARGUMENT` with an `ErrorInfo` reason
`API_KEY_INVALID`, which is an authentication failure and becomes 401 `invalid_api_key`.

| Gemini | status | OpenAI `code` | `param` |
|---|---|---|---|
| INVALID_ARGUMENT, FAILED_PRECONDITION | 400 | `invalid_argument`, `failed_precondition` | the OpenAI name of a `BadRequest.fieldViolations[].field` in `generationConfig` (e.g. `generation_config.temperature` → `temperature`), else the field as Gemini names it |
| ErrorInfo `API_KEY_INVALID`, UNAUTHENTICATED | 401 | `invalid_api_key` | — |
| PERMISSION_DENIED | 403 | `permission_denied` | — |
| NOT_FOUND | 404 | `model_not_found` (the only resource in the URL) | `model` |
| RESOURCE_EXHAUSTED | 429 | `rate_limit_exceeded`; `RetryInfo.retryDelay` ("23s") becomes `retry-after: 23` and `retry-after-ms: 23000` unless the response has its own | — |
| INTERNAL / UNAVAILABLE / DEADLINE_EXCEEDED | 500 / 503 / 504 | `internal`, `unavailable`, `deadline_exceeded` | — |

An error inside a stream (`data: {"error": {…}}`) maps the same way, its status taken from `error.code`
(or from `error.status` when the code is missing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from llmrelay.errors import UpstreamStatusError
from llmrelay.providers.common import retry_headers
from llmrelay.providers.gemini.wire import JSONObject

_HTTP_BY_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_CODE_BY_HTTP = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
_DURATION = re.compile(r"(\d+(?:\.\d+)?)s")
_PARAMS = {
    "temperature": "temperature",
    "topp": "top_p",
    "topk": "top_k",
    "candidatecount": "n",
    "maxoutputtokens": "max_tokens",
    "stopsequences": "stop",
    "seed": "seed",
    "presencepenalty": "presence_penalty",
    "frequencypenalty": "frequency_penalty",
    "responsejsonschema": "response_format",
    "responsemimetype": "response_format",
    "thinkingconfig": "reasoning_effort",
}
"""`generationConfig` fields by their normalised name (no `_`, lower case) → the OpenAI parameter they came from."""


def map_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamStatusError:
    error = _error_object(body)
    if error is None:
        text = body[:200].decode("utf-8", "replace").strip()
        message = f"Gemini answered HTTP {status}: {text}" if text else f"Gemini answered HTTP {status}."
        return UpstreamStatusError(status, message, headers=_kept(headers, []), raw=body)
    return _from_error(status, error, headers, body)


def stream_error(error: object, raw: bytes) -> UpstreamStatusError:
    """The error object of a `data: {"error": …}` event, mapped like an HTTP error."""
    fields: JSONObject = error if isinstance(error, dict) else {"message": str(error)}
    code = fields.get("code")
    status = code if isinstance(code, int) and code >= 400 else _HTTP_BY_STATUS.get(str(fields.get("status")), 500)
    return _from_error(status, fields, {}, raw)


def _error_object(body: bytes) -> JSONObject | None:
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else None


def _from_error(status: int, error: JSONObject, headers: Mapping[str, str], raw: bytes) -> UpstreamStatusError:
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    google_status = str(error.get("status") or "")
    if status == 400 and any(d.get("@type") == _ERROR_INFO and d.get("reason") == "API_KEY_INVALID" for d in details):
        status = 401
    message = error.get("message")
    return UpstreamStatusError(
        status,
        str(message) if message else f"Gemini answered HTTP {status} {google_status}".strip() + ".",
        param="model" if status == 404 else _param(details),
        code=_CODE_BY_HTTP.get(status) or (google_status.lower() or None),
        headers=_kept(headers, details),
        raw=raw,
    )


def _param(details: list[JSONObject]) -> str | None:
    for detail in details:
        if detail.get("@type") != _BAD_REQUEST:
            continue
        for violation in detail.get("fieldViolations") or []:
            field = violation.get("field") if isinstance(violation, dict) else None
            if isinstance(field, str) and field:
                return _openai_param(field)
    return None


def _openai_param(field: str) -> str:
    head, _, rest = field.partition(".")
    if head.replace("_", "").lower() == "generationconfig" and rest:
        return _PARAMS.get(rest.split(".")[0].replace("_", "").lower(), field)
    return field


def _kept(headers: Mapping[str, str], details: list[JSONObject]) -> dict[str, str]:
    kept = {k.lower(): v for k, v in retry_headers(headers).items()}
    if "retry-after" in kept:
        return kept
    for detail in details:
        delay = detail.get("retryDelay") if detail.get("@type") == _RETRY_INFO else None
        match = _DURATION.fullmatch(delay) if isinstance(delay, str) else None
        if match is not None:
            seconds = float(match.group(1))
            kept["retry-after"] = str(math.ceil(seconds))
            kept.setdefault("retry-after-ms", str(round(seconds * 1000)))
    return kept
