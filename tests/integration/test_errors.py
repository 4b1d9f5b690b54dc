"""Every error a client can meet: OpenAI's envelope, the right status and param, never a trace."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from tests.fakes.openai import CutStream, Delay, FakeOpenAI, Garbage, Status
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]


def post(gateway: Server, body: bytes | dict[str, Any], **kwargs: Any) -> httpx.Response:
    url = f"{gateway.base_url}{CHAT}"
    if isinstance(body, dict):
        return httpx.post(url, json=body, timeout=10, **kwargs)
    return httpx.post(url, content=body, timeout=10, **kwargs)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert_valid(body, "ErrorResponse")
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"model": "fast", "messages": [', None),
        (b"", None),
        (b"[1, 2]", None),
        ({"messages": HELLO}, "model"),
        ({"model": 7, "messages": HELLO}, "model"),
        ({"model": "fast"}, "messages"),
        ({"model": "fast", "messages": "hi"}, "messages"),
        ({"model": "fast", "messages": []}, "messages"),
        ({"model": "fast", "messages": [{"content": "no role"}]}, "messages[0]"),
        ({"model": "fast", "messages": HELLO, "stream": "yes"}, "stream"),
    ],
)
def test_bad_input_is_400_naming_param(
    gateway: Server, fake: FakeOpenAI, body: bytes | dict[str, Any], param: str | None
) -> None:
    response = post(gateway, body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fake.requests == []


def test_unknown_model_is_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=HELLO)  # type: ignore[arg-type]
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "model_not_found" and body["param"] == "model"
    assert "no-such-model" in body["message"]


def test_body_over_the_limit_is_413(gateway: Server, fake: FakeOpenAI) -> None:
    big = {"model": "fast", "messages": [{"role": "user", "content": "x" * (70 * 1024)}]}
    response = post(gateway, big)
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"
    chunked = httpx.post(f"{gateway.base_url}{CHAT}", content=iter([b"{" + b" " * 40000, b" " * 40000 + b"}"]))
    assert chunked.status_code == 413
    assert fake.requests == []


@pytest.mark.parametrize(("status", "sdk_error"), [(429, openai.RateLimitError), (503, openai.InternalServerError)])
def test_upstream_status_and_retry_after_pass_through(
    client: openai.OpenAI, fake: FakeOpenAI, status: int, sdk_error: type[openai.APIStatusError]
) -> None:
    fake.plan(Status(status, headers={"retry-after": "7", "retry-after-ms": "7000"}))
    with pytest.raises(sdk_error) as caught:
        client.chat.completions.create(model="fast", messages=HELLO)
    assert caught.value.status_code == status
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["retry-after-ms"] == "7000"
    assert_valid(caught.value.response.json(), "ErrorResponse")


def test_upstream_4xx_keeps_message_and_param(gateway: Server, fake: FakeOpenAI) -> None:
    body = {
        "error": {
            "message": "Invalid 'temperature': too high",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "invalid_value",
        }
    }
    fake.plan(Status(400, body=body))
    response = post(gateway, {"model": "fast", "messages": HELLO})
    assert response.status_code == 400
    assert error_of(response) == body["error"]


def test_upstream_500_keeps_status_and_message(gateway: Server, fake: FakeOpenAI) -> None:
    fake.plan(Status(500))
    response = post(gateway, {"model": "fast", "messages": HELLO})
    assert response.status_code == 500
    assert "The server had an error" in error_of(response)["message"]


def test_upstream_unreachable_is_502(gateway: Server) -> None:
    response = post(gateway, {"model": "down-model", "messages": HELLO})
    assert response.status_code == 502
    error = error_of(response)
    assert error["code"] == "upstream_unreachable"
    assert "sk-x" not in response.text


def test_upstream_timeout_is_504(gateway: Server, fake: FakeOpenAI) -> None:
    fake.plan(Delay(3))
    response = post(gateway, {"model": "slow-model", "messages": HELLO})
    assert response.status_code == 504
    assert error_of(response)["code"] == "upstream_timeout"
    assert fake.disconnected.wait(5), "the gateway left the timed-out upstream request open"


def test_upstream_timeout_before_stream_starts_is_504(gateway: Server, fake: FakeOpenAI) -> None:
    fake.plan(Delay(3))
    response = post(gateway, {"model": "slow-model", "messages": HELLO, "stream": True})
    assert response.status_code == 504


def test_upstream_garbage_is_502(gateway: Server, fake: FakeOpenAI) -> None:
    fake.plan(Garbage())
    response = post(gateway, {"model": "fast", "messages": HELLO})
    assert response.status_code == 502
    assert error_of(response)["code"] == "upstream_bad_response"


def test_error_after_stream_started_is_an_error_event(gateway: Server, fake: FakeOpenAI) -> None:
    fake.plan(CutStream(after_events=2))
    response = post(gateway, {"model": "fast", "messages": HELLO, "stream": True})
    assert response.status_code == 200
    events = [e for e in response.content.split(b"\n\n") if e]
    assert len(events) == 3
    assert all(e.startswith(b"data: {") for e in events)
    last = httpx.Response(200, content=events[-1][len(b"data: ") :]).json()
    assert_valid(last, "ErrorResponse")
    assert b"[DONE]" not in response.content


def test_sdk_raises_on_the_error_event(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    fake.plan(CutStream(after_events=2))
    stream = iter(client.chat.completions.create(model="fast", messages=HELLO, stream=True))
    seen = [next(stream), next(stream)]
    with pytest.raises(openai.APIError, match="closed the connection"):
        next(stream)
    assert len(seen) == 2


def test_unknown_route_and_method(gateway: Server) -> None:
    response = httpx.get(f"{gateway.base_url}/v1/nothing-here")
    assert response.status_code == 404
    error_of(response)
    response = httpx.get(f"{gateway.base_url}{CHAT}")
    assert response.status_code == 405
    error_of(response)


def test_unknown_provider_pin_is_404_provider_not_found(gateway: Server, fake: FakeOpenAI) -> None:
    response = post(gateway, {"model": "fast", "messages": HELLO, "provider": "nowhere"})
    assert response.status_code == 404
    error = error_of(response)
    assert (error["code"], error["param"]) == ("provider_not_found", "provider")
    assert fake.requests == []
