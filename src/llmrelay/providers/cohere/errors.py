"""Cohere error statuses and bodies → llmrelay's error tree (reference §4.5, docs.cohere.com/reference/errors).

    >>> map_cohere_error(400, {}, b'{"id":"e1","message":"invalid request: p must be between 0.01 and 0.99"}').param
    'top_p'

The body is `{"message": "…"}`, lately with an `id` (docs.cohere.com/reference/errors; cohere-python
types the error bodies as `Any`); a `{"data": "…"}` body or a non-JSON one is read too. The message is
kept. Cohere names no field apart from the message, whose documented forms start with
`invalid request: <field> …` or `unknown field: parameter <field> is not a valid field`; that field,
named back as the OpenAI parameter it came from, becomes `param`.

| Cohere status | llmrelay |
|---|---|
| 400, 422 | 400 `invalid_request_error` (+ `param`) |
| 401 | 401 `authentication_error`, code `invalid_api_key` |
| 403 | 403 `permission_error` |
| 404 | 404, code `model_not_found`, param `model`: on /v2/chat and /v2/embed the model is the only thing to find |
| 429 | 429 `rate_limit_exceeded`, `retry-after`/`retry-after-ms` kept |
| 499 (Cohere: the request was cancelled; docs: "try the request again") | 502, retryable |
| any other (402, 498, 500, 501, 503, 504…) | the same status and message |
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from llmrelay.errors import UpstreamError, UpstreamStatusError
from llmrelay.providers.common import retry_headers

_FIELD = re.compile(r"^(?:invalid request: (?P<lead>[a-z_]+)\b|unknown field: parameter (?P<unknown>\w+) )")
# Cohere's request field → the OpenAI parameter it was translated from (request.py, embeddings.py).
_OPENAI_PARAM = {
    "p": "top_p",
    "k": "top_k",
    "stop_sequences": "stop",
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "seed": "seed",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "messages": "messages",
    "tools": "tools",
    "strict_tools": "tools",
    "tool_choice": "tool_choice",
    "response_format": "response_format",
    "model": "model",
    "safety_mode": "safety_mode",
    "thinking": "thinking",
    "texts": "input",
    "output_dimension": "dimensions",
    "input_type": "input_type",
}
_STATUS = {422: 400, 499: 502}
_CODE = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def map_cohere_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    message = _message(body, status)
    ours = _STATUS.get(status, status)
    return UpstreamStatusError(
        ours,
        message,
        param=param_of(message) if ours == 400 else ("model" if ours == 404 else None),
        code=_CODE.get(ours),
        headers=retry_headers(headers),
        raw=body,
    )


def param_of(message: str) -> str | None:
    """The OpenAI parameter a Cohere 400 message is about, when it names one."""
    match = _FIELD.match(message)
    field = (match.group("lead") or match.group("unknown")) if match else None
    return _OPENAI_PARAM.get(field) if field else None


def _message(body: bytes, status: int) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("message", "data"):
            if isinstance(parsed.get(key), str) and parsed[key]:
                return str(parsed[key])
    text = body[:200].decode("utf-8", "replace").strip()
    return f"The upstream answered HTTP {status}: {text}" if text else f"The upstream answered HTTP {status}."
