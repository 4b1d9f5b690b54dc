"""Optional OpenTelemetry traces: one span per inference request, one child span per upstream attempt.

Off unless `telemetry.otlp_endpoint` is set; then `build` imports the SDK (the `otel` extra) and
exports over OTLP/HTTP (protobuf) to `<endpoint>/v1/traces` in batches. Nothing is traced while a
request runs: the edge gives a traced request's record an `attempts` list, the relay appends one
`(started, ended, deployment, error)` per try (perf_counter seconds), and `emit` writes all the
spans at the request's end with their real start and end times (no context propagation).

Attributes follow the GenAI semantic conventions (gen_ai.operation.name, gen_ai.provider.name and
the older gen_ai.system, gen_ai.request.model, gen_ai.response.model, gen_ai.usage.*, server.address,
error.type). Values come from the config (names, the upstream host) or are bounded (status codes,
failure reasons): never a URL path, a query or a key.

    >>> tracing = build_tracing(config)          # None when not configured
    >>> tracing.emit(record, path="/v1/chat/completions", status=200)
    >>> tracing.shutdown()               # flushes what is queued; blocking
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from llmrelay.config.load import ConfigError
from llmrelay.config.model import Config
from llmrelay.errors import RelayError
from llmrelay.observability.labels import failure_reason

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

    from llmrelay.pipeline.context import RequestRecord
    from llmrelay.pipeline.routing import Deployment

OPERATIONS: Mapping[str, str] = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/v1/embeddings": "embeddings",
}
"""The traced routes and their `gen_ai.operation.name`; other routes get no span."""
EXTRA = "otel"


class Tracing:
    def __init__(self, provider: TracerProvider, provider_types: Mapping[str, str]) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("llmrelay")
        self.types = provider_types
        self._hosts: dict[str, str | None] = {}
        self.paths = frozenset(OPERATIONS)

    def emit(self, record: RequestRecord, *, path: str, status: int) -> None:
        """Write the request's span and its attempts' spans; `record.started` … now is the request."""
        from opentelemetry import trace

        operation = OPERATIONS[path]
        now, now_ns = time.perf_counter(), time.time_ns()

        def ns(perf: float) -> int:
            return now_ns - int((now - perf) * 1e9)

        span = self.tracer.start_span(
            f"{operation} {record.model}" if record.model else operation, kind=trace.SpanKind.SERVER,
            attributes=self._request(operation, record, status), start_time=ns(record.started),
        )  # fmt: skip
        if status >= 400:
            span.set_status(trace.StatusCode.ERROR)
        parent = trace.set_span_in_context(span)
        for number, (started, ended, deployment, error) in enumerate(record.attempts or ()):
            child = self.tracer.start_span(
                f"{operation} {deployment.target.model}", context=parent, kind=trace.SpanKind.CLIENT,
                attributes=self._attempt(operation, deployment, number, error), start_time=ns(started),
            )  # fmt: skip
            if error is not None:
                child.set_status(trace.StatusCode.ERROR)
            child.end(end_time=ns(ended))
        span.end(end_time=ns(now))

    def shutdown(self) -> None:
        """Export what is queued, then stop (blocking: run it off the event loop)."""
        self.provider.shutdown()

    def _request(self, operation: str, record: RequestRecord, status: int) -> dict[str, str | int]:
        attributes: dict[str, str | int] = {
            "gen_ai.operation.name": operation,
            "http.response.status_code": status,
            "llmrelay.request_id": record.request_id,
        }
        if record.model is not None:
            attributes["gen_ai.request.model"] = record.model
        if record.provider is not None:
            attributes.update(self._provider(record.provider))
        if status < 400 and record.upstream_model is not None:
            attributes["gen_ai.response.model"] = record.upstream_model
        if record.usage is not None:
            for key, name in (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens")):
                if isinstance(tokens := record.usage.get(key), int):
                    attributes[f"gen_ai.usage.{name}"] = tokens
        if status >= 400:
            attributes["error.type"] = str(status)
        return attributes

    def _attempt(
        self, operation: str, deployment: Deployment, number: int, error: RelayError | None
    ) -> dict[str, str | int]:
        target = deployment.target
        attributes: dict[str, str | int] = {
            "gen_ai.operation.name": operation,
            "gen_ai.request.model": target.model,
            "llmrelay.deployment": f"{target.provider}/{target.model}",
            "llmrelay.attempt": number,
            **self._provider(target.provider),
        }
        if (host := self._host(target.base_url)) is not None:
            attributes["server.address"] = host
        if error is not None:
            attributes["error.type"] = failure_reason(error)
        return attributes

    def _provider(self, name: str) -> dict[str, str]:
        kind = self.types.get(name, name)
        return {"gen_ai.provider.name": kind, "gen_ai.system": kind, "llmrelay.provider": name}

    def _host(self, base_url: str) -> str | None:
        """The host alone: never the path, the query or any user:password in the URL."""
        if base_url not in self._hosts:
            try:
                self._hosts[base_url] = urlsplit(base_url).hostname or None
            except ValueError:
                self._hosts[base_url] = None
        return self._hosts[base_url]


def build_tracing(config: Config) -> Tracing | None:
    """The tracer when `telemetry.otlp_endpoint` is set (ConfigError when the `otel` extra is missing)."""
    settings = config.telemetry
    if settings.otlp_endpoint is None:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError:
        problem = f"tracing needs the OpenTelemetry packages: pip install 'llmrelay[{EXTRA}]'"
        raise ConfigError(config.source, "telemetry.otlp_endpoint", problem) from None
    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return Tracing(provider, {name: provider_config.type for name, provider_config in config.providers.items()})
