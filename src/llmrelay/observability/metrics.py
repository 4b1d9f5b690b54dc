"""Every Prometheus metric of llmrelay, declared once, and the text `GET /metrics` serves.

| metric | type | labels |
|---|---|---|
| `llmrelay_requests_total` | counter | model, provider, deployment, status |
| `llmrelay_request_duration_seconds` | histogram | model, provider |
| `llmrelay_time_to_first_token_seconds` | histogram (streams only) | model, provider |
| `llmrelay_gateway_overhead_seconds` | histogram (total − upstream time) | model, provider |
| `llmrelay_tokens_total` | counter | model, provider, type (`input` / `output`) |
| `llmrelay_cost_usd_total` | counter | model, provider |
| `llmrelay_requests_in_flight` | gauge (`livesum` across workers) | none |
| `llmrelay_upstream_retries_total` | counter | model, provider, deployment, reason |
| `llmrelay_fallbacks_total` | counter | model, fallback, reason |
| `llmrelay_cooldowns_total` | counter | provider, deployment |
| `llmrelay_rate_limited_total` | counter | model, limit |

`model` is the public model name, `provider` the config's provider name, `deployment` the upstream
model id (with `provider`, one config entry); each is capped to what the config serves, so a label
is never a client's arbitrary string or a secret (see `labels.py`). `status` is the HTTP code sent.
No label names a key, a key id, a client address or a request id.

One `Metrics` per process, each with its own `CollectorRegistry` (nothing is registered globally).
Under `llmrelay serve --workers N` prometheus_client's multiprocess mode keeps the values in files
in one directory shared by the workers (`config/metrics_env.py` sets it up); `render()` then sums
them over every worker, so any worker answers a scrape for all of them.

    >>> metrics = Metrics(AllowedLabels(models={"gpt-4o"}, providers={"openai"}, deployments={"gpt-4o"}))
    >>> metrics.observe(record, status=200, latency=0.84, ttft=0.21, upstream=0.83, cost_usd=Decimal("0.0012"))
    >>> body, content_type = metrics.render()
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from llmrelay.observability.labels import (
    FAILURE_REASONS,
    LIMIT_KINDS,
    OTHER,
    AllowedLabels,
    FailureReason,
    LabelCap,
    LimitKind,
    status_label,
)

__all__ = ["AllowedLabels", "Metrics", "RecordView", "render_multiprocess"]

DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# The gateway's own share is budgeted in tenths of a millisecond (DESIGN §6: p50 under 0.5 ms).
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
M = TypeVar("M", bound=MetricWrapperBase)


class RecordView(Protocol):
    """What `observe` reads of a request's record (the edge's `RequestRecord` fits): nothing else.

    The record's `key_id` and `request_id` are deliberately not part of it.
    """

    @property
    def model(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def upstream_model(self) -> str | None: ...
    @property
    def usage(self) -> Mapping[str, object] | None: ...


class Metrics:
    """The gateway's metrics in one process; see the module docstring for names and labels.

    `multiprocess_dir` is the directory of `--workers N` (`metrics_env.multiprocess_dir()`), None in
    a single process. It must agree with how prometheus_client was imported: the environment
    variable has to be set before the first import, so a mismatch raises here rather than serving
    one worker's numbers as if they were everyone's.
    """

    def __init__(self, allowed: AllowedLabels, *, multiprocess_dir: Path | None = None) -> None:
        _check_mode(multiprocess_dir)
        self._cap = LabelCap(allowed)
        self._bound: dict[tuple[str | None, str | None, str | None, int], _Bound] = {}
        self._dir = multiprocess_dir
        self.registry = CollectorRegistry()
        by_model = ("model", "provider")
        self._requests = self._counter(
            "llmrelay_requests_total",
            "Requests answered, by public model, provider, deployment and HTTP status.",
            (*by_model, "deployment", "status"),
        )
        self._duration = self._histogram(
            "llmrelay_request_duration_seconds",
            "Total time from the request's arrival to the end of its response (a stream's last byte).",
            DURATION_BUCKETS,
        )
        self._ttft = self._histogram(
            "llmrelay_time_to_first_token_seconds",
            "Streams only: time from the request's arrival to the first body bytes sent to the client.",
            TTFT_BUCKETS,
        )
        self._overhead = self._histogram(
            "llmrelay_gateway_overhead_seconds",
            "The gateway's own time: total time less the time spent waiting on upstreams.",
            OVERHEAD_BUCKETS,
        )
        self._tokens = self._counter(
            "llmrelay_tokens_total",
            "Tokens used, as reported by the upstream (or counted offline when it reports none).",
            (*by_model, "type"),
        )
        self._cost = self._counter("llmrelay_cost_usd_total", "Cost of the requests in US dollars.", by_model)
        self._in_flight = Gauge(
            "llmrelay_requests_in_flight",
            "Requests being served right now, summed over the live workers.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self._retries = self._counter(
            "llmrelay_upstream_retries_total",
            "Upstream attempts repeated on the same deployment after a retryable failure.",
            (*by_model, "deployment", "reason"),
        )
        self._fallbacks = self._counter(
            "llmrelay_fallbacks_total", "Moves from a model to one of its fallbacks.", ("model", "fallback", "reason")
        )
        self._cooldowns = self._counter(
            "llmrelay_cooldowns_total",
            "Deployments taken out of rotation for a cool-down after repeated failures.",
            ("provider", "deployment"),
        )
        self._rate_limited = self._counter(
            "llmrelay_rate_limited_total",
            "Requests refused by the gateway's own limits (429, or 503 when the limit store is down).",
            ("model", "limit"),
        )

    def _counter(self, name: str, documentation: str, labels: tuple[str, ...]) -> _Children[Counter]:
        return _Children(Counter(name, documentation, labels, registry=self.registry))

    def _histogram(self, name: str, documentation: str, buckets: tuple[float, ...]) -> _Children[Histogram]:
        metric = Histogram(name, documentation, ("model", "provider"), buckets=buckets, registry=self.registry)
        return _Children(metric)

    def observe(
        self,
        record: RecordView,
        *,
        status: int,
        latency: float,
        ttft: float | None = None,
        upstream: float | None = None,
        cost_usd: Decimal | float | None = None,
    ) -> None:
        """Count one finished request. Times are in seconds.

        `ttft`: time to the first body bytes, for a stream (None otherwise). `upstream`: the time
        spent waiting on upstreams (None when unknown, e.g. refused before routing): the overhead
        histogram is only fed when it is known.
        """
        key = (record.model, record.provider, record.upstream_model, status)
        bound = self._bound.get(key)
        if bound is None:
            bound = self._bind(*key)
        bound.requests.inc()
        latency = _seconds(latency)
        bound.duration.observe(latency)
        if ttft is not None:
            self._ttft(*bound.by_model).observe(_seconds(ttft))
        if upstream is not None:
            self._overhead(*bound.by_model).observe(_seconds(latency - upstream))
        usage = record.usage
        if usage:
            count = usage.get("prompt_tokens")
            if isinstance(count, int) and count > 0:
                self._tokens(*bound.by_model, "input").inc(count)
            count = usage.get("completion_tokens")
            if isinstance(count, int) and count > 0:
                self._tokens(*bound.by_model, "output").inc(count)
        cost = 0.0 if cost_usd is None else float(cost_usd)
        if cost > 0 and math.isfinite(cost):
            self._cost(*bound.by_model).inc(cost)

    def _bind(self, model: str | None, provider: str | None, upstream: str | None, status: int) -> _Bound:
        """The children every request of one kind updates, found once: capping the labels and looking
        the children up cost more than the updates themselves (observe: 11.7 → 6 µs)."""
        if len(self._bound) >= _MAX_BOUND:  # raw names are the key: bounded, as the labels are
            self._bound.clear()
        capped_model, capped_provider = self._cap.model(model), self._cap.provider(provider)
        by_model = (capped_model, capped_provider)
        bound = self._bound[(model, provider, upstream, status)] = _Bound(
            requests=self._requests(*by_model, self._cap.deployment(upstream), status_label(status)),
            duration=self._duration(*by_model),
            by_model=by_model,
        )
        return bound

    def request_started(self) -> None:
        """At the edge, as a request comes in; pair with `request_ended` in a `finally`."""
        self._in_flight.inc()

    def request_ended(self) -> None:
        self._in_flight.dec()

    def inc_retry(
        self, *, model: str | None, provider: str | None, deployment: str | None, reason: FailureReason
    ) -> None:
        """The same deployment is being tried again (`reason`: see `labels.failure_reason`)."""
        label = reason if reason in FAILURE_REASONS else OTHER
        self._retries(
            self._cap.model(model), self._cap.provider(provider), self._cap.deployment(deployment), label
        ).inc()

    def inc_fallback(self, *, model: str | None, fallback: str | None, reason: FailureReason) -> None:
        """`model` failed (retries spent, cooling down, or its context was too long); `fallback` is next."""
        label = reason if reason in FAILURE_REASONS else OTHER
        self._fallbacks(self._cap.model(model), self._cap.model(fallback), label).inc()

    def inc_cooldown(self, *, provider: str | None, deployment: str | None) -> None:
        """A deployment has just entered a cool-down (count entries, not the requests it then skips)."""
        self._cooldowns(self._cap.provider(provider), self._cap.deployment(deployment)).inc()

    def inc_rate_limited(self, limit: LimitKind, *, model: str | None = None) -> None:
        label = limit if limit in LIMIT_KINDS else OTHER
        self._rate_limited(self._cap.model(model), label).inc()

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The body and content type for `GET /metrics`: every worker's values in multiprocess mode.

        `accept` is the scraper's Accept header: OpenMetrics when it asks for it, else Prometheus text.
        """
        if self._dir is not None:
            return render_multiprocess(self._dir, accept)
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def close(self) -> None:
        """At worker exit: drop this process's live gauges, so in-flight counts only live workers."""
        if self._dir is not None:
            _mark_dead(os.getpid(), self._dir)


