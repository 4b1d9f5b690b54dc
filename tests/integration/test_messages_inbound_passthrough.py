"""The official `anthropic` SDK through the gateway's /v1/messages to the fake Anthropic upstream: the
passthrough path. The upstream must receive the client's body with only `model` changed, and the client
must receive the upstream's bytes unchanged (JSON and SSE); usage is still recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import orjson
import pytest
from anthropic.types import MessageParam
from tests.conftest import MASTER_KEY, run_gateway
from tests.fakes.anthropic import FakeAnthropic, Status, StreamError
from tests.fakes.anthropic_wire import input_tokens, message_body, plan_answer, stream_events
from tests.fakes.server import Server

KEY = "sk-ant-test"
MODEL = "claude-haiku-4-5-20251001"
HELLO: list[MessageParam] = [{"role": "user", "content": "Say hello"}]
ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def gateway(claude_server: tuple[FakeAnthropic, Server]) -> Iterator[Server]:
    url = claude_server[1].base_url
    config = {
        "auth": {"master_key": MASTER_KEY},
        "providers": {
            "claude": {"type": "anthropic", "base_url": url, "api_key": KEY},
            "claude-byok": {"type": "anthropic", "base_url": url, "auth": "passthrough"},
        },
        "models": [
            {"name": "claude", "provider": "claude", "model": MODEL},
            {"name": "claude-usage", "provider": "claude", "model": MODEL},
            {"name": "claude-byok", "provider": "claude-byok", "model": MODEL},
        ],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture
def client(gateway: Server) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway.base_url, api_key=MASTER_KEY, max_retries=0, timeout=10) as c:
        yield c


def _post(gateway: Server, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{gateway.base_url}/v1/messages", json=body, headers={"x-api-key": MASTER_KEY, **headers})


def _number(message_id: str) -> int:
    """The fake's request number, which its ids carry (msg_fake000007 → 7)."""
    return int(message_id.removeprefix("msg_fake"))


def _expected_body(claude: FakeAnthropic, message_id: str) -> bytes:
    n = _number(message_id)
    answer = plan_answer(claude.requests[-1].json, call_prefix=f"toolu_fake{n:04d}_")
    return orjson.dumps(message_body(answer, message_id))


def test_body_goes_upstream_with_only_the_model_changed(gateway: Server, claude: FakeAnthropic) -> None:
    body = {
        "model": "claude",
        "max_tokens": 2048,
        "system": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "temperature": 1,
        "metadata": {"user_id": "u-7"},
    }
    response = _post(gateway, body, **{"anthropic-version": "2023-06-01", "anthropic-beta": "beta-a,beta-b"})
    assert response.status_code == 200, response.text
    (request,) = claude.requests
    assert request.path == "/v1/messages"
    assert request.json == {**body, "model": MODEL}
    assert request.headers["x-api-key"] == KEY  # the provider's key, not the client's
    assert (request.headers["anthropic-version"], request.headers["anthropic-beta"]) == ("2023-06-01", "beta-a,beta-b")
    assert response.content == _expected_body(claude, response.json()["id"])  # byte for byte
    assert response.headers["request-id"].startswith("req_")


def test_sdk_create_and_its_version_header(client: anthropic.Anthropic, claude: FakeAnthropic) -> None:
    message = client.messages.create(model="claude", max_tokens=64, messages=HELLO)
    assert message.content[0].type == "text" and message.content[0].text == "Hello from fake Claude"
    assert message.model == MODEL and message.usage.service_tier == "standard"  # the upstream's own fields
    assert claude.requests[0].headers["anthropic-version"] == anthropic._constants.ANTHROPIC_API_VERSION


def test_stream_bytes_come_back_untouched(gateway: Server, claude: FakeAnthropic) -> None:
    body = {"model": "claude", "max_tokens": 64, "stream": True, "messages": HELLO}
    with httpx.stream("POST", f"{gateway.base_url}/v1/messages", json=body, headers={"x-api-key": MASTER_KEY}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        received = b"".join(r.iter_bytes())
    (request,) = claude.requests
    assert request.json == {**body, "model": MODEL}
    message_id = orjson.loads(received.split(b"data: ", 1)[1].split(b"\n", 1)[0])["message"]["id"]
    answer = plan_answer(request.json, call_prefix=f"toolu_fake{_number(message_id):04d}_")
    assert received == b"".join(stream_events(answer, message_id))


def test_sdk_stream_with_tool_use(client: anthropic.Anthropic, claude: FakeAnthropic) -> None:
    weather: Any = {
        "name": "get_weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    with client.messages.stream(
        model="claude", max_tokens=64, messages=HELLO, tools=[weather], tool_choice={"type": "any"}
    ) as stream:
        final = stream.get_final_message()
    (use,) = final.content
    assert use.type == "tool_use" and use.name == "get_weather" and use.input == {"city": "Oslo"}
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 3


def test_usage_is_recorded(gateway: Server, client: anthropic.Anthropic, claude: FakeAnthropic) -> None:
    message = client.messages.create(model="claude-usage", max_tokens=64, messages=HELLO)
    with client.messages.stream(model="claude-usage", max_tokens=64, messages=HELLO) as stream:
        streamed = stream.get_final_message()
    prompt = message.usage.input_tokens + streamed.usage.input_tokens
    completion = message.usage.output_tokens + streamed.usage.output_tokens
    assert (prompt, completion) == (2 * input_tokens(claude.requests[0].json), 8)
    deadline = time.monotonic() + 10
    while True:  # the edge writes a request's record once its response has ended
        totals = httpx.get(f"{gateway.base_url}/admin/usage", params={"model": "claude-usage"}, headers=ADMIN).json()
        if totals["totals"]["requests"] == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert totals["totals"] == {**totals["totals"], "requests": 2, "prompt_tokens": prompt, "completion_tokens": 8}


def test_count_tokens_passes_through(client: anthropic.Anthropic, claude: FakeAnthropic) -> None:
    counted = client.messages.count_tokens(model="claude", system="Be terse.", messages=HELLO)
    (request,) = claude.requests
    assert request.path == "/v1/messages/count_tokens" and request.headers["x-api-key"] == KEY
    assert request.json == {"model": MODEL, "system": "Be terse.", "messages": HELLO}
    assert counted.input_tokens == input_tokens(request.json) > 0


def test_upstream_errors_keep_status_and_type(client: anthropic.Anthropic, claude: FakeAnthropic) -> None:
    claude.plan(Status(529), Status(429, headers={"retry-after": "3"}))
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.create(model="claude", max_tokens=64, messages=HELLO)
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model="claude", max_tokens=64, messages=HELLO)
    assert limited.value.response.headers["retry-after"] == "3"


def test_upstream_error_event_mid_stream_reaches_the_client(client: anthropic.Anthropic, claude: FakeAnthropic) -> None:
    claude.plan(StreamError(after_events=4))
    stream = client.messages.stream(model="claude", max_tokens=64, messages=HELLO)
    with stream as events, pytest.raises(anthropic.APIStatusError) as caught:
        for _ in events:
            pass
    assert caught.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_passthrough_auth_sends_the_clients_own_key(gateway: Server, claude: FakeAnthropic) -> None:
    with anthropic.Anthropic(base_url=gateway.base_url, api_key=KEY, max_retries=0, timeout=10) as own:
        own.messages.create(model="claude-byok", max_tokens=64, messages=HELLO)
        with pytest.raises(anthropic.AuthenticationError):  # an unknown key reaches no provider that has its own key
            own.messages.create(model="claude", max_tokens=64, messages=HELLO)
    assert [r.headers["x-api-key"] for r in claude.requests] == [KEY]
