"""The OpenAI adapter's request rewrite and error mapping, beyond the recorded cases."""

from __future__ import annotations

import orjson
import pytest

from llmrelay.errors import UpstreamStatusError
from llmrelay.providers.openai.chat import map_openai_error, rewrite_model
from llmrelay.schemas.chat import ChatRequest


def req(raw: bytes) -> ChatRequest:
    return ChatRequest.parse(raw)


def test_same_model_sends_the_client_bytes_unchanged() -> None:
    raw = b'{ "model" : "m",\n "messages": [{"role":"user","content":"\\u00e9"}], "x": 1.50}'
    assert rewrite_model(raw, req(raw).body, req(raw).model, "m") is raw


def test_splice_keeps_every_other_byte() -> None:
    raw = b'{"messages": [{"role":"user","content":"say \\"model\\""}],  "model" :  "a", "n": 1e2}'
    out = rewrite_model(raw, req(raw).body, req(raw).model, "accounts/fireworks/models/x")
    assert out == raw.replace(b'"a"', b'"accounts/fireworks/models/x"')


@pytest.mark.parametrize(
    "raw",
    [
        b'{"model":"a","messages":[{"role":"user","content":"hi"}],"metadata":{"model":"a"}}',
        b'{"\\u006dodel":"a","messages":[{"role":"user","content":"hi"}]}',
        b'{"model":"\\u0061","messages":[{"role":"user","content":"hi"}]}',
    ],
)
def test_ambiguous_bodies_are_re_encoded_with_every_field(raw: bytes) -> None:
    out = orjson.loads(rewrite_model(raw, req(raw).body, req(raw).model, "b"))
    assert out == {**orjson.loads(raw), "model": "b"}


def test_provider_field_is_dropped() -> None:
    raw = b'{"model":"a","provider":"up","messages":[{"role":"user","content":"hi"}],"top_k":3}'
    assert orjson.loads(rewrite_model(raw, req(raw).body, req(raw).model, "a")) == {
        "model": "a",
        "messages": [{"role": "user", "content": "hi"}],
        "top_k": 3,
    }


def test_openai_error_body_keeps_status_message_param_code_and_retry_headers() -> None:
    body = b'{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}'
    error = map_openai_error(429, {"Retry-After": "3", "x-secret": "no"}, body)
    assert isinstance(error, UpstreamStatusError)
    assert error.status_code == 429
    assert error.to_body() == {
        "error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }
    assert dict(error.headers) == {"Retry-After": "3"}
    assert error.is_retryable


def test_non_json_error_body_still_gives_an_envelope() -> None:
    error = map_openai_error(502, {}, b"<html>Bad Gateway</html>")
    assert error.status_code == 502
    assert error.to_body()["error"]["type"] == "server_error"
    assert "Bad Gateway" in error.message
