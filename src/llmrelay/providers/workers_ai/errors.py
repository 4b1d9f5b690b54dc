"""Workers AI failures → our error tree: HTTP error bodies, `success: false` envelopes, in-stream errors.

The REST API answers an error with its HTTP status and the Cloudflare v4 envelope
`{"result": null, "success": false, "errors": [{"code": 5007, "message": "…"}], "messages": []}`
(reference §5.1). `errors` has also been seen as one object instead of a list
(`{"errors": {"message": "AiError: Bad input: …", "code": 5006}, …}`, anomalyco/opencode#30381). A body
without `errors` (the OpenAI-compatible endpoint, a proxy's HTML page) goes to the OpenAI adapter's
mapping. The HTTP status is kept; the internal code becomes `code` (as a string) and, for a 400 whose
message names a JSON pointer (`Type mismatch of '/messages/1/content'`), the pointer becomes `param`.

Internal codes, from developers.cloudflare.com/workers-ai/platform/errors (the same table as
`WORKERS_AI_ERROR_CODE_TO_STATUS` in cloudflare/ai packages/gateway-core), plus 5006 (bad input, seen
with 400) and 5035 (model needs Workers Paid, 403), used when an error arrives without an HTTP status
of its own (inside a stream, or in a 200 body):

| code | status | meaning |
|---|---|---|
| 3003, 3039, 5004, 5006, 5007 | 400 | incomplete request, fine-tune files, invalid data, bad input, no such model |
| 10000 | 401 | authentication error (Cloudflare API) |
| 3023, 3041, 5016, 5018, 5035 | 403 | account blocked, private model, model terms not accepted, paid plan needed |
| 3042 | 404 | invalid model id |
| 5005, 5019 | 405 | LoRA unsupported, deprecated SDK |
| 3007, 3008 | 408 | timeout, aborted |
| 3006 | 413 | request too large |
| 3036, 3040 | 429 | daily free neurons used up; out of capacity |

3036 also gets `x-should-retry: false`: the free allocation resets at 00:00 UTC, so the OpenAI SDK's
automatic retries cannot succeed (the gateway's own fallback to another deployment still may).

    >>> map_error(429, {"retry-after": "3"}, b'{"success":false,"errors":[{"code":3040,"message":"Out of capacity"}]}').code
    '3040'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from llmrelay.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.common import retry_headers
from llmrelay.providers.openai.chat import map_openai_error

STATUS_BY_CODE: Mapping[int, int] = {
    3003: 400, 3039: 400, 5004: 400, 5006: 400, 5007: 400,
    10000: 401,
    3023: 403, 3041: 403, 5016: 403, 5018: 403, 5035: 403,
    3042: 404,
    5005: 405, 5019: 405,
    3007: 408, 3008: 408,
    3006: 413,
    3036: 429, 3040: 429,
}  # fmt: skip
DAILY_LIMIT = 3036
_POINTER = re.compile(r"'/([A-Za-z_][\w-]*(?:/[\w-]+)*)'")


def map_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    """An error status from either endpoint → UpstreamStatusError with that status."""
    parsed = _loads(body)
    if isinstance(parsed, dict) and "errors" in parsed and not parsed.get("error"):
        return envelope_error(status, headers, parsed, body)
    return map_openai_error(status, headers, body)


def envelope_error(status: int, headers: Mapping[str, str], envelope: Mapping[str, Any], raw: bytes) -> UpstreamError:
    code, message = _first_error(envelope.get("errors"))
    kept = retry_headers(headers)
    if code == DAILY_LIMIT:
        kept["x-should-retry"] = "false"
    return UpstreamStatusError(
        status,
        message or f"Workers AI answered HTTP {status} without an error message.",
        param=_param_in(message) if status == 400 else None,
        code=str(code) if code is not None else None,
        headers=kept,
        raw=raw,
    )


def failure_in(obj: Mapping[str, Any], raw: bytes, default_status: int) -> UpstreamError | None:
    """The error a 200 body or a stream event carries (`success: false`, `errors`, `error`), if any."""
    error = obj.get("error")
    if error:
        code = error.get("code") if isinstance(error, dict) else None
        return map_openai_error(_status_of(code, default_status), {}, raw)
    errors = obj.get("errors")
    if obj.get("success") is False or (errors and isinstance(errors, list | dict)):
        code, _ = _first_error(errors)
        return envelope_error(_status_of(code, default_status), {}, obj, raw)
    return None


def unwrap(parsed: object, raw: bytes) -> dict[str, Any]:
    """`result` of a v4 envelope (raising what a `success: false` one says); any other object as it is."""
    if not isinstance(parsed, dict):
        raise UpstreamProtocolError("Workers AI answered with JSON that is not an object.")
    if "result" in parsed and ("success" in parsed or "errors" in parsed):
        failure = failure_in(parsed, raw, 502)
        if failure is not None:
            raise failure
        result = parsed["result"]
        if not isinstance(result, dict):
            raise UpstreamProtocolError("Workers AI answered with an envelope whose result is not an object.")
        return result
    return parsed


def loads(body: bytes | str) -> object:
    """Parsed JSON, or UpstreamProtocolError."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("Workers AI answered with a body that is not JSON.") from None


def _loads(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _first_error(errors: object) -> tuple[int | None, str]:
    """The first error's code and every error's message (Cloudflare often pairs 7003 with 7000)."""
    items = [errors] if isinstance(errors, dict) else errors if isinstance(errors, list) else []
    items = [item for item in items if isinstance(item, dict)]
    if not items:
        return None, ""
    code = items[0].get("code")
    messages = [str(item["message"]) for item in items if item.get("message")]
    return (_int_or_none(code), "; ".join(messages))


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _status_of(code: object, default: int) -> int:
    number = _int_or_none(code)
    return STATUS_BY_CODE.get(number, default) if number is not None else default


def _param_in(message: str) -> str | None:
    """`… '/messages/1/content' …` → `messages[1].content`: the first JSON pointer an error names."""
    match = _POINTER.search(message)
    if match is None:
        return None
    out = ""
    for part in match.group(1).split("/"):
        out += f"[{part}]" if part.isdigit() else f".{part}" if out else part
    return out
