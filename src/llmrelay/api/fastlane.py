"""The hot inference routes served straight from ASGI, without the framework's per-request layers.

FastAPI's routing, dependency solving and exception middlewares cost about a third of the gateway's
CPU per request (py-spy, 2026-11-21). For the routes listed here the fast lane reads the body, calls
the same handler the FastAPI route calls, and writes the response itself. Anything else, and any
request with an `Origin` header (CORS needs the framework's middleware), goes to the FastAPI app.

    >>> app = FastLane(fastapi_app, gateway)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from llmrelay.api.edge import send_error
from llmrelay.api.gateway import Gateway, record_of
from llmrelay.api.sse import EventStreamResponse
from llmrelay.api.v1.chat import chat
from llmrelay.api.v1.completions import completions
from llmrelay.api.v1.embeddings import embeddings
from llmrelay.api.v1.images import images
from llmrelay.errors import InvalidRequestError, RelayError
from llmrelay.pipeline.relay import JSONResult, StreamResult

Handler = Callable[[Gateway, Scope, Receive, Send], Awaitable[None]]
_JSON = (b"content-type", b"application/json")


class ClientGone(Exception):
    """The client disconnected before its request body was read."""


async def read_body(receive: Receive) -> bytes:
    message = await receive()
    if message["type"] != "http.request":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    parts = [body]
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


async def chat_completions(gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    result = await chat(gateway, _header(scope, b"authorization"), body, record_of(scope))
    await _send_result(result, scope, receive, send)


async def create_completion(gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    result = await completions(gateway, _header(scope, b"authorization"), body, record_of(scope))
    await _send_result(result, scope, receive, send)


async def _send_result(result: JSONResult | StreamResult, scope: Scope, receive: Receive, send: Send) -> None:
    if isinstance(result, JSONResult):
        await _send_json(send, result.body)
    else:
        await EventStreamResponse(result.frames)(scope, receive, send)


async def create_embeddings(gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    result = await embeddings(gateway, _header(scope, b"authorization"), body, record_of(scope))
    await _send_json(send, result.body)


async def create_images(gateway: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    body = await read_body(receive)
    result = await images(gateway, _header(scope, b"authorization"), body, record_of(scope))
    await _send_json(send, result.body)


async def _send_json(send: Send, body: bytes) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


ROUTES: Mapping[tuple[str, str], Handler] = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("POST", "/v1/embeddings"): create_embeddings,
    ("POST", "/v1/completions"): create_completion,
    ("POST", "/v1/images/generations"): create_images,
}


class FastLane:
    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = ROUTES.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if handler is None or any(key == b"origin" for key, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        try:
            await handler(self.gateway, scope, receive, send)
        except RelayError as error:
            await send_error(send, error)
        except ClientGone:
            return
        except UnicodeDecodeError:
            await send_error(send, InvalidRequestError("Request headers must be ASCII."))
