"""POST /v1/completions on a chat-only upstream (the fake Anthropic): the prompt goes up as one user
message, the answer comes back in the text_completion shape, stream too; what chat cannot do is a 400."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from tests.conftest import run_gateway, sdk
from tests.fakes.anthropic import FakeAnthropic, Status
from tests.fakes.anthropic_wire import TEXT_PIECES
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

KEY = "sk-ant-test"
MODEL = "claude-haiku-4-5-20251001"
ANSWER = "".join(TEXT_PIECES)


@pytest.fixture(scope="module")
def gateway(claude_server: tuple[FakeAnthropic, Server]) -> Iterator[Server]:
    config = {
        "providers": {"claude": {"type": "anthropic", "base_url": claude_server[1].base_url, "api_key": KEY}},
        "models": [{"name": "claude", "provider": "claude", "model": MODEL}],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def test_prompt_becomes_one_user_message(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    reply = client.completions.create(model="claude", prompt="Say hello", max_tokens=20, temperature=0.5, stop=["\n"])
    raw = reply.model_dump(mode="json", exclude_unset=True)
    assert set(raw) >= {"id", "object", "created", "model", "choices", "usage"}
    assert set(raw["choices"][0]) == {"text", "index", "logprobs", "finish_reason"}
    assert reply.object == "text_completion" and reply.id.startswith("cmpl-")
    assert [(c.index, c.text, c.finish_reason) for c in reply.choices] == [(0, ANSWER, "stop")]
    assert reply.usage is not None and reply.usage.completion_tokens == len(TEXT_PIECES)
    (request,) = claude.requests
    assert request.json["messages"] == [{"role": "user", "content": "Say hello"}]
    assert request.json["max_tokens"] == 20
    assert request.json["temperature"] == 0.5
    assert request.json["stop_sequences"] == ["\n"]


def test_max_tokens_defaults_to_16_as_on_openai(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    client.completions.create(model="claude", prompt="Say hello")
    assert claude.requests[0].json["max_tokens"] == 16


def test_length_and_echo(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    reply = client.completions.create(model="claude", prompt="Hi.", max_tokens=2, echo=True)
    assert reply.choices[0].text == "Hi." + "".join(TEXT_PIECES[:2])
    assert reply.choices[0].finish_reason == "length"


def test_several_prompts_one_call_each(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    reply = client.completions.create(model="claude", prompt=["one", "two"], max_tokens=10)
    assert [c.index for c in reply.choices] == [0, 1]
    assert [r.json["messages"][0]["content"] for r in claude.requests] == ["one", "two"]
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 2 * len(TEXT_PIECES)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_stream_with_usage(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    chunks = list(
        client.completions.create(
            model="claude", prompt="Say hello", stream=True, echo=True, stream_options={"include_usage": True}
        )
    )
    for chunk in chunks:
        assert chunk.object == "text_completion"
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Say hello" + ANSWER
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(TEXT_PIECES)
    assert claude.requests[0].json["stream"] is True


def test_raw_stream_ends_with_done(gateway: Server, claude: FakeAnthropic) -> None:
    with httpx.stream(
        "POST", f"{gateway.base_url}/v1/completions", json={"model": "claude", "prompt": "x", "stream": True}
    ) as response:
        body = response.read().decode()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert body.endswith("data: [DONE]\n\n")
    assert '"object":"text_completion"' in body and "chat.completion" not in body


def test_upstream_error_keeps_its_status(client: openai.OpenAI, claude: FakeAnthropic) -> None:
    claude.plan(Status(429, headers={"retry-after": "3"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.completions.create(model="claude", prompt="x")
    assert caught.value.response.headers["retry-after"] == "3"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"prompt": "x", "suffix": "end"}, "suffix"),
        ({"prompt": "x", "best_of": 3}, "best_of"),
        ({"prompt": ["a", "b"], "stream": True}, "prompt"),
        ({"prompt": "x", "logprobs": 9}, "logprobs"),
    ],
)
def test_what_chat_cannot_do_is_a_400(
    gateway: Server, claude: FakeAnthropic, extra: dict[str, object], param: str
) -> None:
    response = httpx.post(f"{gateway.base_url}/v1/completions", json={"model": "claude", **extra})
    assert response.status_code == 400
    assert_valid(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == param
    assert claude.requests == []


def test_models_advertise_completions(gateway: Server) -> None:
    (model,) = httpx.get(f"{gateway.base_url}/v1/models").json()["data"]
    assert model["capabilities"]["completions"] is True
