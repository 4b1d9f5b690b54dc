"""BITO's error bodies → llmrelay's error tree, before the stream starts and inside it.

BITO's own error shape is `{"status": 1|2|3, "response": "<message>"}`; its web extension treats
`"response": "Unauthorized Access"` as an auth failure and reports it as a 403 (reference §6; the public
Chrome-extension client's `getAnswer`). Anything else (an `{"error": …}` envelope, a gateway's HTML page)
is read the way the OpenAI adapter reads it. BITO names no parameter in its errors, so `param` stays null.

    >>> map_bito_error(403, {}, b'{"status":1,"response":"Unauthorized Access"}').status_code
    403
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from llmrelay.errors import UpstreamError, UpstreamStatusError
from llmrelay.providers.common import retry_headers
from llmrelay.providers.openai.chat import map_openai_error

UNAUTHORIZED = "Unauthorized Access"
IN_STREAM_STATUS = 502
"""An error that arrives after the status line: the upstream failed mid-answer (a bad gateway for us)."""


def map_bito_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("response"), str):
        return _bito_error(status, parsed, headers, body)
    return map_openai_error(status, headers, body)


def in_stream_error(obj: Mapping[str, Any], raw: bytes) -> UpstreamError | None:
    """The error a stream object without `choices` carries, or None when it carries none."""
    if isinstance(obj.get("response"), str):
        return _bito_error(IN_STREAM_STATUS, obj, {}, raw)
    if "error" in obj:
        return map_openai_error(IN_STREAM_STATUS, {}, raw)
    return None


def _bito_error(status: int, obj: Mapping[str, Any], headers: Mapping[str, str], raw: bytes) -> UpstreamStatusError:
    message = obj["response"] or f"The BITO upstream answered HTTP {status}."
    if message == UNAUTHORIZED and status not in (401, 403):
        status = 403
    kept = retry_headers(headers)
    return UpstreamStatusError(status, message, headers=kept, raw=raw)
