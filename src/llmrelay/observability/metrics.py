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
In a single process the per-request series are plain numbers rendered at scrape time (series.py).
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
from llmrelay.observability.series import BY_MODEL, Family, HotSeries
from llmrelay.observability.series import Histogram as SeriesHistogram

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
        self._hot: HotSeries | None = None
        self._counters: dict[str, _Children[Counter]] = {}
        self._histograms: dict[str, _Children[Histogram]] = {}
        if multiprocess_dir is None:  # plain numbers, rendered at scrape time (series.py)
            families = {
                key: Family(kind, name, doc, labels) for key, (kind, name, doc, labels, _) in _PER_REQUEST.items()
            }
            self._hot = HotSeries(families, _IN_FLIGHT)
            self.registry.register(self._hot)
        else:
            for key, (kind, name, doc, labels, buckets) in _PER_REQUEST.items():
                if kind == "counter":
                    self._counters[key] = self._counter(name, doc, labels)
                else:
                    metric = Histogram(name, doc, labels, buckets=buckets, registry=self.registry)
                    self._histograms[key] = _Children(metric)
            self._in_flight = Gauge(*_IN_FLIGHT, multiprocess_mode="livesum", registry=self.registry)
        self._retries = self._counter(
            "llmrelay_upstream_retries_total",
            "Upstream attempts repeated on the same deployment after a retryable failure.",
            (*BY_MODEL, "deployment", "reason"),
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
        latency = _seconds(latency)
        bound.request(latency)
        if ttft is not None:
            bound.observe("ttft", _seconds(ttft))
        if upstream is not None:
            bound.observe("overhead", _seconds(latency - upstream))
        usage = record.usage
        if usage:
            count = usage.get("prompt_tokens")
            if isinstance(count, int) and count > 0:
                bound.add("tokens", count, "input")
            count = usage.get("completion_tokens")
            if isinstance(count, int) and count > 0:
                bound.add("tokens", count, "output")
        if cost_usd:
            cost = float(cost_usd)
            if cost > 0 and math.isfinite(cost):
                bound.add("cost", cost)

    def _bind(self, model: str | None, provider: str | None, upstream: str | None, status: int) -> _Bound:
        """The series every request of one kind updates, found once: capping the labels and looking
        the series up cost more than the updates themselves (observe: 11.7 → 6 µs)."""
        if len(self._bound) >= _MAX_BOUND:  # raw names are the key: bounded, as the labels are
            self._bound.clear()
        by_model = (self._cap.model(model), self._cap.provider(provider))
        request = (*by_model, self._cap.deployment(upstream), status_label(status))
        bound: _Bound
        if self._hot is not None:
            bound = _PlainBound(self._hot, by_model, request)
        else:
            bound = _ClientBound(self._counters, self._histograms, by_model, request)
        self._bound[(model, provider, upstream, status)] = bound
        return bound

    def request_started(self) -> None:
        """At the edge, as a request comes in; pair with `request_ended` in a `finally`."""
        if self._hot is not None:
            self._hot.in_flight += 1
        else:
            self._in_flight.inc()

    def request_ended(self) -> None:
        if self._hot is not None:
            self._hot.in_flight -= 1
        else:
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


_PER_REQUEST: dict[str, tuple[str, str, str, tuple[str, ...], tuple[float, ...]]] = {
    "requests": (
        "counter", "llmrelay_requests_total",
        "Requests answered, by public model, provider, deployment and HTTP status.",
        (*BY_MODEL, "deployment", "status"), (),
    ),
    "duration": (
        "histogram", "llmrelay_request_duration_seconds",
        "Total time from the request's arrival to the end of its response (a stream's last byte).",
        BY_MODEL, DURATION_BUCKETS,
    ),
    "ttft": (
        "histogram", "llmrelay_time_to_first_token_seconds",
        "Streams only: time from the request's arrival to the first body bytes sent to the client.",
        BY_MODEL, TTFT_BUCKETS,
    ),
    "overhead": (
        "histogram", "llmrelay_gateway_overhead_seconds",
        "The gateway's own time: total time less the time spent waiting on upstreams.",
        BY_MODEL, OVERHEAD_BUCKETS,
    ),
    "tokens": (
        "counter", "llmrelay_tokens_total",
        "Tokens used, as reported by the upstream (or counted offline when it reports none).",
        (*BY_MODEL, "type"), (),
    ),
    "cost": ("counter", "llmrelay_cost_usd_total", "Cost of the requests in US dollars.", BY_MODEL, ()),
}  # fmt: skip
"""The series every request updates: kind, name, help, labels, buckets."""
_IN_FLIGHT = ("llmrelay_requests_in_flight", "Requests being served right now, summed over the live workers.")


class _Bound(Protocol):
    """The series of one (model, provider, deployment, status); a series a request updates only
    sometimes (ttft, tokens, cost) appears once it is first updated, so those are found on use."""

    def request(self, latency: float) -> None: ...
    def observe(self, histogram: str, value: float) -> None: ...
    def add(self, counter: str, amount: float, *labels: str) -> None: ...


class _PlainBound:
    __slots__ = ("by_model", "count", "duration", "hot", "later")

    def __init__(self, hot: HotSeries, by_model: tuple[str, str], request: tuple[str, ...]) -> None:
        self.hot, self.by_model = hot, by_model
        self.count = hot.cell("requests", request)
        self.duration = hot.histogram("duration", by_model, DURATION_BUCKETS)
        self.later: dict[tuple[str, ...], list[float] | SeriesHistogram] = {}

    def request(self, latency: float) -> None:
        self.count[0] += 1
        self.duration.observe(latency)

    def observe(self, histogram: str, value: float) -> None:
        hist = self.later.get((histogram,))
        if hist is None:
            hist = self.later[(histogram,)] = self.hot.histogram(histogram, self.by_model, _PER_REQUEST[histogram][4])
        assert isinstance(hist, SeriesHistogram)
        hist.observe(value)

    def add(self, counter: str, amount: float, *labels: str) -> None:
        cell = self.later.get((counter, *labels))
        if cell is None:
            cell = self.later[(counter, *labels)] = self.hot.cell(counter, (*self.by_model, *labels))
        assert isinstance(cell, list)
        cell[0] += amount


class _ClientBound:
    """Multiprocess mode: prometheus_client's children, whose values live in the shared files."""

    __slots__ = ("by_model", "count", "counters", "duration", "histograms")

    def __init__(
        self,
        counters: dict[str, _Children[Counter]],
        histograms: dict[str, _Children[Histogram]],
        by_model: tuple[str, str],
        request: tuple[str, ...],
    ) -> None:
        self.counters, self.histograms, self.by_model = counters, histograms, by_model
        self.count = counters["requests"](*request)
        self.duration = histograms["duration"](*by_model)

    def request(self, latency: float) -> None:
        self.count.inc()
        self.duration.observe(latency)

    def observe(self, histogram: str, value: float) -> None:
        self.histograms[histogram](*self.by_model).observe(value)

    def add(self, counter: str, amount: float, *labels: str) -> None:
        self.counters[counter](*self.by_model, *labels).inc(amount)


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
