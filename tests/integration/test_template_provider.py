"""The shipped examples/providers/qwen/ template through the whole gateway, driven by the official openai
SDK against the strict chat.qwen.ai fake; then `llmrelay serve` and `check-config` as real processes.

The folder is used as shipped: its `${QWEN_HOST:-chat.qwen.ai}` / `${QWEN_SCHEME:-https}` point it at
the fake, `QWEN_TOKEN` is the provider's `api_key`, and `QWEN_CHAT_ID` names the chat created once
beforehand (the v2 flow's first step, done here over HTTP as the README says).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from tests.conftest import closed_port, sdk
from tests.fakes.qwen import CutStream, FakeQwen, Frame, PlainFailure, RecordedRequest, Status, StreamError
from tests.fakes.qwen_wire import ANSWER, INPUT_TOKENS, THOUGHT
from tests.fakes.server import Server, serve_in_thread
from tests.openai_schema import assert_valid
from tests.process import clean_env, llmrelay, serving

from llmrelay.app import create_app
from llmrelay.config.load import load
from llmrelay.config.model import CooldownConfig

EXAMPLE = Path(__file__).parents[2] / "examples" / "providers" / "qwen"
TOKEN = "qwen-web-token-0123"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Explain SSE in one sentence."}]
TEXT = "".join(ANSWER)


@pytest.fixture(scope="module")
def qwen_server() -> Iterator[tuple[FakeQwen, Server]]:
    fake = FakeQwen(token=TOKEN)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def fake(qwen_server: tuple[FakeQwen, Server]) -> FakeQwen:
    qwen_server[0].reset()
    return qwen_server[0]


def new_chat(server: Server) -> str:
    """Step one of the v2 flow, as the README's curl does it: POST /api/v2/chats/new."""
    response = httpx.post(
        f"{server.base_url}/api/v2/chats/new",
        json={
            "title": "New Chat",
            "models": ["qwen3-max"],
            "chat_mode": "normal",
            "chat_type": "t2t",
            "timestamp": 1767225600000,
        },
        headers={
            "authorization": f"Bearer {TOKEN}",
            "cookie": f"token={TOKEN}",
            "source": "web",
            "x-request-id": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 200, response.text
    chat_id: str = response.json()["data"]["id"]
    return chat_id


def write_config(folder: Path, template_dir: str | Path) -> Path:
    config = {
        "database": f"sqlite:///{folder / 'llmrelay.db'}",  # not the default ./llmrelay.db in the working directory
        "providers": {"qwen": {"type": "template", "dir": str(template_dir), "api_key": "${QWEN_TOKEN}"}},
    }
    path = folder / "llmrelay.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def qwen_env(server: Server, **extra: str) -> dict[str, str]:
    return {"QWEN_HOST": f"{server.host}:{server.port}", "QWEN_SCHEME": "http", "QWEN_TOKEN": TOKEN, **extra}


@pytest.fixture(scope="module")
def chat_id(qwen_server: tuple[FakeQwen, Server]) -> str:
    return new_chat(qwen_server[1])


@pytest.fixture(scope="module")
def gateway(
    qwen_server: tuple[FakeQwen, Server], chat_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("qwen-gateway")
    config = load(str(write_config(folder, EXAMPLE)), env=qwen_env(qwen_server[1], QWEN_CHAT_ID=chat_id), cwd=folder)
    # One try per request (as tests/conftest.py `single_attempt`): the error tests see each fault as it came.
    providers = {name: p.model_copy(update={"max_retries": 0}) for name, p in config.providers.items()}
    config = config.model_copy(update={"providers": providers, "cooldown": CooldownConfig(enabled=False)})
    with serve_in_thread(create_app(config), lifespan="on") as server:
        yield server


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def completion_call(fake: FakeQwen) -> RecordedRequest:
    return [r for r in fake.requests if r.path == "/api/v2/chat/completions"][-1]


def test_models_come_from_the_template(client: openai.OpenAI) -> None:
    assert {m.id: m.owned_by for m in client.models.list()} == {"qwen3-max": "qwen", "qwen3-coder-plus": "qwen"}


def test_non_stream_is_assembled_from_the_stream(client: openai.OpenAI, fake: FakeQwen, chat_id: str) -> None:
    reply = client.chat.completions.create(model="qwen3-max", messages=HELLO)
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == (TEXT, "stop")
    assert reply.usage is not None and reply.usage.prompt_tokens == INPUT_TOKENS
    assert reply.usage.completion_tokens == len(TEXT.split())
    sent = completion_call(fake)
    assert sent.query == {"chat_id": [chat_id]}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}" and f"token={TOKEN}" in sent.headers["cookie"]
    assert sent.headers["referer"].endswith(f"/c/{chat_id}") and sent.headers["source"] == "web"
    message = sent.json["messages"][0]
    assert (sent.json["model"], message["models"], message["content"]) == (
        "qwen3-max",
        ["qwen3-max"],
        HELLO[0]["content"],
    )
    assert message["timestamp"] == sent.json["timestamp"] and sent.json["stream"] is True


def test_stream_with_include_usage(client: openai.OpenAI, fake: FakeQwen) -> None:
    fake.plan(Frame(keep_alive=True, done=True))
    chunks = list(
        client.chat.completions.create(
            model="qwen3-coder-plus", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    for c in chunks:
        assert_valid(c.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == INPUT_TOKENS and chunks[-1].usage.completion_tokens == len(TEXT.split())
    assert completion_call(fake).json["model"] == "qwen3-coder-plus"


def test_system_and_history_fold_into_one_message(client: openai.OpenAI, fake: FakeQwen) -> None:
    client.chat.completions.create(
        model="qwen3-max",
        messages=[
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "What is SSE?"},
        ],
    )
    assert completion_call(fake).json["messages"][0]["content"] == (
        "# Conversation history (JSONL)\n"
        '{"role":"system","content":"Be terse."}\n{"role":"user","content":"Hi"}\n'
        '{"role":"assistant","content":"Hello!"}\n'
        '# Current message\n{"role":"user","content":"What is SSE?"}'
    )


def test_params_chat_id_and_thinking_from_the_body(client: openai.OpenAI, fake: FakeQwen) -> None:
    other = fake.new_chat()
    reply = client.chat.completions.create(
        model="qwen3-max", messages=HELLO, extra_body={"chat_id": other, "enable_thinking": True}
    )
    assert reply.choices[0].message.content == TEXT
    assert reply.choices[0].message.model_extra == {"reasoning_content": "".join(THOUGHT)}
    sent = completion_call(fake)
    assert sent.query == {"chat_id": [other]}
    assert sent.json["messages"][0]["feature_config"]["thinking_enabled"] is True
    chunks = list(
        client.chat.completions.create(
            model="qwen3-max", messages=HELLO, stream=True, extra_body={"enable_thinking": True}
        )
    )
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content", "") for c in chunks)
    assert reasoning == "".join(THOUGHT)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        pytest.param({"temperature": 0.2}, "temperature", id="no-place-in-template"),
        pytest.param({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", id="tools"),
        pytest.param({"enable_thinking": "yes"}, "enable_thinking", id="param-wrong-type"),
        pytest.param({"chat_id": "a\r\nx-evil: 1"}, "chat_id", id="param-line-break"),
    ],
)
def test_what_the_template_cannot_take_is_400(
    gateway: Server, fake: FakeQwen, extra: dict[str, Any], param: str
) -> None:
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions", json={"model": "qwen3-max", "messages": HELLO, **extra}
    )
    assert response.status_code == 400
    assert_valid(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == param
    assert fake.requests == []


def test_image_part_is_400(client: openai.OpenAI, fake: FakeQwen) -> None:
    image: ChatCompletionMessageParam = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}],
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="qwen3-max", messages=[image])
    assert caught.value.param == "messages[0].content"
    assert fake.requests == []


def test_http_error_keeps_status_and_retry_after(client: openai.OpenAI, fake: FakeQwen) -> None:
    fake.plan(Status(429, "RateLimited", "Slow down.", headers={"retry-after": "9"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="qwen3-max", messages=HELLO, stream=True)
    assert caught.value.response.headers["retry-after"] == "9"
    assert_valid(caught.value.response.json(), "ErrorResponse")
    assert caught.value.body == {
        "message": "Slow down.",
        "type": "rate_limit_exceeded",
        "param": None,
        "code": "RateLimited",
    }


def test_unknown_chat_is_the_upstreams_404(client: openai.OpenAI, fake: FakeQwen) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="qwen3-max", messages=HELLO, extra_body={"chat_id": str(uuid.uuid4())})


def test_plain_json_failure_on_200(client: openai.OpenAI, fake: FakeQwen) -> None:
    fake.plan(PlainFailure(), PlainFailure())
    with pytest.raises(openai.RateLimitError, match="upper limit"):
        client.chat.completions.create(model="qwen3-max", messages=HELLO)
    with pytest.raises(openai.APIError, match="upper limit"):
        list(client.chat.completions.create(model="qwen3-max", messages=HELLO, stream=True))


def test_error_event_mid_stream(client: openai.OpenAI, fake: FakeQwen) -> None:
    fake.plan(StreamError(after=1, details="Too many requests, slow down."), StreamError(after=1))
    seen: list[ChatCompletionChunk] = []
    stream = client.chat.completions.create(model="qwen3-max", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError, match="slow down"):
        seen.extend(stream)
    assert "".join(c.choices[0].delta.content or "" for c in seen) == ANSWER[0]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="qwen3-max", messages=HELLO)


def test_stream_cut_midway(client: openai.OpenAI, fake: FakeQwen) -> None:
    fake.plan(CutStream(after=2))
    with pytest.raises(openai.APIError, match="closed the connection"):
        list(client.chat.completions.create(model="qwen3-max", messages=HELLO, stream=True))


def test_fake_refuses_what_chat_qwen_ai_refuses(qwen_server: tuple[FakeQwen, Server], fake: FakeQwen) -> None:
    url = f"{qwen_server[1].base_url}/api/v2/chat/completions?chat_id={fake.new_chat()}"
    good = {
        "authorization": f"Bearer {TOKEN}",
        "cookie": f"token={TOKEN}",
        "source": "web",
        "x-request-id": str(uuid.uuid4()),
    }
    assert httpx.post(url, json={}, headers={**good, "cookie": "token=other"}).status_code == 401
    refused = httpx.post(url, json={"stream": False}, headers=good)
    assert refused.status_code == 400 and refused.json()["data"]["code"] == "Bad_Request"
    assert httpx.post(f"{qwen_server[1].base_url}/api/chat/completions", json={}, headers=good).status_code == 404


def test_serve_process_needs_a_chat_id(qwen_server: tuple[FakeQwen, Server], fake: FakeQwen, tmp_path: Path) -> None:
    """`llmrelay serve` with the folder and no QWEN_CHAT_ID: the client must send `chat_id`."""
    config = write_config(tmp_path, EXAMPLE)
    env = clean_env(**qwen_env(qwen_server[1]))
    with (
        serving(["--config", str(config)], tmp_path, env) as (base, _),
        openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0, timeout=10) as c,
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            c.chat.completions.create(model="qwen3-max", messages=HELLO)
        assert caught.value.param == "chat_id"
        stream = c.chat.completions.create(
            model="qwen3-max", messages=HELLO, stream=True, extra_body={"chat_id": fake.new_chat()}
        )
        assert "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices) == TEXT


def test_check_config_and_serve_name_the_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLE, broken)
    (broken / "payload.json").write_text('{\n  "model": "{{model}}",\n  "messages": [\n')
    config = write_config(tmp_path, "broken")  # relative: the config file's folder
    env = clean_env(QWEN_TOKEN=TOKEN)
    for args in (["check-config", str(config)], ["serve", "--config", str(config), "--port", str(closed_port())]):
        result = llmrelay(*args, cwd=tmp_path, env=env)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"llmrelay: config error: {broken / 'payload.json'}: line 4, column 1: invalid JSON: Expecting value"
        ]
