"""The official `openai` SDK through the gateway to the fake native Gemini API: every translated feature.

What the gateway emits is validated against OpenAI's schemas, and what reached the fake is checked too,
so each test shows both ends of the translation.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from tests.conftest import run_gateway, sdk
from tests.fakes.gemini import Block, CutStream, FakeGemini, Status, StreamError
from tests.fakes.harness import function_tool
from tests.fakes.openai_embeddings import vector
from tests.fakes.server import Server, serve_in_thread
from tests.openai_schema import assert_valid

KEY = "AIza-fake-gemini-key"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
PNG = "data:image/png;base64,iVBORw0KGgo="


WEATHER = function_tool("get_weather", city="string")
TIME = function_tool("get_time", zone="string")


@pytest.fixture(scope="module")
def gemini_server() -> Iterator[tuple[FakeGemini, Server]]:
    fake = FakeGemini(api_key=KEY)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def gemini(gemini_server: tuple[FakeGemini, Server]) -> FakeGemini:
    gemini_server[0].reset()
    return gemini_server[0]


@pytest.fixture(scope="module")
def gateway(gemini_server: tuple[FakeGemini, Server]) -> Iterator[Server]:
    url = gemini_server[1].base_url
    config = {
        "providers": {
            "gem": {"type": "gemini", "base_url": url, "api_key": KEY},
            "gem-bad-key": {"type": "gemini", "base_url": url, "api_key": "AIza-wrong"},
        },
        "models": [
            {"name": "flash", "provider": "gem", "model": "gemini-2.5-flash"},
            {"name": "pro", "provider": "gem", "model": "gemini-3-pro-preview"},
            {"name": "retired", "provider": "gem", "model": "gemini-1.0-pro"},
            {"name": "embed", "provider": "gem", "model": "gemini-embedding-001"},
            {"name": "bad-key", "provider": "gem-bad-key", "model": "gemini-2.5-flash"},
        ],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture(scope="module")
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def dump(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = obj.model_dump(exclude_unset=True)
    return out


def test_chat_with_system_and_options(client: openai.OpenAI, gemini: FakeGemini) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Say hello"},
    ]
    reply = client.chat.completions.create(
        model="flash", messages=messages, temperature=0.3, max_tokens=50, stop="END", seed=3, user="u-1"
    )
    assert_valid(dump(reply), "CreateChatCompletionResponse")
    assert reply.choices[0].message.content == "Hello from fake Gemini."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens == reply.usage.prompt_tokens + 4
    sent = gemini.requests[-1]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent" and sent.query == ""
    assert sent.headers["x-goog-api-key"] == KEY and "authorization" not in sent.headers
    assert sent.json["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert [c["role"] for c in sent.json["contents"]] == ["user", "model", "user"]
    config = {"temperature": 0.3, "maxOutputTokens": 50, "stopSequences": ["END"], "seed": 3}
    assert sent.json["generationConfig"] == config


def test_n_candidates_and_length(client: openai.OpenAI, gemini: FakeGemini) -> None:
    reply = client.chat.completions.create(model="flash", messages=HELLO, n=2, max_completion_tokens=2)
    assert [(c.index, c.message.content, c.finish_reason) for c in reply.choices] == [
        (0, "Hello from", "length"),
        (1, "Hello from", "length"),
    ]


def test_stream_with_usage(client: openai.OpenAI, gemini: FakeGemini) -> None:
    stream = client.chat.completions.create(
        model="flash", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = [dump(c) for c in stream]
    for c in chunks:
        assert_valid(c, "CreateChatCompletionStreamResponse")
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello from fake Gemini."
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4
    assert gemini.requests[-1].query == "alt=sse"
    assert gemini.requests[-1].path.endswith(":streamGenerateContent")


def test_tools_round_trip_keeps_thought_signature(client: openai.OpenAI, gemini: FakeGemini) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather in Oslo?"}]
    first = client.chat.completions.create(model="pro", messages=messages, tools=[WEATHER], tool_choice="required")
    assert_valid(dump(first), "CreateChatCompletionResponse")
    assert first.choices[0].finish_reason == "tool_calls"
    calls = first.choices[0].message.tool_calls or []
    assert len(calls) == 1 and calls[0].type == "function"
    assert calls[0].function.name == "get_weather" and json.loads(calls[0].function.arguments) == {"city": "Oslo"}
    assert gemini.requests[-1].json["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    messages.append(first.choices[0].message.model_dump(exclude_none=True))  # type: ignore[arg-type]
    messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp_c": 4}'})
    second = client.chat.completions.create(model="pro", messages=messages, tools=[WEATHER])
    assert second.choices[0].message.content == 'Done: [{"temp_c":4}]'
    model_turn, results = gemini.requests[-1].json["contents"][1:]
    assert model_turn["parts"][0]["thoughtSignature"] == base64.b64encode(b"sig:get_weather").decode()
    assert results == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 4}}}],
    }


def test_parallel_calls_stream_with_stable_indexes(client: openai.OpenAI, gemini: FakeGemini) -> None:
    stream = client.chat.completions.create(model="pro", messages=HELLO, tools=[WEATHER, TIME], stream=True)
    chunks = [dump(c) for c in stream]
    for c in chunks:
        assert_valid(c, "CreateChatCompletionStreamResponse")
    deltas = [t for c in chunks for t in c["choices"][0]["delta"].get("tool_calls") or []]
    assert [(d["index"], d["function"]["name"]) for d in deltas] == [(0, "get_weather"), (1, "get_time")]
    assert len({d["id"] for d in deltas}) == 2
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    answers = [{"role": "tool", "tool_call_id": d["id"], "content": f"result {d['index']}"} for d in reversed(deltas)]
    calls = [{"id": d["id"], "type": "function", "function": d["function"]} for d in deltas]
    history: list[Any] = [*HELLO, {"role": "assistant", "content": None, "tool_calls": calls}, *answers]
    final = client.chat.completions.create(model="pro", messages=history, tools=[WEATHER, TIME])
    assert final.choices[0].message.content == 'Done: [{"output":"result 1"},{"output":"result 0"}]'


def test_image_parts(client: openai.OpenAI, gemini: FakeGemini) -> None:
    content: Any = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp"}},
    ]
    reply = client.chat.completions.create(model="flash", messages=[{"role": "user", "content": content}])
    assert reply.choices[0].message.content == "Hello from fake Gemini. I see 2 image(s)."
    parts = gemini.requests[-1].json["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert parts[2] == {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp"}}


def test_json_modes(client: openai.OpenAI, gemini: FakeGemini) -> None:
    loose = client.chat.completions.create(model="flash", messages=HELLO, response_format={"type": "json_object"})
    assert json.loads(loose.choices[0].message.content or "") == {}
    schema: dict[str, object] = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    strict = client.chat.completions.create(
        model="flash",
        messages=HELLO,
        response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": True}},
    )
    assert json.loads(strict.choices[0].message.content or "") == {"city": "Oslo"}
    config = gemini.requests[-1].json["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": schema}


def test_embeddings_float_base64_and_dimensions(client: openai.OpenAI, gemini: FakeGemini) -> None:
    reply = client.embeddings.create(model="embed", input=["red", "blue"], dimensions=4)  # base64 by default
    assert_valid(dump(reply), "CreateEmbeddingResponse")
    assert [len(d.embedding) for d in reply.data] == [4, 4]
    assert all(abs(a - b) < 1e-6 for a, b in zip(reply.data[1].embedding, vector("blue", 4), strict=True))
    requests = gemini.requests[-1].json["requests"]
    assert [r["outputDimensionality"] for r in requests] == [4, 4]
    raw = client.embeddings.with_raw_response.create(model="embed", input="red", encoding_format="base64")
    encoded = json.loads(raw.text)["data"][0]["embedding"]
    assert struct.unpack("<8f", base64.b64decode(encoded)) == pytest.approx(vector("red"), abs=1e-6)


@pytest.mark.parametrize(
    ("directive", "model", "error", "status"),
    [
        (None, "bad-key", openai.AuthenticationError, 401),
        (None, "retired", openai.NotFoundError, 404),
        (Status(429), "flash", openai.RateLimitError, 429),
        (Status(503, headers={"retry-after": "7"}), "flash", openai.InternalServerError, 503),
    ],
)
def test_errors_keep_status_and_retry_hints(
    client: openai.OpenAI, gemini: FakeGemini, directive: Status | None, model: str, error: type[Exception], status: int
) -> None:
    if directive is not None:
        gemini.plan(directive)
    with pytest.raises(error) as caught:
        client.chat.completions.create(model=model, messages=HELLO)
    response = caught.value.response  # type: ignore[attr-defined]
    assert response.status_code == status
    assert_valid(response.json(), "ErrorResponse")
    if status == 429:
        assert response.headers["retry-after"] == "23" and response.headers["retry-after-ms"] == "23000"
    if status == 503:
        assert response.headers["retry-after"] == "7"
    if status == 404:
        assert response.json()["error"]["param"] == "model"


def test_error_inside_the_stream_raises_in_the_sdk(client: openai.OpenAI, gemini: FakeGemini) -> None:
    gemini.plan(StreamError(after_events=2, code=503))
    stream = iter(client.chat.completions.create(model="flash", messages=HELLO, stream=True))
    seen = [next(stream), next(stream)]
    with pytest.raises(openai.APIError, match="overloaded"):
        next(stream)
    assert "".join(c.choices[0].delta.content or "" for c in seen) == "Hello from"


def test_cut_stream_ends_with_an_error_event(gateway: Server, gemini: FakeGemini) -> None:
    gemini.plan(CutStream(after_events=1))
    body = {"model": "flash", "messages": HELLO, "stream": True}
    response = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=10)
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert "[DONE]" not in events
    assert json.loads(events[-1])["error"]["type"] == "upstream_error"


def test_blocked_prompt_is_content_filter(client: openai.OpenAI, gemini: FakeGemini) -> None:
    gemini.plan(Block("PROHIBITED_CONTENT"))
    reply = client.chat.completions.create(model="flash", messages=HELLO)
    assert_valid(dump(reply), "CreateChatCompletionResponse")
    assert reply.choices[0].finish_reason == "content_filter" and reply.choices[0].message.content is None


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"logprobs": True}, "logprobs"),
        ({"parallel_tool_calls": False, "tools": [WEATHER]}, "parallel_tool_calls"),
        ({"reasoning_effort": "xhigh"}, "reasoning_effort"),
        ({"top_a": 0.5}, "top_a"),
    ],
)
def test_unsupported_parameter_is_400_naming_it(
    client: openai.OpenAI, gemini: FakeGemini, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="flash", messages=HELLO, extra_body=extra)
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == param
    assert gemini.requests == []


def test_plain_http_image_url_is_400(client: openai.OpenAI, gemini: FakeGemini) -> None:
    content: Any = [{"type": "image_url", "image_url": {"url": "http://example.com/cat.png"}}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="flash", messages=[{"role": "user", "content": content}])
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "messages[0].content[0].image_url.url"
    assert gemini.requests == []


def test_a_call_replayed_without_its_signature_is_refused_upstream(client: openai.OpenAI, gemini: FakeGemini) -> None:
    first = client.chat.completions.create(model="pro", messages=HELLO, tools=[WEATHER], tool_choice="required")
    call = (first.choices[0].message.tool_calls or [])[0]
    assert call.type == "function"
    bare = call.id.split("__thought__")[0]
    history: list[Any] = [
        *HELLO,
        {"role": "assistant", "tool_calls": [{"id": bare, "type": "function", "function": call.function.model_dump()}]},
        {"role": "tool", "tool_call_id": bare, "content": "4"},
    ]
    with pytest.raises(openai.BadRequestError, match="thought_signature"):
        client.chat.completions.create(model="pro", messages=history, tools=[WEATHER])