_MAX_BOUND = 4096


@dataclass(frozen=True, slots=True)
class _Bound:
    """The metric children of one (model, provider, deployment, status)."""

    requests: Counter
    duration: Histogram
    by_model: tuple[str, str]
    """The capped (model, provider) labels, for the series a request updates only sometimes (a series
    appears once it is first updated, so those children are not made in advance)."""


class _Children(Generic[M]):
    """A metric's children by label values, kept: `labels()` validates and locks on every call.

    Bounded like the label values themselves (see `labels.py`).
    """

    __slots__ = ("_bound", "_metric")

    def __init__(self, metric: M) -> None:
        self._metric = metric
        self._bound: dict[tuple[str, ...], M] = {}

    def __call__(self, *labels: str) -> M:
        child = self._bound.get(labels)
        if child is None:
            child = self._bound[labels] = self._metric.labels(*labels)
        return child


def render_multiprocess(directory: Path, accept: str = "") -> tuple[bytes, str]:
    """The sum over every process that wrote to `directory` (counters of exited workers included).

    Workers killed before they could `close()` leave their live gauges behind; they are dropped here.
    """
    _reap_dead(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def _check_mode(directory: Path | None) -> None:
    in_files = values.ValueClass is not values.MutexValue
    if directory is not None and not in_files:
        raise RuntimeError(
            "PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is first imported "
            "(llmrelay.config.metrics_env.for_workers does it before the workers start)"
        )
    if directory is None and in_files:
        raise RuntimeError(
            "prometheus_client is in multiprocess mode (PROMETHEUS_MULTIPROC_DIR is set): "
            "pass multiprocess_dir=llmrelay.config.metrics_env.multiprocess_dir()"
        )


def _seconds(value: float) -> float:
    return value if value > 0 else 0.0  # also maps NaN to 0: a clock oddity must not poison a histogram


def _reap_dead(directory: Path) -> None:
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            _mark_dead(int(pid), directory)


def _mark_dead(pid: int, directory: Path) -> None:
    # Two workers may answer scrapes at once and reap the same files.
    with contextlib.suppress(FileNotFoundError):
        mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, and not ours to judge
        return True
    return True
