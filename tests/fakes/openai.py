"""A strict fake of OpenAI's Chat Completions API, with recorded requests and planned faults.

    fake = FakeOpenAI()
    fake.plan(Status(429, headers={"retry-after": "2"}), CutStream(after_events=2))
    with serve_in_thread(fake.app) as server:
        ...                                      # POST {server.base_url}/v1/chat/completions
    assert fake.requests[0].json["model"] == "gpt-4o-mini"

Routes: ``POST /v1/chat/completions`` and ``GET /v1/models``; anything else is OpenAI's 404. Every
request is recorded. Each chat request takes the next planned directive (FIFO) on arrival; validation
errors win over it, and with no directive left the fake answers normally. ``CutStream`` on a
non-stream request sends the headers and half the body before the drop. Validation lives in
``openai_validate``, the answer shapes in ``openai_wire``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes.asgi import Responder, send_json
from tests.fakes.openai_completions import completion_body as completion_text_body
from tests.fakes.openai_completions import completion_events, validate_completion
from tests.fakes.openai_embeddings import embeddings_body, validate_embeddings
from tests.fakes.openai_validate import ApiError, check_auth, parse_json_body, validate_chat
from tests.fakes.openai_wire import Ids, completion_body, models_body, plan_answer, stream_events
from tests.fakes.recorder import CutStream as CutStream
from tests.fakes.recorder import RecordedRequest as RecordedRequest
from tests.fakes.recorder import Recorder
from tests.fakes.recorder import Status as Status

DEFAULT_MODELS = frozenset({"gpt-4o-mini", "gpt-4o"})
_CHAT = ("POST", "/v1/chat/completions")
_MODELS = ("GET", "/v1/models")
_EMBEDDINGS = ("POST", "/v1/embeddings")
_COMPLETIONS = ("POST", "/v1/completions")


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before the response headers (slow first byte), then answer normally or as ``then``."""

    seconds: float
    then: Directive | None = None


@dataclass(frozen=True)
class Garbage:
    """Answer 200 ``application/json`` with a body that is not JSON."""


@dataclass(frozen=True)
class Hang:
    """Stream the first event, then wait for the client to disconnect (non-stream: send nothing)."""


@dataclass(frozen=True)
class Gate:
    """Stream the first event, then hold the rest until the test sets ``opened`` (at most 30 s)."""

    opened: threading.Event


Directive = Status | Delay | CutStream | Garbage | Hang | Gate

GARBAGE_BODY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
_RATE_LIMITED = (
    "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): "
    "Limit 3, Used 3, Requested 1. Please try again in 20s."
)
_BAD_KEY = (
    "Incorrect API key provided: sk-***********test. You can find your API key at "
    "https://platform.openai.com/account/api-keys."
)
_NO_MODEL = "The model `gpt-4o-mini` does not exist or you do not have access to it."
_STATUS_ERRORS: dict[int, ApiError] = {
    400: ApiError(400, "Invalid request (fake upstream).", code="invalid_value"),
    401: ApiError(401, _BAD_KEY, code="invalid_api_key"),
    403: ApiError(403, "You are not allowed to sample from this model.", code="unsupported_country_region_territory"),
    404: ApiError(404, _NO_MODEL, code="model_not_found"),
    429: ApiError(429, _RATE_LIMITED, "requests", code="rate_limit_exceeded"),
    500: ApiError(500, "The server had an error while processing your request. Sorry about that!", "server_error"),
    502: ApiError(502, "Bad gateway.", "server_error"),
    503: ApiError(503, "The server is overloaded or not ready yet.", "server_error"),
    504: ApiError(504, "Gateway timeout.", "server_error"),
}


def default_error(code: int) -> ApiError:
    """The OpenAI-style error the fake sends for ``Status(code)`` without a body."""
    if code in _STATUS_ERRORS:
        return _STATUS_ERRORS[code]
    kind = "server_error" if code >= 500 else "invalid_request_error"
    return ApiError(code, f"Fake upstream error {code}.", kind)


