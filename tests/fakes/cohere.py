"""A strict fake of Cohere's Chat v2 and Embed v2 APIs, with recorded requests and planned faults.

    fake = FakeCohere()
    fake.plan(Status(429, headers={"retry-after": "2"}), StreamError(after_events=2))
    with serve_in_thread(fake.app) as server:
        ...                                      # POST {server.base_url}/v2/chat
    assert fake.requests[0].json["model"] == "command-a-03-2025"

Routes: `POST /v2/chat` and `POST /v2/embed`; anything else is a 404. Every request is recorded;
each one to a route takes the next planned directive (FIFO). Auth and validation errors win over a
directive. Validation lives in `cohere_validate`, the answers in `cohere_wire`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from tests.fakes.asgi import Responder, send_json
from tests.fakes.cohere_validate import CohereError, check_auth, parse_json, validate_chat, validate_embed
from tests.fakes.cohere_wire import embed_body, error_end, plan_answer, reply_body, stream_events
from tests.fakes.recorder import CutStream as CutStream
from tests.fakes.recorder import RecordedRequest as RecordedRequest
from tests.fakes.recorder import Recorder

CHAT_MODELS = frozenset({"command-a-03-2025", "command-r7b-12-2024", "command-a-vision-07-2025"})
VISION_MODELS = frozenset({"command-a-vision-07-2025"})
EMBED_DIMENSIONS = {"embed-v4.0": 1536, "embed-english-v3.0": 1024}
SIZED_EMBED_MODELS = frozenset({"embed-v4.0"})
_CHAT = ("POST", "/v2/chat")
_EMBED = ("POST", "/v2/embed")


@dataclass(frozen=True)
class Status:
    """Answer with this status; the body is Cohere's `{"id", "message"}` with `message` (or a default)."""

    code: int
    message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamError:
    """Stream `after_events` events, then a message-end carrying `error` (cohere-python ChatMessageEndEventDelta)."""

    after_events: int
    message: str = "internal server error, this has been reported to our developers"
    finish_reason: str = "ERROR"


Directive = Status | CutStream | StreamError

_DEFAULT_MESSAGES = {
    400: "invalid request: fake upstream error",
    401: "invalid api token",
    404: "model not found",
    429: "You are using a Trial key, which is limited to 20 API calls / minute.",
    499: "request was cancelled",
    500: "internal server error, this has been reported to our developers",
    503: "service unavailable, please try again later",
}


class FakeCohere(Recorder[Directive, RecordedRequest]):
    """The fake upstream; serve `.app` with `serve_in_thread` and inspect `.requests`."""

    def __init__(self, api_key: str = "co-upstream-test") -> None:
        super().__init__(RecordedRequest)
        self.api_key = api_key

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = await self.accept(
            scope, receive, takes_directive=lambda s: (s["method"], s["path"]) in (_CHAT, _EMBED)
        )
        if received is None:
            return
        request, directive, number = received
        headers, body = request.headers, request.body
        route = (scope["method"], scope["path"])
        if route not in (_CHAT, _EMBED):
            await _send_error(send, CohereError(404, f"Not Found: {route[0]} {route[1]}"), number)
            return
        payload, error = parse_json(headers, body)
        error = check_auth(headers, self.api_key) or error
        if error is None and route == _CHAT:
            error = validate_chat(payload, CHAT_MODELS, VISION_MODELS)
        elif error is None:
            error = validate_embed(payload, frozenset(EMBED_DIMENSIONS), SIZED_EMBED_MODELS)
        if error is None and isinstance(directive, Status):
            await _send_error(send, _status_error(directive), number, directive.headers)
        elif error is not None:
            await _send_error(send, error, number)
        elif route == _EMBED:
            reply = embed_body(payload, _reply_id(number), EMBED_DIMENSIONS[payload["model"]])
            await send_json(send, 200, reply, _headers(number))
        elif payload.get("stream"):
            async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
                await _stream(out, payload, directive, number)
        else:
            await send_json(send, 200, reply_body(plan_answer(payload), _reply_id(number)), _headers(number))


def _status_error(directive: Status) -> CohereError:
    return CohereError(
        directive.code, directive.message or _DEFAULT_MESSAGES.get(directive.code, "fake upstream error")
    )


def _reply_id(number: int) -> str:
    return str(uuid.UUID(int=number, version=4))


def _headers(number: int, content_type: str = "application/json") -> dict[str, str]:
    """Response headers shaped like api.cohere.com's."""
    return {"content-type": content_type, "x-debug-trace-id": f"{number:032x}", "vary": "Origin"}


async def _send_error(send: Send, error: CohereError, number: int, extra: Mapping[str, str] | None = None) -> None:
    headers = {**_headers(number), **{k.lower(): v for k, v in (extra or {}).items()}}
    await send_json(send, error.status, error.body(_reply_id(number)), headers)


async def _stream(out: Responder, payload: dict[str, Any], directive: Directive | None, number: int) -> None:
    events = stream_events(plan_answer(payload), _reply_id(number))
    await out.start(200, _headers(number, "text/event-stream"))
    stop_at = directive.after_events if isinstance(directive, CutStream | StreamError) else None
    for index, data in enumerate(events):
        if index == stop_at:
            if isinstance(directive, CutStream):
                await out.abort()
            if isinstance(directive, StreamError):
                await out.chunk(error_end(directive.message, directive.finish_reason))
            break
        if out.disconnected.is_set():
            return
        await out.chunk(data)
        await asyncio.sleep(0)  # let the disconnect watcher run between events
    await out.end()
