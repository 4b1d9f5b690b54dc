"""What one request carries along the path, and what it leaves behind for the access log.

`RequestContext` is frozen: the principal, the plan and the ids, decided before the relay starts.
`RequestRecord` is the one mutable piece, filled in as the request goes (model, provider, usage) and
logged when the response ends.

    >>> record = RequestRecord("req_123"); record.provider = "openai"
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from llmrelay.schemas.chat import Usage

PrincipalKind = Literal["master", "open", "unverified"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. `unverified` holds a bearer token that is not ours: only passthrough providers accept it."""

    kind: PrincipalKind
    token: str | None = None


class RequestRecord:
    __slots__ = ("model", "provider", "request_id", "started", "upstream_model", "usage")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.model: str | None = None
        self.provider: str | None = None
        self.upstream_model: str | None = None
        self.usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class RequestContext:
    principal: Principal
    record: RequestRecord
