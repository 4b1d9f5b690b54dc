"""What one request carries along the path, and what it leaves behind for the access log.

`RequestContext` is fixed: the principal and the record, decided before the relay starts.
`RequestRecord` is the one mutable piece, filled in as the request goes (model, provider, usage) and
logged when the response ends.

    >>> record = RequestRecord("req_123"); record.provider = "openai"
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from llmrelay.schemas.chat import Usage

if TYPE_CHECKING:
    from llmrelay.errors import RelayError
    from llmrelay.pipeline.limits import Lease
    from llmrelay.pipeline.routing import Deployment

PrincipalKind = Literal["master", "bypass", "key", "open", "unverified"]
Permission = Literal["read", "read-write", "admin"]
BudgetPeriod = Literal["day", "month", "total"]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A virtual key as the pipeline sees it (never the secret): what it may call and how much.

    `models` holds fnmatch patterns (`gpt-4o*`); empty means every model. `rpm`/`tpm`/`budget_usd`
    are None when the key has no limit of its own.
    """

    id: str
    name: str
    permissions: Permission = "read-write"
    models: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: Decimal | None = None
    budget_period: BudgetPeriod | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling.

    - `master`: the configured master key, every permission.
    - `bypass`: a key from `auth.bypass_keys`: authenticated like the master key for inference and
      models, but not /admin; rate limits skip it (`skips_limits`).
    - `key`: a virtual key from the database; `key` holds its permissions and limits.
    - `open`: no master key configured (local use); `token` is whatever the client sent.
    - `unverified`: a bearer token that is not ours: only passthrough providers accept it.
    """

    kind: PrincipalKind
    token: str | None = None
    key: KeyInfo | None = None

    @property
    def key_id(self) -> str | None:
        return self.key.id if self.key is not None else None

    @property
    def skips_limits(self) -> bool:
        """True for a bypass key: the limits step lets it through without counting."""
        return self.kind == "bypass"


class RequestRecord:
    """`first_byte` is the perf_counter time the first body bytes went to the client (the edge sets
    it); `usage_estimated` says `usage` was counted offline because the upstream reported none."""

    __slots__ = (
        "attempts",
        "client",
        "cost",
        "cost_known",
        "first_byte",
        "incomplete",
        "key_id",
        "limits",
        "model",
        "provider",
        "request_id",
        "started",
        "streamed",
        "upstream_model",
        "upstream_seconds",
        "usage",
        "usage_estimated",
    )

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.first_byte: float | None = None
        self.key_id: str | None = None
        self.client: str | None = None
        """The client's IP address (the edge sets it): open mode's rate limits count per address."""
        self.limits: Lease | None = None
        """The request's place in its rate-limit window: headers for the response, settled at its end."""
        self.model: str | None = None
        self.provider: str | None = None
        self.upstream_model: str | None = None
        self.upstream_seconds: float | None = None
        self.cost: Decimal | None = None
        self.cost_known = False
        """Whether `cost` was computed (it stays None when the price is unknown)."""
        """Seconds spent waiting on upstreams (every attempt), when the relay measured it: the metrics'
        gateway overhead is the total time less this. None leaves the overhead unobserved."""
        self.usage: Usage | None = None
        self.usage_estimated = False
        self.streamed = False
        self.incomplete = False
        """The upstream broke the stream after its first byte: the client got an error event to end it."""
        self.attempts: list[tuple[float, float, Deployment, RelayError | None]] | None = None
        """Only on a traced request (the edge sets a list): each upstream try as (started, ended:
        perf_counter seconds, deployment, its error or None), for observability/tracing.py."""


class RequestContext:
    """Who calls, and the record the request fills in. A plain class, not a frozen dataclass: one is
    made per request, and a frozen dataclass sets each field through `object.__setattr__`."""

    __slots__ = ("principal", "record")

    def __init__(self, principal: Principal, record: RequestRecord) -> None:
        self.principal = principal
        self.record = record
        record.key_id = principal.key_id  # the usage record names the key that called
