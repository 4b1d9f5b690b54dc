"""A strict fake of Cloudflare Workers AI's REST API, with recorded requests and planned faults.

    fake = FakeWorkersAI()
    fake.plan(Status(429, headers={"retry-after": "2"}), StreamError(after_events=2))
    with serve_in_thread(fake.app) as server:
        ...                       # base_url = f"{server.base_url}/client/v4"
    assert fake.requests[0].path.endswith("/ai/run/@cf/meta/llama-3.1-8b-instruct")

Routes under `/client/v4/accounts/{account_id}/ai/`: `run/{model}` (native: chat models and bge
embeddings, `workers_ai_run.py`), `v1/chat/completions` and `v1/embeddings` (OpenAI format, validated
and answered by the OpenAI fake's modules). Cloudflare's own errors use the v4 envelope
`{"result": null, "success": false, "errors": [{"code", "message"}], "messages": []}` (reference §5.1):
7000 for an unknown route, 7003 + 7000 for a wrong account id (404; unverified), 10000 for a wrong
token (401), 9106 for none (400; unverified), 5007 for an unknown model (400). Each run or v1 request
takes the next planned directive (FIFO); validation errors win over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes.asgi import Responder, send_json
from tests.fakes.openai_embeddings import vector
from tests.fakes.openai_validate import ApiError, validate_chat
from tests.fakes.openai_wire import Ids, completion_body, plan_answer, stream_events
from tests.fakes.recorder import CutStream as CutStream
from tests.fakes.recorder import RecordedRequest as RecordedRequest
from tests.fakes.recorder import Recorder
from tests.fakes.recorder import Status as Status
from tests.fakes.workers_ai_run import RunError, plan_run, run_envelope, run_events, sse, validate_run

ACCOUNT_ID = "acct0123"
TOKEN = "cf-test-token"
CHAT_MODELS = frozenset({"@cf/meta/llama-3.1-8b-instruct", "@cf/meta/llama-4-scout-17b-16e-instruct"})
EMBEDDING_MODELS = frozenset({"@cf/baai/bge-base-en-v1.5"})
V1_MODELS = frozenset({"@cf/openai/gpt-oss-120b", "@cf/meta/llama-3.1-8b-instruct"})
EMBEDDING_SIZE = 8
_PREFIX = "/client/v4/accounts/"


@dataclass(frozen=True)
class StreamError:
    """Stream `after_events` events, then an error envelope event, then close (no `[DONE]`)."""

    after_events: int
    code: int = 3040
    message: str = "Capacity temporarily exceeded, please try again."


@dataclass(frozen=True)
class NoStream:
    """Answer a stream request with the non-stream JSON envelope (gpt-oss on /ai/run does this)."""


Directive = Status | CutStream | StreamError | NoStream

_DEFAULT_ERRORS: Mapping[int, RunError] = {
    400: RunError(400, 5006, "AiError: Bad input: Error: the fake was told to refuse this request"),
    401: RunError(401, 10000, "Authentication error"),
    403: RunError(403, 5016, "User has not agreed to Llama3.2 model terms"),
    404: RunError(404, 3042, "The model name is invalid"),
    408: RunError(408, 3007, "Request timeout"),
    413: RunError(413, 3006, "Request is too large"),
    429: RunError(429, 3040, "Capacity temporarily exceeded, please try again."),
    500: RunError(500, 1000, "Server Error"),
}


def default_error(code: int) -> RunError:
    return _DEFAULT_ERRORS.get(code, RunError(code, 1000, f"Fake Workers AI error {code}"))


class FakeWorkersAI(Recorder[Directive, RecordedRequest]):
    """Serve `.app` with `serve_in_thread`; the provider's base_url is `{server.base_url}/client/v4`."""

    def __init__(self, token: str = TOKEN, account_id: str = ACCOUNT_ID) -> None:
        super().__init__(RecordedRequest)
        self.token = token
        self.account_id = account_id

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = await self.accept(scope, receive)
        if received is None:
            return
        request, _, number = received
        headers = request.headers
        payload = request.json
        tail = self._route(scope)
        error = tail if isinstance(tail, RunError) else self._auth_error(headers) or self._body_error(headers, payload)
        if error is not None or isinstance(tail, RunError) or not isinstance(payload, dict):
            error = error or RunError(400, 3003, "Request is missing headers or body: body")
            await send_json(send, error.status, error.envelope(), _headers(number))
            return
        directive = self.next_directive()
        async with Responder(receive, send, on_disconnect=self.disconnected.set) as out:
            await self._answer(out, tail, payload, directive, number)

    def _route(self, scope: Scope) -> RunError | str:
        path: str = scope["path"]
        account, _, tail = path.removeprefix(_PREFIX).partition("/ai/")
        if scope["method"] != "POST" or not path.startswith(_PREFIX) or not tail:
            return RunError(404, 7000, "No route for that URI")
        if account != self.account_id:
            return RunError(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")
        return tail

    def _auth_error(self, headers: Mapping[str, str]) -> RunError | None:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return RunError(400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
        return None if given == self.token else RunError(401, 10000, "Authentication error")

    @staticmethod
    def _body_error(headers: Mapping[str, str], payload: object) -> RunError | None:
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return RunError(400, 3003, "Request is missing headers or body: content-type")
        return None if isinstance(payload, dict) else RunError(400, 3003, "Request is missing headers or body: body")

    async def _answer(
        self, out: Responder, tail: str, payload: dict[str, Any], directive: Directive | None, number: int
    ) -> None:
        if isinstance(directive, Status):
            await _respond_status(out, directive, number)
        elif tail == "v1/chat/completions":
            await _v1_chat(out, payload, directive, number)
        elif tail == "v1/embeddings":
            await _v1_embeddings(out, payload, number)
        elif tail.startswith("run/"):
            await _run(out, tail.removeprefix("run/"), payload, directive, number)
        else:
            await _send(out, 404, RunError(404, 7000, "No route for that URI").envelope(), number)


async def _run(out: Responder, model: str, payload: dict[str, Any], directive: Directive | None, number: int) -> None:
    if model in EMBEDDING_MODELS:
        await _run_embeddings(out, payload, number)
        return
    error = RunError(400, 5007, f"No such model {model} or task") if model not in CHAT_MODELS else validate_run(payload)
    if error is not None:
        await _send(out, error.status, error.envelope(), number)
        return
    answer = plan_run(payload, model)
    if not payload.get("stream") or isinstance(directive, NoStream):
        await _send(out, 200, run_envelope(answer), number)
        return
    await _stream(out, run_events(answer, number), directive, number)


async def _run_embeddings(out: Responder, payload: dict[str, Any], number: int) -> None:
    text = payload.get("text")
    texts = [text] if isinstance(text, str) else text
    if set(payload) - {"text", "pooling"} or not isinstance(texts, list) or not texts:
        await _send(
            out,
            400,
            RunError(400, 5006, "AiError: Bad input: Error: required properties at '/' are 'text'").envelope(),
            number,
        )
        return
    if not all(isinstance(t, str) for t in texts) or payload.get("pooling", "mean") not in ("mean", "cls"):
        await _send(
            out, 400, RunError(400, 5006, "AiError: Bad input: Error: Type mismatch of '/text'").envelope(), number
        )
        return
    result = {
        "shape": [len(texts), EMBEDDING_SIZE],
        "data": [vector(t, EMBEDDING_SIZE) for t in texts],
        "pooling": payload.get("pooling", "mean"),
    }
    await _send(out, 200, {"result": result, "success": True, "errors": [], "messages": []}, number)


async def _v1_chat(out: Responder, payload: dict[str, Any], directive: Directive | None, number: int) -> None:
    error = validate_chat(payload, V1_MODELS, frozenset())
    if error is not None:
        await _send(out, error.status, error.envelope(), number)
        return
    answer, ids = plan_answer(payload), Ids(f"chatcmpl-cf{number:04d}", f"chatcmpl-tool-{number}-")
    if not payload.get("stream"):
        await _send(out, 200, completion_body(answer, ids), number)
        return
    await _stream(out, stream_events(answer, ids), directive, number)


async def _v1_embeddings(out: Responder, payload: dict[str, Any], number: int) -> None:
    value = payload.get("input")
    inputs = [value] if isinstance(value, str) else value
    if payload.get("model") not in EMBEDDING_MODELS or not isinstance(inputs, list) or not inputs:
        error = ApiError(400, f"Invalid model or input for embeddings: {payload.get('model')}", param="model")
        await _send(out, 400, error.envelope(), number)
        return
    data = [{"object": "embedding", "index": i, "embedding": vector(t, EMBEDDING_SIZE)} for i, t in enumerate(inputs)]
    tokens = sum(len(str(t).split()) for t in inputs)
    body = {
        "object": "list",
        "data": data,
        "model": payload["model"],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    await _send(out, 200, body, number)


async def _stream(out: Responder, events: list[bytes], directive: Directive | None, number: int) -> None:
    await out.start(200, _headers(number, "text/event-stream"))
    cut = directive.after_events if isinstance(directive, CutStream | StreamError) else None
    for index, event in enumerate(events):
        if index == cut and isinstance(directive, StreamError):
            await out.end(sse(RunError(500, directive.code, directive.message).envelope()))
            return
        if index == cut:
            await out.abort()
        if out.disconnected.is_set():
            return
        await out.chunk(event)
    await out.end()


async def _respond_status(out: Responder, directive: Status, number: int) -> None:
    body = directive.body
    if body is None:
        body = orjson.dumps(default_error(directive.code).envelope())
    elif not isinstance(body, bytes):
        body = orjson.dumps(dict(body))
    headers = {
        **_headers(number),
        **{k.lower(): v for k, v in directive.headers.items()},
        "content-length": str(len(body)),
    }
    await out.start(directive.code, headers)
    await out.end(body)


async def _send(out: Responder, status: int, payload: object, number: int) -> None:
    body = orjson.dumps(payload)
    await out.start(status, {**_headers(number), "content-length": str(len(body))})
    await out.end(body)


def _headers(number: int, content_type: str = "application/json") -> dict[str, str]:
    """Headers as api.cloudflare.com sends them (cf-ray; cf-ai-req-id on Workers AI replies)."""
    return {"content-type": content_type, "cf-ray": f"8f{number:06x}-OSL", "cf-ai-req-id": f"fake-{number:08d}"}
