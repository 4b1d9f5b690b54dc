"""A strict fake of OpenAI's Responses API, for the gateway's passthrough path.

    fake = FakeResponses()
    fake.plan(Status(429), CutStream(after_events=3))
    with serve_in_thread(fake.app) as server:
        ...                                      # POST {server.base_url}/v1/responses
    assert fake.sent[-1] == bytes_the_client_got  # every answer body, as sent

Routes: `POST /v1/responses`, `GET` / `DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`;
anything else is OpenAI's 404. Requests are validated as api.openai.com does where a relay could trip:
unknown top-level parameters (`Unknown parameter: 'provider'.`), chat-shaped (nested) function tools,
item shapes, `max_output_tokens` below 16, an unknown `previous_response_id`. Answers are the
Response object and its event stream in OpenAI's framing (`event:` line, `data:` line, blank line, no
`[DONE]`), written here independently of the gateway's own translation. Stored responses (`store` not
false) answer GET, DELETE, input_items, and `previous_response_id`.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes.asgi import Responder, send_bytes
from tests.fakes.openai_validate import ApiError, check_auth, parse_json_body
from tests.fakes.recorder import CutStream as CutStream
from tests.fakes.recorder import RecordedRequest, Recorder
from tests.fakes.recorder import Status as Status

MODELS = frozenset({"gpt-4o-mini", "gpt-4o"})
TEXT_PIECES = ("Hello", " from", " fake", " responses")
CREATED = 1733011200
PARAMS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "temperature", "top_p", "max_output_tokens",
        "text", "parallel_tool_calls", "metadata", "store", "previous_response_id", "stream", "stream_options",
        "user", "include", "truncation", "background", "reasoning", "service_tier", "top_logprobs",
        "max_tool_calls", "prompt", "prompt_cache_key", "safety_identifier", "conversation",
    }
)  # fmt: skip
Directive = Status | CutStream
JSON = dict[str, Any]
_CREATE = ("POST", "/v1/responses")


def _bad(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


class FakeResponses(Recorder[Directive, RecordedRequest]):
    def __init__(self, api_key: str = "sk-upstream-test") -> None:
        super().__init__(RecordedRequest)
        self.api_key = api_key
        self.stored: dict[str, tuple[JSON, list[JSON]]] = {}
        self.sent: list[bytes] = []
        """Every answer body (JSON or the whole event stream), in order."""
        self._store_lock = threading.Lock()

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = await self.accept(scope, receive, takes_directive=lambda s: (s["method"], s["path"]) == _CREATE)
        if received is None:
            return
        request, directive, number = received
        headers, body = request.headers, request.body
        method, path = scope["method"], scope["path"]
        creating = (method, path) == _CREATE
        error = check_auth(headers, self.api_key)
        if error is not None:
            await self._send_json(send, error.status, error.envelope())
        elif creating:
            await self._create(receive, send, headers, body, directive, number)
        elif path.startswith("/v1/responses/"):
            await self._stored_route(send, method, path.removeprefix("/v1/responses/"))
        else:
            await self._send_json(send, 404, ApiError(404, f"Invalid URL ({method} {path})").envelope())

    async def _send_json(self, send: Send, status: int, payload: object) -> None:
        body = orjson.dumps(payload)
        self.sent.append(body)
        await send_bytes(send, status, body, {"content-type": "application/json", "x-request-id": "req_fake"})

    async def _stored_route(self, send: Send, method: str, rest: str) -> None:
        response_id, _, tail = rest.partition("/")
        with self._store_lock:
            found = self.stored.get(response_id)
        if found is None:
            error = ApiError(404, f"Response with id '{response_id}' not found.")
            await self._send_json(send, 404, error.envelope())
        elif method == "GET" and tail == "":
            await self._send_json(send, 200, found[0])
        elif method == "GET" and tail == "input_items":
            items = found[1]
            page = {"object": "list", "data": items[::-1], "has_more": False}
            page |= {"first_id": items[-1]["id"] if items else None, "last_id": items[0]["id"] if items else None}
            await self._send_json(send, 200, page)
        elif method == "DELETE" and tail == "":
            with self._store_lock:
                self.stored.pop(response_id, None)
            await self._send_json(send, 200, {"id": response_id, "object": "response", "deleted": True})
        else:
            await self._send_json(send, 404, ApiError(404, f"Invalid URL ({method} /v1/responses/{rest})").envelope())

    async def _create(
        self,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        body: bytes,
        directive: Directive | None,
        number: int,
    ) -> None:
        payload, error = parse_json_body(headers, body)
        error = error or self._validate(payload)
        if error is None and isinstance(directive, Status):
            error = ApiError(directive.code, f"Fake upstream error {directive.code}.", "server_error")
        if error is not None:
            await self._send_json(send, error.status, error.envelope())
            return
        response, items = _answer(payload, number)
        if payload.get("store") is not False:
            with self._store_lock:
                self.stored[response["id"]] = (response, items)
        if not payload.get("stream"):
            await self._send_json(send, 200, response)
            return
        events = _events(response)
        cut = directive.after_events if isinstance(directive, CutStream) else None
        sent = b""
        async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
            await out.start(200, {"content-type": "text/event-stream; charset=utf-8", "x-request-id": "req_fake"})
            for index, event in enumerate(events):
                if index == cut:
                    self.sent.append(sent)
                    await out.abort()
                sent += event
                await out.chunk(event)
            self.sent.append(sent)
            await out.end()

    def _validate(self, body: JSON) -> ApiError | None:
        for name in body:
            if name not in PARAMS:
                return _bad(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
        model = body.get("model")
        if not isinstance(model, str):
            return _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        if model not in MODELS:
            return _bad(f"The requested model '{model}' does not exist.", "model", "model_not_found")
        limit = body.get("max_output_tokens")
        if isinstance(limit, int) and limit < 16:
            return _bad(
                f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {limit} "
                "instead.",
                "max_output_tokens",
                "integer_below_min_value",
            )
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self.stored:
            return _bad(
                f"Previous response with id '{previous}' not found.",
                "previous_response_id",
                "previous_response_not_found",
            )
        return _check_input(body.get("input")) or _check_tools(body.get("tools"))


def _check_input(value: object) -> ApiError | None:
    if isinstance(value, str):
        return None
    if not isinstance(value, list):
        return _bad("Invalid type for 'input': expected a string or an array of input items.", "input")
    for i, item in enumerate(value):
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message" and item.get("role") in ("user", "assistant", "system", "developer"):
            if not isinstance(item.get("content"), str | list):
                return _bad(f"Missing required parameter: 'input[{i}].content'.", f"input[{i}].content")
        elif kind == "function_call_output":
            if not isinstance(item.get("call_id"), str) or not isinstance(item.get("output"), str | list):
                return _bad(f"Missing required parameter: 'input[{i}].call_id'.", f"input[{i}].call_id")
        elif kind != "function_call":
            return _bad(f"Invalid value: '{kind}'. Supported values are: 'message', ...", f"input[{i}]")
    return None


def _check_tools(tools: object) -> ApiError | None:
    for i, tool in enumerate(tools if isinstance(tools, list) else ()):
        if tool.get("type") == "function" and not isinstance(tool.get("name"), str):
            return _bad(
                f"Missing required parameter: 'tools[{i}].name'.", f"tools[{i}].name", "missing_required_parameter"
            )
    return None


def _answer(body: JSON, number: int) -> tuple[JSON, list[JSON]]:
    """The finished Response to a valid request, and its input items as the API lists them."""
    rid = f"resp_fake{number:06d}"
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if tools and choice not in (None, "auto", "none"):
        name = choice["name"] if isinstance(choice, dict) else tools[0]["name"]
        item: JSON = {
            "id": f"fc_fake{number:06d}", "type": "function_call", "status": "completed",
            "arguments": '{"city":"Oslo"}', "call_id": f"call_fake{number:06d}", "name": name,
        }  # fmt: skip
    else:
        text = "".join(TEXT_PIECES)
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
        item = {
            "id": f"msg_fake{number:06d}",
            "type": "message",
            "status": "completed",
            "content": [part],
            "role": "assistant",
        }
    given = body.get("input")
    items = (
        [
            {
                "id": f"msg_in{number:06d}",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": given}],
            }
        ]
        if isinstance(given, str)
        else list(given or [])
    )
    response: JSON = {
        "id": rid, "object": "response", "created_at": CREATED, "status": "completed", "background": False,
        "completed_at": CREATED + 1, "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None, "model": "gpt-4o-mini-2024-07-18", "output": [item],
        "parallel_tool_calls": True, "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": None, "reasoning": {"effort": None, "summary": None}, "safety_identifier": None,
        "service_tier": "default", "store": body.get("store") is not False, "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": choice or "auto",
        "tools": tools, "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
        "usage": {
            "input_tokens": 12, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 16,
        },
        "metadata": body.get("metadata") or {},
    }  # fmt: skip
    return response, items


def _sse(event: JSON) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _events(response: JSON) -> list[bytes]:
    """The event stream OpenAI sends for `response` (one output item)."""
    start = {**response, "status": "in_progress", "output": [], "usage": None, "completed_at": None}
    item = response["output"][0]
    out: list[JSON] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
        {"type": "response.output_item.added", "output_index": 0, "item": _opened(item)},
    ]
    where = {"item_id": item["id"], "output_index": 0}
    if item["type"] == "message":
        empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        out.append({"type": "response.content_part.added", **where, "content_index": 0, "part": empty})
        for piece in TEXT_PIECES:
            out.append(
                {"type": "response.output_text.delta", **where, "content_index": 0, "delta": piece, "logprobs": []}
            )
        text = item["content"][0]
        out.append(
            {"type": "response.output_text.done", **where, "content_index": 0, "text": text["text"], "logprobs": []}
        )
        out.append({"type": "response.content_part.done", **where, "content_index": 0, "part": text})
    else:
        out.append({"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]})
        out.append({"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]})
    out.append({"type": "response.output_item.done", "output_index": 0, "item": item})
    out.append({"type": "response.completed", "response": response})
    return [_sse({"type": e["type"], "sequence_number": n, **e}) for n, e in enumerate(out)]


def _opened(item: JSON) -> JSON:
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    return {**item, "status": "in_progress", "arguments": ""}