class FakeOpenAI(Recorder[Directive, RecordedRequest]):
    """The fake upstream; serve ``.app`` with ``serve_in_thread`` and inspect ``.requests``.

    ``extra_fields`` names top-level request fields accepted beyond OpenAI's own, to play a
    vLLM-like server: ``FakeOpenAI(extra_fields=frozenset({"top_k", "repetition_penalty"}))``.
    """

    def __init__(
        self,
        api_key: str = "sk-upstream-test",
        extra_fields: frozenset[str] = frozenset(),
        models: frozenset[str] = DEFAULT_MODELS,
    ) -> None:
        super().__init__(RecordedRequest)
        self.api_key = api_key
        self.extra_fields = extra_fields
        self.models = models

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application."""
        received = await self.accept(
            scope, receive, takes_directive=lambda s: (s["method"], s["path"]) in (_CHAT, _EMBEDDINGS)
        )
        if received is None:
            return
        request, directive, number = received
        headers, body = request.headers, request.body
        route = (scope["method"], scope["path"])
        error = (
            None
            if route in (_CHAT, _MODELS, _EMBEDDINGS, _COMPLETIONS)
            else ApiError(404, f"Invalid URL ({route[0]} {route[1]})")
        )
        error = error or check_auth(headers, self.api_key)
        if error is not None:
            await _send_error(send, error, number)
        elif route == _MODELS:
            await send_json(send, 200, models_body(self.models), _openai_headers(number))
        elif route == _EMBEDDINGS:
            await self._embeddings(send, headers, body, directive, number)
        elif route == _COMPLETIONS:
            await self._completions(receive, send, headers, body, number)
        else:
            await self._chat(receive, send, headers, body, directive, number)

    async def _chat(
        self,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        body: bytes,
        directive: Directive | None,
        number: int,
    ) -> None:
        payload, error = parse_json_body(headers, body)
        error = error or validate_chat(payload, self.models, self.extra_fields)
        if error is not None:
            await _send_error(send, error, number)
            return
        async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
            await _respond(out, payload, directive, number)

    async def _embeddings(
        self, send: Send, headers: dict[str, str], body: bytes, directive: Directive | None, number: int
    ) -> None:
        payload, error = parse_json_body(headers, body)
        error = error or validate_embeddings(payload, self.extra_fields)
        if error is None and isinstance(directive, Status):
            error = default_error(directive.code)
        if error is not None:
            await _send_error(send, error, number)
            return
        await send_json(send, 200, embeddings_body(payload), _openai_headers(number))

    async def _completions(
        self, receive: Receive, send: Send, headers: dict[str, str], body: bytes, number: int
    ) -> None:
        payload, error = parse_json_body(headers, body)
        error = error or validate_completion(payload, self.extra_fields)
        if error is not None:
            await _send_error(send, error, number)
        elif not payload.get("stream"):
            await send_json(send, 200, completion_text_body(payload, number), _openai_headers(number))
        else:
            async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
                await out.start(200, _openai_headers(number, "text/event-stream; charset=utf-8"))
                for event in completion_events(payload, number):
                    await out.chunk(event)
                await out.end()


async def _send_error(send: Send, error: ApiError, number: int) -> None:
    await send_json(send, error.status, error.envelope(), _openai_headers(number))


def _openai_headers(number: int, content_type: str = "application/json") -> dict[str, str]:
    """Response headers shaped like api.openai.com's (reference §1)."""
    return {
        "content-type": content_type,
        "x-request-id": f"req_fake{number:06d}",
        "openai-processing-ms": "7",
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "199990",
        "x-ratelimit-reset-tokens": "3ms",
    }


async def _respond(out: Responder, payload: dict[str, Any], directive: Directive | None, number: int) -> None:
    """Answer a valid chat request as ``directive`` says (normally when ``None``)."""
    if isinstance(directive, Delay):
        if await out.wait_disconnect(directive.seconds):
            return
        await _respond(out, payload, directive.then, number)
    elif isinstance(directive, Status):
        await _respond_status(out, directive, number)
    elif isinstance(directive, Garbage):
        await out.start(200, {**_openai_headers(number), "content-length": str(len(GARBAGE_BODY))})
        await out.end(GARBAGE_BODY)
    elif payload.get("stream"):
        await _respond_stream(out, payload, directive, number)
    else:
        await _respond_completion(out, payload, directive, number)


async def _respond_status(out: Responder, directive: Status, number: int) -> None:
    body = directive.body
    if body is None:
        body = orjson.dumps(default_error(directive.code).envelope())
    elif not isinstance(body, bytes):
        body = orjson.dumps(dict(body))
    headers = {**_openai_headers(number), **{k.lower(): v for k, v in directive.headers.items()}}
    await out.start(directive.code, {**headers, "content-length": str(len(body))})
    await out.end(body)


async def _respond_completion(
    out: Responder, payload: dict[str, Any], directive: Directive | None, number: int
) -> None:
    if isinstance(directive, Hang):
        await out.wait_disconnect()
        return
    body = orjson.dumps(completion_body(plan_answer(payload), _ids(number)))
    await out.start(200, {**_openai_headers(number), "content-length": str(len(body))})
    if isinstance(directive, CutStream):
        await out.chunk(body[: len(body) // 2])
        await out.abort()
    await out.end(body)


async def _respond_stream(out: Responder, payload: dict[str, Any], directive: Directive | None, number: int) -> None:
    events = stream_events(plan_answer(payload), _ids(number))
    await out.start(200, _openai_headers(number, "text/event-stream; charset=utf-8"))
    if isinstance(directive, Hang):
        await out.chunk(events[0])
        await out.wait_disconnect()
        return
    cut_at = min(directive.after_events, len(events) - 1) if isinstance(directive, CutStream) else None
    for index, event in enumerate(events):
        if index == cut_at:
            await out.abort()
        if index == 1 and isinstance(directive, Gate):
            await asyncio.to_thread(directive.opened.wait, 30)
        if out.disconnected.is_set():
            return
        await out.chunk(event)
        await asyncio.sleep(0)  # let the disconnect watcher run between events
    await out.end()


def _ids(number: int) -> Ids:
    return Ids(completion=f"chatcmpl-fake{number:06d}", call_prefix=f"call_fake{number:04d}_")
