"""The once-per-request series of a single process as plain numbers, rendered by a custom collector.

prometheus_client's Counter and Histogram lock a mutex and walk the bucket bounds in Python on every
update: about two thirds of `Metrics.observe`'s cost (py-spy, 2026-11-22). In one process nothing
else reads the values, so here an update is a list slot `+= 1` after a `bisect`, and the families
are built only when `/metrics` is scraped. Under `--workers N` the values must live in the files
prometheus_client's multiprocess mode sums, so `Metrics` keeps its metric objects there instead.

    >>> series = HotSeries(); registry.register(series)
    >>> bound = series.bind(("gpt-4o", "openai"), ("gpt-4o", "openai", "gpt-4o-2024-08-06", "200"))
    >>> bound.count(); bound.duration(0.84)
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

BY_MODEL = ("model", "provider")


class Histogram:
    """Counts per bucket (the last one +Inf) and the sum: `le` buckets are made cumulative when rendered."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # the first bound >= value: Prometheus' `le`
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
        return out


class Family:
    """One metric's series by label values; a series exists once it was first updated."""

    __slots__ = ("documentation", "kind", "labels", "name", "series")

    def __init__(self, kind: str, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.kind, self.name, self.documentation, self.labels = kind, name, documentation, labels
        self.series: dict[tuple[str, ...], list[float] | Histogram] = {}

    def collect(self) -> Metric:
        family: CounterMetricFamily | HistogramMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
            for values, cell in list(self.series.items()):
                assert isinstance(cell, list)
                family.add_metric(values, cell[0])
        else:
            family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
            for values, hist in list(self.series.items()):
                assert isinstance(hist, Histogram)
                family.add_metric(values, hist.buckets(), hist.total)
        return family


class HotSeries(Collector):
    """The series `Metrics.observe` updates, plus the in-flight gauge, for one process."""

    def __init__(self, families: dict[str, Family], in_flight: tuple[str, str]) -> None:
        self.families = families
        self.in_flight = 0
        self._in_flight_doc = in_flight

    def cell(self, family: str, labels: tuple[str, ...]) -> list[float]:
        cell = self.families[family].series.setdefault(labels, [0])
        assert isinstance(cell, list)
        return cell

    def histogram(self, family: str, labels: tuple[str, ...], bounds: tuple[float, ...]) -> Histogram:
        hist = self.families[family].series.get(labels)
        if hist is None:
            hist = self.families[family].series[labels] = Histogram(bounds)
        assert isinstance(hist, Histogram)
        return hist

    def collect(self) -> Iterator[Metric]:
        for family in self.families.values():
            yield family.collect()
        name, documentation = self._in_flight_doc
        yield GaugeMetricFamily(name, documentation, value=self.in_flight)
