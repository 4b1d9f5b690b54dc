"""A strict fake of BITO's chat endpoint (reference §6), with recorded requests and planned faults.

    fake = FakeBito(token="bito-test-token")
    fake.plan(Status(429, headers={"retry-after": "3"}), StreamError(after_lines=2))
    with serve_in_thread(fake.app) as server:
        ...                                      # POST {server.base_url}/ai/v2/chat/
    assert fake.requests[0].json["modelId"] == 42

Route: ``POST /ai/v2/chat/`` only (trailing slash included). It checks what a real client must get right:
the raw token in ``Authorization`` (a ``Bearer `` prefix is refused, as BITO expects the bare token), JSON
content type, and the exact payload bito2ai sends (every field present, no unknown field, the right types,
``Stream: true``, a known ``modelId``, ``context`` pairs of strings, only ``temperature``/``max_tokens``/
``top_p`` in ``customllmconfig``). It answers the way BITO does: always a stream of
``{"choices":[{"text":…}]}`` lines ending ``[DONE]``, each line split across two body messages because
BITO's chunk boundaries do not align with lines. ``framing`` picks the line form: ``lines`` (``data: …``
with no blank line: the reference's example), ``sse`` (blank lines between events) or ``bare`` (no
``data:``). Errors use BITO's ``{"status": 1|2|3, "response": …}`` body; auth failures are 403
"Unauthorized Access" (the extension's reading); the other messages are invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes.asgi import Responder, send_bytes, send_json
from tests.fakes.recorder import RecordedRequest as RecordedRequest
from tests.fakes.recorder import Recorder
from tests.fakes.recorder import Status as Status

PATH = "/ai/v2/chat/"
TEXT_PIECES = ("Hello", " from", " fake", " BITO")
KNOWN_MODEL_IDS = frozenset({42, 38})
UNAUTHORIZED = {"status": 1, "response": "Unauthorized Access"}
Framing = Literal["lines", "sse", "bare"]

_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "aiModelType": str,
    "ideId": int,
    "prompt": str,
    "modelId": int,
    "ideName": str,
    "context": list,
    "Type": int,
    "Stream": bool,
    "topN": int,
    "topNThreshold": int,
    "folderPath": str,
    "customllmconfig": dict,
}
_LLM_CONFIG: Mapping[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "max_tokens": (int,),
    "top_p": (int, float, type(None)),
}
_STATUS_BODIES: Mapping[int, dict[str, Any]] = {
    400: {"status": 2, "response": "Invalid request"},
    401: UNAUTHORIZED,
    403: UNAUTHORIZED,
    429: {"status": 3, "response": "Too many requests, please slow down."},
    500: {"status": 3, "response": "Whoops, something went wrong."},
    503: {"status": 3, "response": "Service is busy, please try again later."},
}


@dataclass(frozen=True)
class CutStream:
    """Stream ``after_lines`` text lines, then drop the connection (no ``[DONE]``)."""

    after_lines: int
    framing: Framing | None = None


@dataclass(frozen=True)
class StreamError:
    """Stream ``after_lines`` text lines, then BITO's error object as a line, then end (no ``[DONE]``)."""

    after_lines: int
    message: str = "Something went wrong, please try again."
    framing: Framing | None = None


@dataclass(frozen=True)
class Frame:
    """Answer normally, with this line framing for this one request."""

    framing: Framing


Directive = Status | CutStream | StreamError | Frame


class BadRequest(Exception):
    """A request the fake refuses with a 400 in BITO's error shape."""


