"""Self-tests of the fake Workers AI (over ASGI, no sockets): its errors are the real API's shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.fakes.workers_ai import ACCOUNT_ID, TOKEN, FakeWorkersAI, StreamError

RUN = f"/client/v4/accounts/{ACCOUNT_ID}/ai/run/@cf/meta/llama-3.1-8b-instruct"
HELLO = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def http() -> AsyncIterator[tuple[FakeWorkersAI, httpx.AsyncClient]]:
    fake = FakeWorkersAI()
    transport = httpx.ASGITransport(app=fake.app)
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://fake", headers=headers) as client:
        yield fake, client


def first_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["success"] is False and body["result"] is None and body["messages"] == []
    error: dict[str, Any] = body["errors"][0]
    return error


async def test_native_answer_and_stream(http: tuple[FakeWorkersAI, httpx.AsyncClient]) -> None:
    _, client = http
    reply = (await client.post(RUN, json=HELLO)).json()
    assert reply["success"] is True and reply["result"]["response"] == "Hello from fake workers ai"
    stream = await client.post(RUN, json={**HELLO, "stream": True})
    assert stream.headers["content-type"] == "text/event-stream"
    assert stream.text.endswith("data: [DONE]\n\n")
    assert '"usage":{"prompt_tokens"' in stream.text


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "code"),
    [
        ("/client/v4/accounts/other/ai/run/@cf/meta/llama-3.1-8b-instruct", {}, HELLO, 404, 7003),
        ("/client/v4/zones", {}, HELLO, 404, 7000),
        (RUN, {"authorization": "Bearer nope"}, HELLO, 401, 10000),
        (RUN, {"authorization": ""}, HELLO, 400, 9106),
        (f"/client/v4/accounts/{ACCOUNT_ID}/ai/run/@cf/x/y", {}, HELLO, 400, 5007),
        (RUN, {}, {**HELLO, "stop": ["x"]}, 400, 5006),
        (RUN, {}, {"messages": [{"role": "user", "content": None}]}, 400, 5006),
        (RUN, {}, {"messages": [{"role": "tool", "content": "x", "tool_call_id": "c"}]}, 400, 5006),
        (RUN, {}, {**HELLO, "response_format": {"type": "json_object"}, "stream": True}, 400, 5006),
        (RUN, {}, {**HELLO, "tools": [{"type": "function", "function": {"name": "f", "strict": True}}]}, 400, 5006),
    ],
)
async def test_refusals_use_the_v4_envelope(
    http: tuple[FakeWorkersAI, httpx.AsyncClient],
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: int,
) -> None:
    _, client = http
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == status
    assert first_error(response)["code"] == code


async def test_bad_input_names_the_json_pointer(http: tuple[FakeWorkersAI, httpx.AsyncClient]) -> None:
    _, client = http
    response = await client.post(
        RUN, json={"messages": [{"role": "system", "content": [{"type": "text", "text": "x"}]}]}
    )
    assert "'/messages/0/content'" in first_error(response)["message"]


async def test_stream_error_ends_with_an_error_event(http: tuple[FakeWorkersAI, httpx.AsyncClient]) -> None:
    fake, client = http
    fake.plan(StreamError(after_events=1))
    text = (await client.post(RUN, json={**HELLO, "stream": True})).text
    assert text.startswith('data: {"response":"Hello"')
    assert '"errors":[{"code":3040' in text and "[DONE]" not in text


async def test_embeddings(http: tuple[FakeWorkersAI, httpx.AsyncClient]) -> None:
    _, client = http
    url = f"/client/v4/accounts/{ACCOUNT_ID}/ai/run/@cf/baai/bge-base-en-v1.5"
    result = (await client.post(url, json={"text": ["a", "b"]})).json()["result"]
    assert result["shape"] == [2, 8] and len(result["data"]) == 2
    assert first_error(await client.post(url, json={"input": ["a"]}))["code"] == 5006
