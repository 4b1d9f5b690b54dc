"""Pure ASGI middleware for every request: request id, body size limit, last-resort errors, access log.

It never buffers a response, so streams pass straight through.

    >>> app = EdgeMiddleware(app, max_body=32 * 1024 * 1024)
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llmrelay.errors import RelayError, RequestTooLargeError, ServerError
from llmrelay.observability.logging import get_logger
from llmrelay.pipeline.context import RequestRecord

RECORD_KEY = "llmrelay.record"
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, max_body: int, cost: Callable[[RequestRecord], Decimal | None]) -> None:
        self.app = app
        self.max_body = max_body
        self.cost = cost
        self.log = get_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, length = _read_headers(scope)
        record = RequestRecord(request_id)
        scope[RECORD_KEY] = record
        id_header = (b"x-request-id", request_id.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            if length is not None and length > self.max_body:
                await send_error(send_with_id, _too_large(self.max_body))
            else:
                limited = receive if length is not None else _limit(receive, self.max_body)
                await self.app(scope, limited, send_with_id)
        except _BodyTooLarge:
            if status == 0:
                await send_error(send_with_id, _too_large(self.max_body))
        except Exception:  # the one last-resort handler: a bug must not reach the client as a trace
            self.log.exception("unhandled_error", request_id=request_id, path=scope["path"])
            if status == 0:
                await send_error(send_with_id, ServerError("The gateway failed to handle this request."))
            status = status or 500
        finally:
            self._access_log(scope, record, status)

    def _access_log(self, scope: Scope, record: RequestRecord, status: int) -> None:
        usage: Mapping[str, object] = record.usage or {}
        self.log.info(
            "request",
            request_id=record.request_id,
            method=scope["method"],
            path=scope["path"],
            status=status,
            latency_ms=round((time.perf_counter() - record.started) * 1000, 3),
            model=record.model,
            provider=record.provider,
            upstream_model=record.upstream_model,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            cost_usd=_usd(self.cost(record)),
        )


def _usd(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


class _BodyTooLarge(Exception):
    pass


def _read_headers(scope: Scope) -> tuple[str, int | None]:
    request_id: str | None = None
    length: int | None = None
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _VALID_ID.fullmatch(value):
            request_id = value.decode()
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    return request_id or f"req_{uuid.uuid4().hex}", length


def _limit(receive: Receive, max_body: int) -> Receive:
    """A receive that fails once a body without Content-Length grows past the limit."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_body:
                raise _BodyTooLarge
        return message

    return limited


def _too_large(max_body: int) -> RequestTooLargeError:
    return RequestTooLargeError(f"The request body is larger than the gateway's limit of {max_body} bytes.")


async def send_error(send: Send, error: RelayError) -> None:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": orjson.dumps(error.to_body())})
