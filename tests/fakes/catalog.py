"""A fake Eliza-style catalog host (reference §7): the model list, and wrapped vendor handles.

    openai, anthropic = FakeOpenAI(), FakeAnthropic()
    host = FakeCatalog(models=[...], mounts=[Mount("/openai/v1", openai.app, "/v1", {"authorization": "Bearer sk-…"})])
    with serve_in_thread(host.app) as server:
        ...                                   # GET {server.base_url}/models with `Authorization: OAuth <token>`
    host.set_models([...]); host.outage = True; host.wait_for_lists(3, timeout=5)

Every request needs `Authorization: OAuth <token>` (else 401 `{"detail": …}`, the host's own error
shape). `GET /models` answers `{"models": [...]}` (or the bare list, `bare_list=True`), or 503 while
`outage` is set. A request under a mount's prefix goes, in process, to that vendor fake with the
vendor's own credentials in place of the OAuth header, so the vendor fake validates it as strictly as
ever. Its JSON answer comes back wrapped as the host wraps it, `{"key", "response", "cost", …}`
(`error_style` says how an error is wrapped), and an SSE answer unchanged. A mount under `/raw` is
not wrapped. Every request is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Never

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.fakes.asgi import header_dict, read_body, send_json
from tests.fakes.recorder import RecordedRequest as RecordedRequest
from tests.fakes.recorder import Recorder, json_or_none

TOKEN = "y0_fake-catalog-token"
ErrorStyle = Literal["wrapped", "plain", "detail"]


@dataclass(frozen=True)
class Mount:
    """Requests under `prefix` go to `app` with `prefix` replaced by `inner_prefix` and `credentials` added."""

    prefix: str
    app: ASGIApp
    inner_prefix: str = ""
    credentials: Mapping[str, str] = field(default_factory=dict)
    wrapped: bool = True


class FakeCatalog:
    def __init__(
        self,
        models: Sequence[Mapping[str, Any]] = (),
        mounts: Sequence[Mount] = (),
        token: str = TOKEN,
        list_path: str = "/models",
        bare_list: bool = False,
    ) -> None:
        self.token = token
        self.list_path = list_path
        self.bare_list = bare_list
        self.mounts = sorted(mounts, key=lambda m: len(m.prefix), reverse=True)
        self.outage = False
        self.error_style: ErrorStyle = "wrapped"
        self._models: list[dict[str, Any]] = [dict(m) for m in models]
        self._handles: Recorder[Never, RecordedRequest] = Recorder(RecordedRequest)
        self._lists_served = 0
        self._changed = threading.Condition()

    def reset(self) -> None:
        """Forget the recorded handle requests."""
        self._handles.reset()

    @property
    def models(self) -> list[dict[str, Any]]:
        with self._changed:
            return [dict(m) for m in self._models]

    def set_models(self, models: Sequence[Mapping[str, Any]]) -> None:
        with self._changed:
            self._models = [dict(m) for m in models]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Handle requests (not list fetches), in arrival order."""
        return self._handles.requests

    @property
    def lists_served(self) -> int:
        """List requests answered so far (any status)."""
        with self._changed:
            return self._lists_served

    def wait_for_lists(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until `count` list requests have been answered in all; False if that took over `timeout`."""
        with self._changed:
            return self._changed.wait_for(lambda: self._lists_served >= count, timeout)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = header_dict(scope)
        if headers.get("authorization") != f"OAuth {self.token}":
            await read_body(receive)
            await send_json(send, 401, {"detail": "Invalid or missing OAuth token"}, {})
            if scope["path"] == self.list_path:
                self._served_list()
            return
        if (scope["method"], scope["path"]) == ("GET", self.list_path):
            await self._list(send)
            return
        mount = next((m for m in self.mounts if scope["path"].startswith(m.prefix + "/")), None)
        if mount is None:
            await read_body(receive)
            await send_json(send, 404, {"detail": "Not Found"}, {})
            return
        await self._forward(mount, scope, receive, send, headers)

    def _served_list(self) -> None:
        with self._changed:
            self._lists_served += 1
            self._changed.notify_all()

    async def _list(self, send: Send) -> None:
        with self._changed:
            models, outage = list(self._models), self.outage
        try:
            if outage:
                await send_json(send, 503, {"detail": "Service Unavailable"}, {})
            else:
                await send_json(send, 200, models if self.bare_list else {"models": models}, {})
        finally:
            self._served_list()

    async def _forward(self, mount: Mount, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        body = await read_body(receive)
        if body is None:
            return
        self._handles.record(scope, headers, body, takes_directive=False)
        inner_path = mount.inner_prefix + scope["path"][len(mount.prefix) :]
        inner_headers = {k: v for k, v in headers.items() if k != "authorization"} | dict(mount.credentials)
        inner_scope = {
            **scope,
            "path": inner_path,
            "raw_path": inner_path.encode(),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in inner_headers.items()],
        }
        delivered = False

        async def inner_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        out = _Wrapper(send, mount.wrapped, self.error_style)
        await mount.app(inner_scope, inner_receive, out.send)


class _Wrapper:
    """Relays the vendor fake's response: SSE (and unwrapped mounts) as is, JSON wrapped as the host does."""

    def __init__(self, send: Send, wrapped: bool, error_style: ErrorStyle) -> None:
        self._send = send
        self._wrapped = wrapped
        self._error_style = error_style
        self._start: Message | None = None
        self._streaming = not wrapped
        self._parts: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            content_type = dict(message.get("headers", [])).get(b"content-type", b"")
            self._streaming = self._streaming or content_type.startswith(b"text/event-stream")
            if self._streaming:
                await self._send(message)
            else:
                self._start = message
            return
        if self._streaming:
            await self._send(message)
            return
        self._parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._finish()

    async def _finish(self) -> None:
        assert self._start is not None
        status = self._start["status"]
        vendor = b"".join(self._parts)
        body = _wrap(vendor, status, self._error_style)
        headers = [(k, v) for k, v in self._start.get("headers", []) if k not in (b"content-length", b"content-type")]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


def _wrap(vendor: bytes, status: int, error_style: ErrorStyle) -> bytes:
    """The host's envelope (reference §7.3) around a vendor JSON body."""
    inner = json_or_none(vendor)
    if inner is None:
        return vendor
    if status < 400:
        return orjson.dumps(
            {
                "key": "ORG_KEY_3",
                "response": inner,
                "attempt_count": 1,
                "cost": 0.0000204,
                "cost_info": "model: fake, input_tokens_price: 0.000400, output_tokens_price: 0.001600",
                "stats": {"provider": "api", "user": "some_user", "pool": "pool", "model_family": "fake"},
            }
        )
    if error_style == "wrapped":
        return orjson.dumps({"response": inner})
    if error_style == "detail":
        message = inner.get("error", {}).get("message", "error") if isinstance(inner, dict) else "error"
        return orjson.dumps({"detail": message})
    return vendor
