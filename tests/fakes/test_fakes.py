"""Self-tests of the fake OpenAI upstream, driven by httpx and the official SDK (no gateway involved)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from tests.fakes.openai import CutStream, Delay, FakeOpenAI, Garbage, Hang, Status
from tests.fakes.server import Server, serve_in_thread

KEY = "sk-upstream-test"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def fake() -> FakeOpenAI:
    return FakeOpenAI(api_key=KEY)


@pytest.fixture(scope="module")
def server(fake: FakeOpenAI) -> Iterator[Server]:
    with serve_in_thread(fake.app) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(fake: FakeOpenAI) -> None:
    fake.reset()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url + "/v1", api_key=KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers={"authorization": f"Bearer {KEY}"}) as raw:
        yield raw


def test_sdk_non_stream_completion(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, n=2, logprobs=True, top_logprobs=2)

    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini"
    assert [c.message.content for c in completion.choices] == ["Hello from fake upstream"] * 2
    assert completion.choices[1].finish_reason == "stop"
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content is not None
    assert [len(token.top_logprobs) for token in logprobs.content] == [2, 2, 2, 2]
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 8
    [recorded] = fake.requests
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.json["messages"] == HELLO


def test_sdk_stream_with_include_usage(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake upstream"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + 4
    assert all(c.usage is None for c in chunks[:-1])
    assert not fake.disconnected.is_set()


def test_stream_wire_format(http: httpx.Client) -> None:
    body = {"model": "gpt-4o-mini", "messages": HELLO, "stream": True}
    text = http.post("/v1/chat/completions", json=body).text

    events = text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [orjson.loads(event.removeprefix("data: ")) for event in events[:-2]]
    assert all(event.startswith("data: {") for event in events[:-2])
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert all("usage" not in chunk for chunk in chunks)


def test_sdk_tool_call_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, tools=[WEATHER_TOOL], tool_choice="required", stream=True
    )
    deltas = [call for chunk in stream for call in chunk.choices[0].delta.tool_calls or []]

    assert deltas[0].function is not None
    assert deltas[0].function.name == "get_weather"
    assert "".join(d.function.arguments or "" for d in deltas if d.function) == '{"city":"Oslo"}'


def test_bad_key_is_authentication_error(server: Server) -> None:
    sdk = openai.OpenAI(base_url=server.base_url + "/v1", api_key="sk-wrong-key-123456", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError) as caught:
        sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO)

    assert caught.value.code == "invalid_api_key"
    assert "sk-wrong-key-123456" not in caught.value.message
    assert "3456" in caught.value.message


def test_strict_validation(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument supplied: top_k"):
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, extra_body={"top_k": 5})
    orphan: list[ChatCompletionMessageParam] = [*HELLO, {"role": "tool", "tool_call_id": "call_x", "content": "sunny"}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=orphan)
    assert caught.value.param == "messages.[1].role"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-9", messages=HELLO)
    assert missing.value.code == "model_not_found"


def test_extra_fields_accepted_when_configured() -> None:
    vllm = FakeOpenAI(extra_fields=frozenset({"top_k"}))
    body = {"model": "gpt-4o", "messages": HELLO, "top_k": 5}
    with serve_in_thread(vllm.app) as running:
        response = httpx.post(
            running.base_url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {KEY}"}
        )
    assert response.status_code == 200
    assert vllm.requests[0].json["top_k"] == 5


def test_status_429_with_retry_after_then_normal(fake: FakeOpenAI, http: httpx.Client) -> None:
    fake.plan(Status(429, headers={"retry-after": "2"}))
    limited = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})
    normal = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert normal.status_code == 200
    assert normal.headers["x-request-id"].startswith("req_")


def test_garbage_is_not_json(fake: FakeOpenAI, http: httpx.Client) -> None:
    fake.plan(Garbage())
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_cut_stream_breaks_the_sdk_stream(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.plan(CutStream(after_events=2))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    seen: list[ChatCompletionChunk] = []
    with pytest.raises((httpx.RemoteProtocolError, openai.APIError)):
        seen.extend(stream)
    assert len(seen) == 2


def test_hang_then_client_close_is_observed(fake: FakeOpenAI, http: httpx.Client) -> None:
    fake.plan(Hang())
    body = {"model": "gpt-4o-mini", "messages": HELLO, "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        chunks = response.iter_raw()  # keep a reference: a collected generator closes the response
        assert next(chunks).startswith(b"data: {")
        assert not fake.disconnected.is_set()
    assert fake.disconnected.wait(5)


def test_delay_past_client_timeout_is_observed(fake: FakeOpenAI, http: httpx.Client) -> None:
    fake.plan(Delay(30))
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO}, timeout=0.1)
    assert fake.disconnected.wait(5)
