"""Ideogram error statuses and bodies → llmrelay's error tree (reference §9.2).

    >>> map_ideogram_error(422, {}, b'{"detail": "Prompt failed the safety check."}').code
    'content_policy_violation'

Ideogram's OpenAPI document for /v1/ideogram-v3/generate names the statuses (400 invalid input, 401
not authorized, 422 the prompt failed the safety check, 429 too many requests) but gives their
bodies no schema. The message is read from a JSON body's `detail` (a string, or a list of
`{"msg": …}` items), `message` or `error`, and otherwise from the text of the body.

| Ideogram status | llmrelay |
|---|---|
| 400 | 400 `invalid_request_error` |
| 401 | 401 `authentication_error`, code `invalid_api_key` |
| 422 (safety check) | 400 `invalid_request_error`, code `content_policy_violation`, param `prompt`: what OpenAI answers for a prompt its safety system rejects |
| 429 | 429 `rate_limit_exceeded`, `retry-after`/`retry-after-ms` kept |
| any other | the same status and message |
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from llmrelay.errors import UpstreamError, UpstreamStatusError
from llmrelay.providers.common import retry_headers

_CODE = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


def map_ideogram_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    message = error_message(body, status)
    kept = retry_headers(headers)
    if status == 422:
        return UpstreamStatusError(
            400, message, param="prompt", code="content_policy_violation", headers=kept, raw=body
        )
    return UpstreamStatusError(status, message, code=_CODE.get(status), headers=kept, raw=body)


def error_message(body: bytes, status: int) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("detail", "message", "error"):
            text = _text_of(parsed.get(key))
            if text:
                return text
    text = body[:200].decode("utf-8", "replace").strip()
    return f"Ideogram answered HTTP {status}: {text}" if text else f"Ideogram answered HTTP {status}."


def _text_of(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        return _text_of(value.get("message") or value.get("msg"))
    if isinstance(value, list):
        texts = [t for t in map(_text_of, value) if t]
        return "; ".join(texts) or None
    return None
