"""A strict fake of Anthropic's Messages API, with recorded requests and planned faults.

    fake = FakeAnthropic()
    fake.plan(Status(529, headers={"retry-after": "3"}), StreamError(after_events=4))
    with serve_in_thread(fake.app) as server:
        ...                                      # POST {server.base_url}/v1/messages
    assert fake.requests[0].json["max_tokens"] == 4096

Routes: `POST /v1/messages` and `POST /v1/messages/count_tokens` (`{"input_tokens": N}`); anything
else is Anthropic's 404. Every request is recorded. Each
one takes the next planned directive (FIFO) on arrival; header and body validation errors win over
it. Directives: `Status` (an error answer; without a body, the Anthropic error body that fits the
status), `CutStream` (drop the connection after some events), `StreamError` (an `event: error`
after some events, then the end, as the API does when it overloads mid-stream). Validation lives in
`anthropic_validate`, the answers in `anthropic_wire`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes.anthropic_validate import AnthropicError, check_headers, validate_messages
from tests.fakes.anthropic_wire import input_tokens, message_body, plan_answer, sse, stream_events
from tests.fakes.asgi import Responder, send_bytes, send_json
from tests.fakes.recorder import CutStream as CutStream
from tests.fakes.recorder import RecordedRequest as RecordedRequest
from tests.fakes.recorder import Recorder
from tests.fakes.recorder import Status as Status

DEFAULT_MODELS = frozenset({"claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"})
_ROUTE = ("POST", "/v1/messages")
_COUNT_ROUTE = ("POST", "/v1/messages/count_tokens")
_DEFAULT_ERRORS = {
    400: AnthropicError(400, "invalid_request_error", "Invalid request (fake upstream)."),
    401: AnthropicError(401, "authentication_error", "invalid x-api-key"),
    403: AnthropicError(
        403, "permission_error", "Your API key does not have permission to use the specified resource."
    ),
    404: AnthropicError(404, "not_found_error", "The requested resource could not be found."),
    413: AnthropicError(413, "request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: AnthropicError(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: AnthropicError(500, "api_error", "Internal server error"),
    504: AnthropicError(504, "timeout_error", "Request timed out"),
    529: AnthropicError(529, "overloaded_error", "Overloaded"),
}


@dataclass(frozen=True)
class StreamError:
    """Stream `after_events` events, then `event: error` with this Anthropic error, then end the body."""

    after_events: int
    type: str = "overloaded_error"
    message: str = "Overloaded"


Directive = Status | CutStream | StreamError


def default_error(code: int) -> AnthropicError:
    return _DEFAULT_ERRORS.get(code) or AnthropicError(code, "api_error", f"Fake upstream error {code}.")


class FakeAnthropic(Recorder[Directive, RecordedRequest]):
    """The fake upstream; serve `.app` with `serve_in_thread` and inspect `.requests`."""

    def __init__(self, api_key: str = "sk-ant-test", models: frozenset[str] = DEFAULT_MODELS) -> None:
        super().__init__(RecordedRequest)
        self.api_key = api_key
        self.models = models

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = await self.accept(scope, receive, takes_directive=True)
        if received is None:
            return
        request, directive, number = received
        headers = request.headers
        payload = request.json
        route = (scope["method"], scope["path"])
        error = None if route in (_ROUTE, _COUNT_ROUTE) else AnthropicError(404, "not_found_error", "Not Found")
        error = error or check_headers(headers, self.api_key)
        if error is None and payload is None:
            error = AnthropicError(
                400, "invalid_request_error", "There was an issue with your request body: invalid JSON"
            )
        error = error or validate_messages(payload, self.models, count=route == _COUNT_ROUTE)
        if error is not None:
            await send_json(send, error.status, error.body(_request_id(number)), _headers(number))
        elif route == _COUNT_ROUTE and not isinstance(directive, Status):
            await send_json(send, 200, {"input_tokens": input_tokens(payload)}, _headers(number))
        elif isinstance(directive, Status):
            await _send_status(send, directive, number)
        else:
            async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
                await _respond(out, payload, directive, number)


def _request_id(number: int) -> str:
    return f"req_fake{number:06d}"


def _headers(number: int, content_type: str = "application/json") -> dict[str, str]:
    """Response headers shaped like api.anthropic.com's (reference §2)."""
    return {
        "content-type": content_type,
        "request-id": _request_id(number),
        "anthropic-organization-id": "org-fake",
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-requests-reset": "2025-01-01T00:00:01Z",
    }


async def _send_status(send: Send, directive: Status, number: int) -> None:
    body = directive.body
    if body is None:
        body = orjson.dumps(default_error(directive.code).body(_request_id(number)))
    elif not isinstance(body, bytes):
        body = orjson.dumps(dict(body))
    headers = {
        **_headers(number),
        "x-should-retry": "true" if directive.code >= 500 or directive.code == 429 else "false",
    }
    await send_bytes(send, directive.code, body, {**headers, **{k.lower(): v for k, v in directive.headers.items()}})


async def _respond(out: Responder, payload: dict[str, Any], directive: Directive | None, number: int) -> None:
    answer = plan_answer(payload, call_prefix=f"toolu_fake{number:04d}_")
    message_id = f"msg_fake{number:06d}"
    if not payload.get("stream"):
        body = orjson.dumps(message_body(answer, message_id))
        await out.start(200, {**_headers(number), "content-length": str(len(body))})
        await out.end(body)
        return
    events = stream_events(answer, message_id)
    await out.start(200, {**_headers(number, "text/event-stream; charset=utf-8"), "cache-control": "no-cache"})
    stop_at = min(directive.after_events, len(events) - 1) if isinstance(directive, CutStream | StreamError) else None
    for index, event in enumerate(events):
        if index == stop_at and isinstance(directive, CutStream):
            await out.abort()
        if index == stop_at and isinstance(directive, StreamError):
            error = {"type": "error", "error": {"type": directive.type, "message": directive.message}}
            await out.end(sse(error))
            return
        if out.disconnected.is_set():
            return
        await out.chunk(event)
        await asyncio.sleep(0)  # let the disconnect watcher run between events
    await out.end()
