"""A strict fake of chat.qwen.ai's web API v2 (reference §8.1), with recorded requests and planned faults.

    fake = FakeQwen(token="qwen-web-token")
    chat_id = fake.new_chat()                    # or POST /api/v2/chats/new, as a browser does
    fake.plan(Status(429, headers={"retry-after": "3"}), StreamError(after=1, code="Too_Many_Requests"))
    with serve_in_thread(fake.app) as server:
        ...                                      # POST {server.base_url}/api/v2/chat/completions?chat_id=…
    assert fake.requests[-1].json["model"] == "qwen3-max"

Routes: `POST /api/v2/chats/new` and `POST /api/v2/chat/completions?chat_id=<id of a created chat>`.
Both check the browser session's credentials: `Authorization: Bearer <token>` and the same token as
the `token` cookie, plus `source: web`, a JSON content type and a UUID `x-request-id` (the headers the
reference lists as required; the anti-bot ones cannot be checked). The completion body is checked by
`qwen_wire.check_completion`. The answer is always SSE (`text/event-stream; charset=utf-8`), each
event split across two body messages; thinking deltas come first when `thinking_enabled` is true.
Faults: an HTTP error status, HTTP 200 with a plain JSON failure (Qwen2API src/utils/upstream-error.js
reports chat.qwen.ai doing so), an error event mid-answer, a dropped connection, and per-request framing
extras (a `[DONE]` line, a keep-alive event).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes import recorder
from tests.fakes.asgi import Responder, send_bytes, send_json
from tests.fakes.qwen_wire import (
    Refused,
    answer_events,
    check_completion,
    check_new_chat,
    check_uuid,
    failure,
    keep_alive,
    stream_error,
)

NEW_CHAT, COMPLETIONS = "/api/v2/chats/new", "/api/v2/chat/completions"
SSE_TYPE = "text/event-stream; charset=utf-8"


class RecordedRequest(recorder.RecordedRequest):
    """A recorded request; ``query`` is its query string parsed (``{"chat_id": [...]}`` on a completion)."""

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string)


@dataclass(frozen=True)
class Status:
    """Answer the completion with this HTTP status and chat.qwen.ai's failure body for `code`."""

    status: int
    code: str = "Bad_Request"
    details: str = "Something went wrong."
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlainFailure:
    """HTTP 200 with a plain JSON failure body (no SSE at all)."""

    code: str = "RateLimited"
    details: str = "You've reached the upper limit for today's usage."


@dataclass(frozen=True)
class StreamError:
    """Send `after` answer deltas (after `response.created`), then an error event, then EOF."""

    after: int
    code: str = "Too_Many_Requests"
    details: str = "Too many requests, slow down."


@dataclass(frozen=True)
class CutStream:
    """Send `after` events, then drop the connection."""

    after: int


@dataclass(frozen=True)
class Frame:
    """Answer normally, with a keep-alive event after `response.created` and/or a `[DONE]` line last."""

    keep_alive: bool = False
    done: bool = False


Directive = Status | PlainFailure | StreamError | CutStream | Frame


class FakeQwen(recorder.Recorder[Directive, RecordedRequest]):
    """The fake upstream; serve `.app` with `serve_in_thread` and inspect `.requests`."""

    def __init__(self, token: str = "qwen-web-token") -> None:
        super().__init__(RecordedRequest)
        self.token = token
        self._chats: set[str] = set()
        self._ids = itertools.count(1)

    def new_chat(self) -> str:
        """A chat as `POST /api/v2/chats/new` creates it (what a user does once in the browser)."""
        chat_id = str(uuid.UUID(int=next(self._ids)))
        with self._lock:
            self._chats.add(chat_id)
        return chat_id

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application."""
        received = await self.accept(scope, receive)
        if received is None:
            return
        request, _, _ = received
        headers = request.headers
        try:
            await self._route(scope, headers, request.query, request.json, receive, send)
        except Refused as exc:
            await send_json(send, exc.status, failure(exc.code, exc.details), {})

    async def _route(
        self,
        scope: Scope,
        headers: dict[str, str],
        query: dict[str, list[str]],
        payload: Any,
        receive: Receive,
        send: Send,
    ) -> None:
        route = (scope["method"], scope["path"])
        if route not in (("POST", NEW_CHAT), ("POST", COMPLETIONS)):
            raise Refused(404, "Not_Found", f"no route {scope['path']}")
        self._check_session(headers)
        if route[1] == NEW_CHAT:
            check_new_chat(payload)
            chat_id = self.new_chat()
            await send_json(send, 200, {"success": True, "request_id": str(uuid.uuid4()), "data": {"id": chat_id}}, {})
            return
        chat_id = (query.get("chat_id") or [""])[0]
        with self._lock:
            known = chat_id in self._chats
        if not known:
            raise Refused(404, "Not_Found", f"chat {chat_id!r} does not exist")
        message = check_completion(payload, chat_id)
        directive = self.next_directive()
        await self._answer(receive, send, chat_id, bool(message["feature_config"]["thinking_enabled"]), directive)

    def _check_session(self, headers: Mapping[str, str]) -> None:
        cookies = {
            name.strip(): value for name, _, value in (p.partition("=") for p in headers.get("cookie", "").split(";"))
        }
        if headers.get("authorization") != f"Bearer {self.token}" or cookies.get("token") != self.token:
            raise Refused(401, "unauthorized", "You need to log in first.")
        if headers.get("source") != "web" or not headers.get("content-type", "").startswith("application/json"):
            raise Refused(400, "Bad_Request", "source: web and a JSON content type are required")
        check_uuid(headers.get("x-request-id"), "x-request-id")

    async def _answer(
        self, receive: Receive, send: Send, chat_id: str, thinking: bool, directive: Directive | None
    ) -> None:
        if isinstance(directive, Status):
            body = orjson.dumps(failure(directive.code, directive.details))
            await send_bytes(send, directive.status, body, {"content-type": "application/json", **directive.headers})
            return
        if isinstance(directive, PlainFailure):
            await send_json(send, 200, failure(directive.code, directive.details), {})
            return
        response_id = str(uuid.uuid4())
        events = answer_events(chat_id, response_id, thinking)
        if isinstance(directive, Frame) and directive.keep_alive:
            events.insert(1, keep_alive())
        if isinstance(directive, Frame) and directive.done:
            events.append(b"data: [DONE]\n\n")
        if isinstance(directive, StreamError):
            events = [*events[: directive.after + 1], stream_error(response_id, directive.code, directive.details)]
        async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
            await out.start(200, {"content-type": SSE_TYPE})
            for data in events[: directive.after] if isinstance(directive, CutStream) else events:
                half = len(data) // 2
                await out.chunk(data[:half])
                await out.chunk(data[half:])
            if isinstance(directive, CutStream):
                await out.abort()
            await out.end()
