"""Pure ASGI middleware for every request: request id, security headers, body size limit, last-resort
errors, access log, and the usage record and metrics of every /v1/ request (`usage` queues the
record; `metrics` counts it, with the requests in flight).

It never buffers a response, so streams pass straight through (only the few-hundred-byte /docs page
is held, to hash its inline script into its Content-Security-Policy: api/security.py).

A successful /v1/ inference response says which model entry answered (`x-llmrelay-model`, its public
name) and where (`x-llmrelay-deployment: provider/upstream-model`): a fallback's, after a failure.
A finished JSON response to /v1/ carries `x-llmrelay-cost-usd`: its cost in USD, "0" when no
provider was reached or the request failed, absent when the model's price is unknown. A stream's
cost is known only when it ends, after its headers went out: it is in the usage record and the log.

    >>> app = EdgeMiddleware(app, max_body=32 * 1024 * 1024)
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from decimal import Decimal

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llmrelay.api.security import SECURITY_HEADERS, with_docs_csp
from llmrelay.dialects.anthropic_errors import error_body as anthropic_error_body
from llmrelay.errors import RelayError, RequestTooLargeError, ServerError
from llmrelay.observability.logging import get_logger, hot_info
from llmrelay.observability.metrics import Metrics
from llmrelay.observability.tracing import Tracing
from llmrelay.pipeline.context import RequestRecord
from llmrelay.pipeline.usage import usage_record
from llmrelay.storage.usage import UsageRecord

RECORD_KEY = "llmrelay.record"
COST_HEADER = b"x-llmrelay-cost-usd"
MODEL_HEADER = b"x-llmrelay-model"
DEPLOYMENT_HEADER = b"x-llmrelay-deployment"
DOCS_PATH = "/docs"
ANTHROPIC_PATH = "/v1/messages"
"""Its routes (api/v1/messages.py) render errors in Anthropic's envelope, these last-resort ones too."""
CLIENT_CLOSED = 499
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
SELF_LIMITED = frozenset({"/v1/files"})
"""Routes that bound their own body while they stream it (file uploads: `files.max_bytes`, not `max_body`)."""


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        cost: Callable[[RequestRecord], Decimal | None],
        usage: Callable[[UsageRecord], None] | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.cost = cost
        self.usage = usage
        self.metrics = metrics
        self.tracing = tracing
        self.traced_paths = tracing.paths if tracing is not None else frozenset[str]()
        self.log = get_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, length = _read_headers(scope)
        record = scope[RECORD_KEY] = self._record(scope, request_id)
        billed = scope["path"].startswith("/v1/")  # also what the metrics count: not /health, /metrics, /admin
        metrics = _in_flight(self.metrics if billed else None)
        anthropic = request_id if scope["path"].startswith(ANTHROPIC_PATH) else None
        sent = _Sent(self, scope, send, record, billed)
        own_limit = scope["path"] in SELF_LIMITED
        try:
            if length is not None and length > self.max_body and not own_limit:
                await send_error(sent, _too_large(self.max_body), anthropic)
            else:
                limited = receive if length is not None or own_limit else _limit(receive, self.max_body)
                await self.app(scope, limited, sent)
        except _BodyTooLarge:
            if sent.status == 0:
                await send_error(sent, _too_large(self.max_body), anthropic)
        except Exception:  # the one last-resort handler: a bug must not reach the client as a trace
            self.log.exception("unhandled_error", request_id=request_id, path=scope["path"])
            if sent.status == 0:
                await send_error(sent, ServerError("The gateway failed to handle this request."), anthropic)
            sent.status = sent.status or 500
        finally:
            _in_flight(metrics, ended=True)
            final = _final_status(sent.status, sent.ended, record.streamed)
            self._finish(scope, record, final, billed)
            if record.limits is not None:
                await _settle_limits(record, final, True)

    def _record(self, scope: Scope, request_id: str) -> RequestRecord:
        record = RequestRecord(request_id)
        record.client = client[0] if (client := scope.get("client")) else None
        if self.traced_paths and scope["path"] in self.traced_paths:
            record.attempts = []  # a traced request: the relay notes each upstream try on it
        return record

    def _start_headers(
        self, record: RequestRecord, start: Message, added: list[tuple[bytes, bytes]], billed: bool
    ) -> list[tuple[bytes, bytes]]:
        headers = [*start.get("headers", ()), *added]
        if record.limits is not None:
            headers += record.limits.headers()
        if billed and (cost := self._cost_header(record, headers, start["status"])) is not None:
            headers.append((COST_HEADER, cost))
        if billed and start["status"] < 400 and record.provider is not None:
            headers += _answered_by(record)
        return headers

    def _cost_header(self, record: RequestRecord, headers: list[tuple[bytes, bytes]], status: int) -> bytes | None:
        """The cost of a finished JSON response; a stream is marked as one and gets none (not known yet)."""
        for name, value in headers:
            if name == b"content-type" and value.startswith(b"text/event-stream"):
                record.streamed = True
                return None
        if record.usage is None:
            return b"0" if status >= 400 or record.provider is None else None
        amount = self._cost_of(record)
        return None if amount is None else format(amount, "f").encode()

    def _cost_of(self, record: RequestRecord) -> Decimal | None:
        """The request's cost, computed once (the cost header and the end of the request both need it)."""
        if not record.cost_known:
            record.cost, record.cost_known = self.cost(record), True
        return record.cost

    def _finish(self, scope: Scope, record: RequestRecord, status: int, billed: bool) -> None:
        cost = self._cost_of(record)
        latency = time.perf_counter() - record.started
        self._access_log(scope, record, status, cost, latency)
        if record.attempts is not None and self.tracing is not None:
            self.tracing.emit(record, path=scope["path"], status=status)
        if not billed:
            return
        if self.usage is not None:
            self.usage(usage_record(record, status=status, path=scope["path"], cost=cost))
        if self.metrics is not None:
            first = record.first_byte
            ttft = first - record.started if record.streamed and first is not None else None
            # Gateway overhead = total − time waiting on upstreams; for a stream only the wait for its
            # first chunk is measured, so the overhead would include the whole stream: not observed.
            upstream = None if record.streamed else record.upstream_seconds
            self.metrics.observe(record, status=status, latency=latency, ttft=ttft, upstream=upstream, cost_usd=cost)

    def _access_log(
        self, scope: Scope, record: RequestRecord, status: int, cost: Decimal | None, latency: float
    ) -> None:
        usage: Mapping[str, object] = record.usage or {}
        hot_info(  # names and numbers only: never a header or a key
            "request",
            {
                "request_id": record.request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "latency_ms": round(latency * 1000, 3),
                "model": record.model,
                "provider": record.provider,
                "upstream_model": record.upstream_model,
                "prompt_tokens": usage.get("prompt_tokens"),
                "completion_tokens": usage.get("completion_tokens"),
                "cost_usd": _usd(cost),
            },
        )


