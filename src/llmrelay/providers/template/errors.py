"""A template upstream's error bodies → llmrelay's error tree, before the stream starts and inside it.

Error objects are recognised by shape, not by message text: an `error` key (an object with
`message`/`details`/`msg` and `code`/`type`, or a string), or `success: false` with a `data` object
(`details`/`message`, `code`). Those are the shapes chat.qwen.ai uses (reference §8.1; Qwen2API
src/utils/upstream-error.js `assertNoUpstreamFailure` reads the same fields), and the `error` one is
OpenAI's. An HTTP error keeps its status; an error inside a 200 answer takes the status the template's
`response.error_statuses` gives its code, else 502 (the upstream failed mid-answer: a bad gateway for us).
Anything else is read the way the OpenAI adapter reads it.

    >>> map_template_error(429, {}, b'{"success":false,"data":{"code":"RateLimited","details":"Slow down"}}').message
    'Slow down'
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from llmrelay.errors import UpstreamError, UpstreamStatusError
from llmrelay.providers.common import retry_headers
from llmrelay.providers.openai.chat import map_openai_error
from llmrelay.providers.template.spec import JSONValue

IN_STREAM_STATUS = 502


def map_template_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        error = error_in(parsed, {}, status, body, headers)
        if error is not None:
            return error
    return map_openai_error(status, headers, body)


def error_in(
    obj: Mapping[str, JSONValue],
    statuses: Mapping[str, int],
    status: int,
    raw: bytes,
    headers: Mapping[str, str],
) -> UpstreamStatusError | None:
    """The error `obj` carries, or None when it carries none."""
    found = _read(obj)
    if found is None:
        return None
    message, code = found
    if code is not None:
        status = statuses.get(code, status)
    if not message:
        message = f"The upstream reported an error ({code})." if code else "The upstream reported an error."
    kept = retry_headers(headers)
    return UpstreamStatusError(status, message, code=code, headers=kept, raw=raw)


def _read(obj: Mapping[str, JSONValue]) -> tuple[str | None, str | None] | None:
    error = obj.get("error")
    if isinstance(error, dict):
        return _text(error, "message", "details", "msg"), _text(error, "code", "type")
    if isinstance(error, str) and error:
        return error, None
    if obj.get("success") is False:
        data = obj.get("data")
        fields = data if isinstance(data, dict) else {}
        message = _text(fields, "details", "message") or _text(obj, "message", "msg")
        return message, _text(fields, "code") or _text(obj, "code")
    return None


def _text(obj: Mapping[str, JSONValue], *names: str) -> str | None:
    for name in names:
        value = obj.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None
