"""A strict fake of the native Gemini API, with recorded requests and planned faults.

    fake = FakeGemini()
    fake.plan(Status(429), StreamError(after_events=1, code=503))
    with serve_in_thread(fake.app) as server:
        ...                                   # POST {server.base_url}/v1beta/models/gemini-2.5-flash:generateContent
    assert fake.requests[0].json["contents"][0]["role"] == "user"

Routes: `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse` and
`:batchEmbedContents`; anything else is Google's 404. Auth is `x-goog-api-key` (see
`gemini_validate.check_auth`). Each generate/embed request takes the next planned directive (FIFO)
on arrival; validation errors win over it. `Status(code)` without a body sends the google.rpc error
that fits the code (429 with RetryInfo). Streams are SSE with `\\r\\n\\r\\n` separators and end at
EOF, no `[DONE]`, as the real API's do. Without `alt=sse` the real API streams one JSON array; the fake
refuses that with a 400, since llmrelay must always ask for SSE.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes import recorder
from tests.fakes.asgi import Responder, send_bytes, send_json
from tests.fakes.gemini_validate import GoogleError, bad, check_auth, validate_embed, validate_generate
from tests.fakes.gemini_wire import blocked, error_event, generate_body, plan_answer, stream_events
from tests.fakes.openai_embeddings import vector
from tests.fakes.recorder import CutStream as CutStream
from tests.fakes.recorder import Status as Status

CHAT_MODELS = frozenset({"gemini-2.5-flash", "gemini-3-pro-preview"})
SIGNING_MODELS = frozenset({"gemini-3-pro-preview"})
EMBEDDING_MODELS = frozenset({"gemini-embedding-001"})
DEFAULT_DIMENSIONS = 8
_ROUTE = re.compile(
    r"/v1beta/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent|batchEmbedContents)"
)
_GOOGLE_HEADERS = {
    "vary": "Origin, X-Origin, Referer",
    "server": "scaffolding on HTTPServer2",
    "x-xss-protection": "0",
    "x-frame-options": "SAMEORIGIN",
    "x-content-type-options": "nosniff",
}
_RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "23s"}
_STATUS_ERRORS = {
    400: GoogleError(400, "Request contains an invalid argument."),
    429: GoogleError(
        429, "You exceeded your current quota, please check your plan and billing details.", [_RETRY_INFO]
    ),
    500: GoogleError(
        500,
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: GoogleError(503, "The model is overloaded. Please try again later."),
}


class RecordedRequest(recorder.RecordedRequest):
    """A recorded request; ``query`` is its raw query string (``alt=sse`` on a stream request)."""

    @property
    def query(self) -> str:
        return self.query_string


@dataclass(frozen=True)
class StreamError:
    """Stream ``after_events`` events, then `data: {"error": …}` with this code, then end the body."""

    after_events: int
    code: int = 503


@dataclass(frozen=True)
class Block:
    """Refuse the prompt: HTTP 200, no candidates, `promptFeedback.blockReason`."""

    reason: str = "SAFETY"


Directive = Status | CutStream | StreamError | Block


class FakeGemini(recorder.Recorder[Directive, RecordedRequest]):
    """The fake upstream; serve ``.app`` with ``serve_in_thread`` and inspect ``.requests``."""

    def __init__(self, api_key: str = "AIza-fake-gemini-key") -> None:
        super().__init__(RecordedRequest)
        self.api_key = api_key

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = await self.accept(scope, receive, takes_directive=lambda s: _ROUTE.fullmatch(s["path"]) is not None)
        if received is None:
            return
        request, directive, number = received
        headers = request.headers
        match = _ROUTE.fullmatch(scope["path"])
        payload, query = request.json, request.query
        route = match if scope["method"] == "POST" else None
        error = None if route else GoogleError(404, f"Method not found: {scope['method']} {scope['path']}")
        error = error or check_auth(headers, query, self.api_key) or _check_body(headers, payload)
        if error is None and route is not None:
            error = _check_route(route["model"], route["method"], query, payload)
        if error is not None or route is None:
            await _send_error(send, error or GoogleError(404, "Not found."))
        elif isinstance(directive, Status):
            await _send_status(send, directive)
        elif route["method"] == "batchEmbedContents":
            await send_json(send, 200, _embeddings(payload), _GOOGLE_HEADERS)
        else:
            async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
                await _generate(out, route["model"], route["method"], payload, directive, number)


def _check_body(headers: Mapping[str, str], payload: Any) -> GoogleError | None:
    if headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return bad("Invalid Content-Type header, expected application/json.")
    if not isinstance(payload, dict):
        return bad("Invalid JSON payload received. Expected an object.")
    return None


def _check_route(model: str, method: str, query: str, payload: Any) -> GoogleError | None:
    if method == "batchEmbedContents":
        if model not in EMBEDDING_MODELS:
            return GoogleError(
                404, f"models/{model} is not found for API version v1beta, or is not supported for embedContent."
            )
        return validate_embed(payload, model)
    if model not in CHAT_MODELS:
        return GoogleError(
            404,
            f"models/{model} is not found for API version v1beta, or is not supported for {method}. "
            "Call ListModels to see the list of available models and their supported methods.",
        )
    if method == "streamGenerateContent" and query != "alt=sse":
        return bad("fake Gemini: stream with ?alt=sse (the real API answers a JSON array without it)")
    return validate_generate(payload, signatures_required=model in SIGNING_MODELS)


async def _send_error(send: Send, error: GoogleError) -> None:
    await send_json(
        send, error.code, error.envelope(), {**_GOOGLE_HEADERS, "content-type": "application/json; charset=UTF-8"}
    )


async def _send_status(send: Send, directive: Status) -> None:
    headers = {**_GOOGLE_HEADERS, **directive.headers}
    if isinstance(directive.body, bytes):
        await send_bytes(send, directive.code, directive.body, {"content-type": "application/json", **headers})
        return
    error = _STATUS_ERRORS.get(directive.code) or GoogleError(directive.code, f"Fake upstream error {directive.code}.")
    body = dict(directive.body) if directive.body is not None else error.envelope()
    await send_json(send, directive.code, body, headers)


def _embeddings(payload: dict[str, Any]) -> dict[str, Any]:
    out = []
    for request in payload["requests"]:
        text = "".join(part["text"] for part in request["content"]["parts"])
        out.append({"values": vector(text, request.get("outputDimensionality") or DEFAULT_DIMENSIONS)})
    return {"embeddings": out}


async def _generate(
    out: Responder, model: str, method: str, payload: dict[str, Any], directive: Directive | None, number: int
) -> None:
    answer = plan_answer(payload, model, signed=model in SIGNING_MODELS)
    if isinstance(directive, Block):
        answer = blocked(answer, directive.reason)
    if method == "generateContent":
        body = orjson.dumps(generate_body(answer, number))
        await out.start(200, {**_GOOGLE_HEADERS, "content-type": "application/json; charset=UTF-8"})
        await out.end(body)
        return
    events = stream_events(answer, number)
    await out.start(200, {**_GOOGLE_HEADERS, "content-type": "text/event-stream"})
    stop = directive.after_events if isinstance(directive, CutStream | StreamError) else len(events)
    for event in events[:stop]:
        if out.disconnected.is_set():
            return
        await out.chunk(event)
        await asyncio.sleep(0)  # let the disconnect watcher run between events
    if isinstance(directive, CutStream):
        await out.abort()
    if isinstance(directive, StreamError):
        error = _STATUS_ERRORS.get(directive.code) or GoogleError(directive.code, "Fake in-stream error.")
        await out.end(error_event(error.code, error.message, error.status))
        return
    await out.end()