class _Sent:
    """The send the app gets: adds the edge's headers to the response start, notes the status, the
    first body byte and the end, and settles the rate-limit reservation before the last byte."""

    __slots__ = ("added", "billed", "edge", "ended", "outer", "record", "status")

    def __init__(self, edge: EdgeMiddleware, scope: Scope, send: Send, record: RequestRecord, billed: bool) -> None:
        self.edge, self.outer, self.record, self.billed = edge, _outer_send(scope, send), record, billed
        self.added = [(b"x-request-id", record.request_id.encode()), *SECURITY_HEADERS]
        self.status = 0
        self.ended = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = self.edge._start_headers(self.record, message, self.added, self.billed)
        elif message["type"] == "http.response.body":
            self.ended = _body_sent(self.record, message)
            if self.ended and self.record.limits is not None:  # settled before the last byte goes out
                await _settle_limits(self.record, self.status, True)
        await self.outer(message)


def _answered_by(record: RequestRecord) -> list[tuple[bytes, bytes]]:
    """Which model and deployment answered (a fallback's, after a failure): names from the config only."""
    deployment = f"{record.provider}/{record.upstream_model or ''}"
    return [
        (MODEL_HEADER, (record.model or "").encode("latin-1", "replace")),
        (DEPLOYMENT_HEADER, deployment.encode("latin-1", "replace")),
    ]


def _in_flight(metrics: Metrics | None, *, ended: bool = False) -> Metrics | None:
    """Count the request in (then out of) the in-flight gauge; pass None for requests not counted."""
    if metrics is not None:
        (metrics.request_ended if ended else metrics.request_started)()
    return metrics


def _outer_send(scope: Scope, send: Send) -> Send:
    return with_docs_csp(send) if scope["path"] == DOCS_PATH else send


def _body_sent(record: RequestRecord, message: Message) -> bool:
    """Note when the first body bytes go out; True once the response body is complete."""
    if record.first_byte is None and message.get("body"):
        record.first_byte = time.perf_counter()
    return not message.get("more_body", False)


async def _settle_limits(record: RequestRecord, status: int, ended: bool) -> None:
    """Settle the request's TPM reservation to its usage once its response ends (or is cut short).
    Done before the last byte goes out, so the client's next request already sees it; once only."""
    if ended and record.limits is not None:
        await record.limits.settle(record.usage, status)


def _final_status(status: int, ended: bool, streamed: bool) -> int:
    """The status a request is recorded with: 499 (nginx's "client closed request") for a stream the
    client left before its end, or for a request it left before any answer."""
    if status == 0 or (streamed and not ended):
        return CLIENT_CLOSED
    return status


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
    return request_id or new_request_id(), length


class _Ids:
    """A random 80-bit prefix per process and a counter: unique like a uuid4, without a uuid4's
    `os.urandom` system call per request."""

    prefix = secrets.token_hex(10)
    counter = itertools.count()

    @classmethod
    def reset(cls) -> None:  # a forked child must not repeat its parent's ids
        cls.prefix, cls.counter = secrets.token_hex(10), itertools.count()


os.register_at_fork(after_in_child=_Ids.reset)


def new_request_id() -> str:
    """`req_` and 32 hex digits, as before: 20 of the process's prefix, 12 of its count."""
    return f"req_{_Ids.prefix}{next(_Ids.counter) & 0xFFFFFFFFFFFF:012x}"


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


async def send_error(send: Send, error: RelayError, anthropic: str | None = None) -> None:
    """The error in OpenAI's envelope; in Anthropic's when `anthropic` (its request id) is given."""
    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    body = error.to_body() if anthropic is None else anthropic_error_body(error, anthropic)
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": orjson.dumps(body)})
