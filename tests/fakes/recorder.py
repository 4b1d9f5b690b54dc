"""What every fake upstream shares: the log of the requests it received and the plan of faults to inject.

    class FakeThing(Recorder[Directive, RecordedRequest]):
        def __init__(self) -> None:
            super().__init__(RecordedRequest)

        async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
            received = await self.accept(scope, receive, takes_directive=lambda scope: scope["path"] == PATH)
            if received is None:
                return                       # not HTTP, or the client went away before its body
            request, directive, number = received

A test queues directives with ``plan()``, reads ``requests`` afterwards and calls ``reset()`` between
tests; a fake's ``Responder`` sets ``disconnected`` when the client goes away mid-response. Which
requests take a directive is each fake's rule: most take one on arrival (``takes_directive``), some only
once validation has passed (``next_directive()``). ``Status`` and ``CutStream`` mean the same in every
fake that uses them; a fake whose fault takes other parameters (Cohere's ``Status`` carries a message,
BITO cuts after lines, not events) defines its own.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson
from starlette.types import Receive, Scope

from tests.fakes.asgi import header_dict, read_body


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it; ``json`` is ``None`` when the body is not JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    client_port: int | None = None
    """The peer's port: equal ports mean one pooled keep-alive connection served both requests."""
    query_string: str = ""


@dataclass(frozen=True)
class Status:
    """Answer with this status and ``body`` (bytes as they are, a mapping as JSON), by default the API's error body."""

    code: int
    body: bytes | Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CutStream:
    """Stream normally, then drop the connection after ``after_events`` events (no terminator is sent)."""

    after_events: int


D = TypeVar("D")
R = TypeVar("R", bound=RecordedRequest)


class Recorder(Generic[D, R]):
    """The request log and the FIFO plan of directives ``D``; requests are recorded as ``R``."""

    def __init__(self, record_type: type[R]) -> None:
        self.disconnected = threading.Event()
        self._record_type = record_type
        self._lock = threading.Lock()
        self._requests: list[R] = []
        self._plan: deque[D] = deque()
        self._counter = itertools.count(1)

    @property
    def requests(self) -> list[R]:
        """A snapshot of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def plan(self, *directives: D) -> None:
        """Queue directives; each request on a planned route consumes the next one."""
        with self._lock:
            self._plan.extend(directives)

    def reset(self) -> None:
        """Forget recorded requests, the pending plan and any observed disconnect."""
        with self._lock:
            self._requests.clear()
            self._plan.clear()
        self.disconnected.clear()

    def record(
        self, scope: Scope, headers: dict[str, str], body: bytes, *, takes_directive: bool
    ) -> tuple[R, D | None, int]:
        """Log a request; return it, the next directive if it ``takes_directive``, and its number (from 1)."""
        client = scope.get("client")
        request = self._record_type(
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            body=body,
            json=json_or_none(body),
            client_port=client[1] if client else None,
            query_string=scope.get("query_string", b"").decode("latin-1"),
        )
        with self._lock:
            self._requests.append(request)
            directive = self._plan.popleft() if takes_directive and self._plan else None
            return request, directive, next(self._counter)

    async def accept(
        self, scope: Scope, receive: Receive, *, takes_directive: bool | Callable[[Scope], bool] = False
    ) -> tuple[R, D | None, int] | None:
        """Read an HTTP request's body and ``record`` it; ``None`` for a non-HTTP scope or a client gone first.

        ``takes_directive`` is a flag or a rule on the scope (called only for an HTTP scope). The recorded
        request carries the headers (``header_dict``) and the raw body.
        """
        if scope["type"] != "http":
            return None
        body = await read_body(receive)
        if body is None:
            return None
        takes = takes_directive(scope) if callable(takes_directive) else takes_directive
        return self.record(scope, header_dict(scope), body, takes_directive=takes)

    def next_directive(self) -> D | None:
        """Take the next directive now: for a fake where only a request that passed validation takes one."""
        with self._lock:
            return self._plan.popleft() if self._plan else None


def json_or_none(body: bytes) -> Any:
    """``body`` parsed as JSON; ``None`` when it is empty or not JSON."""
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None