def validate_payload(payload: object, model_ids: frozenset[int]) -> None:
    """Raise BadRequest unless ``payload`` is exactly the body bito2ai sends."""
    if not isinstance(payload, dict):
        raise BadRequest("Invalid request: the body must be a JSON object")
    missing = sorted(set(_FIELDS) - set(payload))
    unknown = sorted(set(payload) - set(_FIELDS))
    if missing or unknown:
        raise BadRequest(f"Invalid request: missing {missing}, unknown {unknown}")
    for name, kind in _FIELDS.items():
        value = payload[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BadRequest(f"Invalid request: '{name}' has the wrong type")
    if payload["Stream"] is not True or payload["aiModelType"] != "ADVANCED" or payload["ideName"] != "CLI":
        raise BadRequest("Invalid request: unexpected Stream/aiModelType/ideName")
    if payload["modelId"] not in model_ids:
        raise BadRequest(f"Invalid request: unknown modelId {payload['modelId']}")
    for pair in payload["context"]:
        if not isinstance(pair, dict) or set(pair) != {"question", "answer"}:
            raise BadRequest("Invalid request: context items are {question, answer}")
        if not all(isinstance(v, str) for v in pair.values()):
            raise BadRequest("Invalid request: context question and answer are strings")
    _validate_llm_config(payload["customllmconfig"])


def _validate_llm_config(config: dict[str, Any]) -> None:
    for name, value in config.items():
        kinds = _LLM_CONFIG.get(name)
        if kinds is None or not isinstance(value, kinds) or isinstance(value, bool):
            raise BadRequest(f"Invalid request: customllmconfig.{name}")
    if "temperature" not in config:
        raise BadRequest("Invalid request: customllmconfig.temperature is required")


def stream_lines(framing: Framing, pieces: tuple[str, ...] = TEXT_PIECES) -> list[bytes]:
    """BITO's answer lines for ``pieces``, ``[DONE]`` last, in the given framing."""
    return [_line(orjson.dumps({"choices": [{"text": p}]}), framing) for p in pieces] + [_line(b"[DONE]", framing)]


def _line(payload: bytes, framing: Framing) -> bytes:
    if framing == "bare":
        return payload + b"\n"
    return b"data: " + payload + (b"\n\n" if framing == "sse" else b"\n")


class FakeBito(Recorder[Directive, RecordedRequest]):
    """The fake upstream; serve ``.app`` with ``serve_in_thread`` and inspect ``.requests``."""

    def __init__(
        self, token: str = "bito-test-token", framing: Framing = "lines", model_ids: frozenset[int] = KNOWN_MODEL_IDS
    ) -> None:
        super().__init__(RecordedRequest)
        self.token = token
        self.framing: Framing = framing
        self.model_ids = model_ids

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application."""
        received = await self.accept(scope, receive, takes_directive=lambda s: s["path"] == PATH)
        if received is None:
            return
        request, directive, _ = received
        headers, body = request.headers, request.body
        if (scope["method"], scope["path"]) != ("POST", PATH):
            not_found = {"timestamp": "2025-01-01T00:00:00.000+00:00", "status": 404, "error": "Not Found"}
            await send_json(send, 404, {**not_found, "path": scope["path"]}, {})
            return
        if headers.get("authorization", "") != self.token:
            await send_json(send, 403, UNAUTHORIZED, {})
            return
        try:
            if not headers.get("content-type", "").startswith("application/json"):
                raise BadRequest("Invalid request: Content-Type must be application/json")
            validate_payload(orjson.loads(body) if body else None, self.model_ids)
        except (BadRequest, orjson.JSONDecodeError) as exc:
            await send_json(send, 400, {"status": 2, "response": str(exc)}, {})
            return
        await self._answer(receive, send, directive)

    async def _answer(self, receive: Receive, send: Send, directive: Directive | None) -> None:
        if isinstance(directive, Status):
            await _send_status(send, directive)
            return
        framing = (directive.framing if directive is not None else None) or self.framing
        lines = stream_lines(framing)
        stop_at = len(lines)
        if isinstance(directive, CutStream | StreamError):
            stop_at = min(directive.after_lines, len(lines) - 1)
        async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
            await out.start(200, {"content-type": "text/event-stream;charset=UTF-8"})
            for line in lines[:stop_at]:
                half = len(line) // 2
                await out.chunk(line[:half])
                await out.chunk(line[half:])
            if isinstance(directive, CutStream):
                await out.abort()
            if isinstance(directive, StreamError):
                error = {"status": 3, "response": directive.message}
                await out.chunk(_line(orjson.dumps(error), framing))
            await out.end()


async def _send_status(send: Send, directive: Status) -> None:
    body = directive.body
    if body is None:
        body = _STATUS_BODIES.get(directive.code, {"status": 3, "response": f"Fake BITO error {directive.code}."})
    raw = body if isinstance(body, bytes) else orjson.dumps(dict(body))
    await send_bytes(send, directive.code, raw, {"content-type": "application/json", **directive.headers})
