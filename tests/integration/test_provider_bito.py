"""The BITO adapter through the whole gateway, driven by the official openai SDK against the strict fake.

The gateway runs in open mode; the `bito` provider forwards the client's bearer token (`auth:
passthrough`) and has no model entries, so it serves BITO's built-in model names; `bito_keyed` has a
configured token and one model entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from tests.conftest import run_gateway, sdk
from tests.fakes.bito import CutStream, FakeBito, Frame, Framing, Status, StreamError
from tests.fakes.server import Server, serve_in_thread
from tests.openai_schema import assert_valid

TOKEN = "bito-user-token-0123"
KEYED_TOKEN = "bito-configured-token"
SONNET, O3 = "Claude Sonnet 3.7", "o3-mini High"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
ANSWER = "Hello from fake BITO"


@pytest.fixture(scope="module")
def bito_server() -> Iterator[tuple[FakeBito, Server]]:
    fake = FakeBito(token=TOKEN)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def fake(bito_server: tuple[FakeBito, Server]) -> FakeBito:
    bito_server[0].reset()
    bito_server[0].token = TOKEN
    return bito_server[0]


@pytest.fixture(scope="module")
def gateway(bito_server: tuple[FakeBito, Server]) -> Iterator[Server]:
    url = bito_server[1].base_url
    config = {
        "providers": {
            "bito": {"type": "bito", "base_url": url, "auth": "passthrough"},
            "bito_keyed": {"type": "bito", "base_url": url, "api_key": KEYED_TOKEN},
        },
        "models": [{"name": "keyed-o3", "provider": "bito_keyed", "model": O3}],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway, api_key=TOKEN) as c:
        yield c


def post(gateway: Server, body: dict[str, Any], token: str | None = TOKEN) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, headers=headers, timeout=10)


def test_models_lists_bito_built_in_names(client: openai.OpenAI) -> None:
    models = {m.id: m.owned_by for m in client.models.list()}
    assert models == {SONNET: "bito", O3: "bito", "keyed-o3": "bito_keyed"}


def test_chat_sends_the_raw_token_and_bito_payload(client: openai.OpenAI, fake: FakeBito) -> None:
    reply = client.chat.completions.create(model=SONNET, messages=HELLO)
    assert reply.choices[0].message.content == ANSWER
    assert reply.choices[0].finish_reason == "stop"
    # BITO reports no usage: the gateway counts it offline (cl100k_base estimate for non-OpenAI models)
    assert reply.usage is not None and reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0
    assert reply.model == SONNET
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    sent = fake.requests[-1]
    assert sent.path == "/ai/v2/chat/"
    assert sent.headers["authorization"] == TOKEN
    assert (sent.json["modelId"], sent.json["prompt"], sent.json["Stream"]) == (42, "hi", True)


def test_configured_key_and_model_entry(gateway: Server, fake: FakeBito) -> None:
    fake.token = KEYED_TOKEN
    with sdk(gateway, api_key="whatever-the-client-has") as c:
        reply = c.chat.completions.create(model="keyed-o3", messages=HELLO)
    assert reply.choices[0].message.content == ANSWER
    assert fake.requests[-1].headers["authorization"] == KEYED_TOKEN
    assert fake.requests[-1].json["modelId"] == 38


def test_system_and_multi_turn_become_prompt_and_context(client: openai.OpenAI, fake: FakeBito) -> None:
    client.chat.completions.create(
        model=O3,
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "What is 2+2?"},
        ],
        temperature=0.1,
        top_p=0.5,
        max_tokens=20,
        user="someone",
    )
    sent = fake.requests[-1].json
    assert sent["prompt"] == "Be terse.\n\nWhat is 2+2?"
    assert sent["context"] == [{"question": "Hi", "answer": "Hello!"}]
    assert sent["customllmconfig"] == {"temperature": 0.1, "max_tokens": 20, "top_p": 0.5}


@pytest.mark.parametrize("framing", ["lines", "sse"])
def test_stream_with_include_usage(client: openai.OpenAI, fake: FakeBito, framing: Framing) -> None:
    fake.plan(Frame(framing))
    stream = client.chat.completions.create(
        model=SONNET, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    for c in chunks:
        assert_valid(c.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    # BITO reports no usage: the gateway counts it offline and sends OpenAI's usage chunk last
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_bare_lines_work_stream_and_non_stream(client: openai.OpenAI, fake: FakeBito) -> None:
    fake.plan(Frame("bare"), Frame("bare"))
    assert client.chat.completions.create(model=SONNET, messages=HELLO).choices[0].message.content == ANSWER
    chunks = list(client.chat.completions.create(model=SONNET, messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER


@pytest.mark.parametrize(
    ("body", "param"),
    [
        pytest.param({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", id="tools"),
        pytest.param({"tool_choice": "required"}, "tool_choice", id="tool_choice"),
        pytest.param({"response_format": {"type": "json_object"}}, "response_format", id="json_object"),
        pytest.param(
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
            "response_format",
            id="json_schema",
        ),
        pytest.param({"n": 2}, "n", id="n"),
        pytest.param({"stop": ["\n"]}, "stop", id="stop"),
        pytest.param({"seed": 7}, "seed", id="seed"),
        pytest.param({"top_k": 3}, "top_k", id="vendor-field"),
    ],
)
def test_unsupported_parameters_are_400_naming_them(
    gateway: Server, fake: FakeBito, body: dict[str, Any], param: str
) -> None:
    response = post(gateway, {"model": SONNET, "messages": HELLO, **body})
    assert response.status_code == 400
    assert_valid(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == param
    assert fake.requests == []


def test_tool_round_trip_and_image_part_are_rejected(client: openai.OpenAI, fake: FakeBito) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    history: list[Any] = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=SONNET, messages=history)
    assert caught.value.param == "messages[1].tool_calls"
    image: ChatCompletionMessageParam = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=SONNET, messages=[image])
    assert caught.value.param == "messages[0].content"
    assert fake.requests == []


def test_missing_token_and_unknown_model(gateway: Server, fake: FakeBito) -> None:
    response = post(gateway, {"model": SONNET, "messages": HELLO}, token=None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"
    response = post(gateway, {"model": "bito/GPT-9", "messages": HELLO})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert fake.requests == []


def test_wrong_token_is_bitos_403(client: openai.OpenAI, fake: FakeBito) -> None:
    fake.token = "someone-else"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model=SONNET, messages=HELLO)
    body = caught.value.body
    assert isinstance(body, dict) and body["message"] == "Unauthorized Access"


@pytest.mark.parametrize(
    ("status", "sdk_error"),
    [(429, openai.RateLimitError), (500, openai.InternalServerError), (503, openai.InternalServerError)],
)
def test_upstream_status_keeps_retry_after(
    client: openai.OpenAI, fake: FakeBito, status: int, sdk_error: type[openai.APIStatusError]
) -> None:
    fake.plan(Status(status, headers={"retry-after": "7", "retry-after-ms": "7000"}))
    with pytest.raises(sdk_error) as caught:
        client.chat.completions.create(model=SONNET, messages=HELLO, stream=status == 503)
    assert caught.value.status_code == status
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["retry-after-ms"] == "7000"
    assert_valid(caught.value.response.json(), "ErrorResponse")


@pytest.mark.parametrize("framing", ["lines", "sse"])
def test_error_inside_the_stream_raises_in_the_sdk(client: openai.OpenAI, fake: FakeBito, framing: Framing) -> None:
    fake.plan(StreamError(after_lines=2, message="Model quota exhausted", framing=framing))
    seen: list[ChatCompletionChunk] = []
    stream = client.chat.completions.create(model=SONNET, messages=HELLO, stream=True)
    with pytest.raises(openai.APIError, match="Model quota exhausted"):
        seen.extend(stream)
    assert "".join(c.choices[0].delta.content or "" for c in seen) == "Hello from"


def test_error_inside_the_body_of_a_non_stream_reply(client: openai.OpenAI, fake: FakeBito) -> None:
    fake.plan(StreamError(after_lines=1, message="Model quota exhausted"))
    with pytest.raises(openai.APIStatusError, match="Model quota exhausted") as caught:
        client.chat.completions.create(model=SONNET, messages=HELLO)
    assert caught.value.status_code == 502


def test_stream_cut_midway_raises_in_the_sdk(client: openai.OpenAI, fake: FakeBito) -> None:
    fake.plan(CutStream(after_lines=2))
    with pytest.raises(openai.APIError, match="closed the connection"):
        list(client.chat.completions.create(model=SONNET, messages=HELLO, stream=True))


def test_fake_refuses_what_bito_refuses(bito_server: tuple[FakeBito, Server], fake: FakeBito) -> None:
    url = f"{bito_server[1].base_url}/ai/v2/chat/"
    payload = {"prompt": "hi"}
    for headers in ({}, {"authorization": f"Bearer {TOKEN}"}):
        response = httpx.post(url, json=payload, headers=headers)
        assert (response.status_code, response.json()) == (403, {"status": 1, "response": "Unauthorized Access"})
    response = httpx.post(url, json=payload, headers={"authorization": TOKEN})
    assert response.status_code == 400 and response.json()["status"] == 2
    response = httpx.post(url, content=b"{}", headers={"authorization": TOKEN, "content-type": "text/plain"})
    assert response.status_code == 400
    assert httpx.post(url.rstrip("/"), json=payload, headers={"authorization": TOKEN}).status_code == 404
