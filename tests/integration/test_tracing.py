"""OpenTelemetry traces (`telemetry:`): a fake OTLP/HTTP collector receives, when the gateway stops,
one span per chat request and one per upstream attempt, with the GenAI attributes and no key or path."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from starlette.types import Receive, Scope, Send
from tests.conftest import UPSTREAM_KEY, gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI, Status
from tests.fakes.server import Server, serve_in_thread

from llmrelay.api.gateway import Gateway
from llmrelay.config.load import ConfigError, validate


class Collector:
    """POST /v1/traces with an ExportTraceServiceRequest body: keeps every span, with its resource."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.resources: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        export = ExportTraceServiceRequest.FromString(body)
        with self._lock:
            self.paths.append(scope["path"])
            for resource_spans in export.resource_spans:
                self.resources.append(_attributes(resource_spans.resource.attributes))
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(scope_spans.spans)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/x-protobuf")]}
        )
        await send({"type": "http.response.body", "body": b""})


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value") or "string_value")


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


@pytest.fixture
def collector() -> Any:
    collector = Collector()
    with serve_in_thread(collector) as server:
        yield collector, server


def test_a_retried_chat_request_gives_a_request_span_and_one_span_per_attempt(
    fake: FakeOpenAI, upstream_server: tuple[FakeOpenAI, Server], collector: tuple[Collector, Server]
) -> None:
    sink, where = collector
    upstream_url = upstream_server[1].base_url
    provider = {"type": "openai", "base_url": f"{upstream_url}/v1", "api_key": UPSTREAM_KEY}
    config = gateway_config(
        upstream_url,
        providers={"up": {**provider, "max_retries": 1}},
        models=[{"name": "fast", "provider": "up", "model": "gpt-4o-mini"}],
        telemetry={"otlp_endpoint": where.base_url, "service_name": "relay-test"},
    )
    fake.plan(Status(500, headers={"retry-after-ms": "1"}))
    with run_gateway(config) as gateway, sdk(gateway) as client:
        answer = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
    assert answer.usage is not None  # the gateway stopped above: its spans were flushed

    assert sink.paths and set(sink.paths) == {"/v1/traces"}
    assert {"service.name": "relay-test"}.items() <= sink.resources[0].items()
    servers = [s for s in sink.spans if s.kind == Span.SPAN_KIND_SERVER]
    clients = [s for s in sink.spans if s.kind == Span.SPAN_KIND_CLIENT]
    assert len(servers) == 1 and len(clients) == 2
    request = servers[0]
    attrs = _attributes(request.attributes)
    assert request.name == "chat fast"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == attrs["gen_ai.system"] == "openai"
    assert attrs["gen_ai.request.model"] == "fast"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
    assert attrs["http.response.status_code"] == 200 and "error.type" not in attrs

    first, second = sorted(clients, key=lambda s: s.start_time_unix_nano)
    for attempt in (first, second):
        assert attempt.trace_id == request.trace_id and attempt.parent_span_id == request.span_id
        assert request.start_time_unix_nano <= attempt.start_time_unix_nano <= attempt.end_time_unix_nano
        assert attempt.end_time_unix_nano <= request.end_time_unix_nano
        a = _attributes(attempt.attributes)
        assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.request.model"] == "gpt-4o-mini"
        assert a["gen_ai.provider.name"] == "openai"
        assert a["server.address"] == "127.0.0.1"
    assert _attributes(first.attributes)["error.type"] == "server_error"
    assert first.status.code == first.status.STATUS_CODE_ERROR
    assert "error.type" not in _attributes(second.attributes)

    for span in sink.spans:  # no key, no URL path or query in any attribute
        for value in _attributes(span.attributes).values():
            text = str(value)
            assert UPSTREAM_KEY not in text
            assert "/v1" not in text and "http://" not in text


def test_without_telemetry_no_tracer_is_built_and_no_attempts_are_recorded(
    upstream_server: tuple[FakeOpenAI, Server],
) -> None:
    gateway = Gateway.build(validate(gateway_config(upstream_server[1].base_url), "test.yaml"))
    assert gateway.tracing is None
    empty = validate({"telemetry": {"otlp_endpoint": ""}}, "test.yaml")  # `${OTEL_EXPORTER_OTLP_ENDPOINT:-}` unset
    assert empty.telemetry.otlp_endpoint is None


def test_a_missing_otel_extra_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # import fails as if not installed
    config = validate({"telemetry": {"otlp_endpoint": "http://127.0.0.1:4318"}}, "test.yaml")
    with pytest.raises(ConfigError, match=r"telemetry\.otlp_endpoint: .*llmrelay\[otel\]"):
        Gateway.build(config)
