"""What the fake image APIs share: recording, planned faults, and one ASGI app that answers on one route.

    fake = FakeIdeogram(api_key="ik-test")
    fake.plan(Status(429, headers={"retry-after": "3"}))
    with serve_in_thread(fake.app) as server:
        ...                                      # POST {server.base_url}/v1/ideogram-v3/generate
    assert fake.requests[0].form()["prompt"] == ["A fox"]

Each fake (images_openai.FakeOpenAIImages, images_ideogram.FakeIdeogram, images_recraft.FakeRecraft)
serves its API's one generate route and validates requests the way that API does. Every request is
recorded; each one to the route takes the next planned directive (FIFO). Auth and validation errors
win over a directive; with no directive left the fake answers normally.
"""

from __future__ import annotations

import email.parser
import email.policy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import orjson
from starlette.types import Receive, Scope, Send

from tests.fakes import recorder
from tests.fakes.asgi import send_bytes

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
"""A 1×1 PNG: what the fakes return as `b64_json`."""


class FormError(ValueError):
    """A multipart/form-data body that a strict server would refuse."""


class RecordedRequest(recorder.RecordedRequest):
    """A recorded request that can read its body as a multipart form."""

    def form(self) -> dict[str, list[str]]:
        """The multipart/form-data fields, each name with its values in order."""
        fields: dict[str, list[str]] = {}
        for name, value in parse_form(self.headers.get("content-type", ""), self.body):
            fields.setdefault(name, []).append(value)
        return fields


@dataclass(frozen=True)
class Status(recorder.Status):
    """The shared `Status`, whose bytes `body` goes out with `content_type`."""

    content_type: str = "application/json"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def json(cls, status: int, payload: object, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(status, orjson.dumps(payload), {"content-type": "application/json", **(headers or {})})

    @classmethod
    def text(cls, status: int, text: str) -> Reply:
        return cls(status, text.encode(), {"content-type": "text/plain; charset=utf-8"})


class ImageFake(recorder.Recorder[Status, RecordedRequest], ABC):
    """The recording, planning ASGI app; a subclass sets `route` and implements `answer` and `error_body`."""

    route: ClassVar[tuple[str, str]]

    def __init__(self, api_key: str) -> None:
        super().__init__(RecordedRequest)
        self.api_key = api_key

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = await self.accept(scope, receive, takes_directive=lambda s: (s["method"], s["path"]) == self.route)
        if received is None:
            return
        request, directive, number = received
        on_route = (scope["method"], scope["path"]) == self.route
        reply = self.answer(request.headers, request.body, directive, number) if on_route else self.not_found(scope)
        await send_bytes(send, reply.status, reply.body, reply.headers)

    @abstractmethod
    def answer(self, headers: dict[str, str], body: bytes, directive: Status | None, number: int) -> Reply:
        """The reply to a request on `route`: an auth or validation error, the planned fault, or images."""

    @abstractmethod
    def error_body(self, status: int) -> Reply:
        """The API's own error reply for a status (what `Status(code)` without a body sends)."""

    def not_found(self, scope: Scope) -> Reply:
        return self.error_body(404)

    def planned(self, directive: Status) -> Reply:
        """The reply a `Status` directive asks for, with its headers."""
        if directive.body is None:
            reply = self.error_body(directive.code)
        elif isinstance(directive.body, bytes):
            reply = Reply(directive.code, directive.body, {"content-type": directive.content_type})
        else:
            reply = Reply.json(directive.code, dict(directive.body))
        return Reply(
            reply.status, reply.body, {**reply.headers, **{k.lower(): v for k, v in directive.headers.items()}}
        )


def parse_form(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """A multipart/form-data body's text fields, read by the stdlib's MIME parser (not llmrelay's encoder).

    Strict the way a server is: the type and boundary must be declared, the body must end with the
    closing delimiter, every part must be `form-data` with a name, and file parts are not expected.
    """
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        raise FormError("Content-Type must be multipart/form-data with a boundary.")
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"')
    if not body.rstrip(b"\r\n").endswith(f"--{boundary}--".encode()):
        raise FormError("The body does not end with the closing multipart delimiter.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if message.defects or not message.is_multipart():
        raise FormError(f"Malformed multipart body: {message.defects or 'no parts'}.")
    fields = []
    for part in message.iter_parts():
        disposition = part.get("content-disposition", "")
        name = part.get_param("name", header="content-disposition")
        if not disposition.startswith("form-data") or not isinstance(name, str) or part.get_filename():
            raise FormError(f"A part is not a named form-data text field: {disposition!r}.")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise FormError(f"The part {name!r} has no body.")
        fields.append((name, payload.decode("utf-8")))
    return fields
