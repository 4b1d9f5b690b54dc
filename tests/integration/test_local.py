"""The keyless local model, as a newcomer meets it: `llmrelay serve` with no config and no keys,
driven by the official openai SDK (issue 3). Needs the `llmrelay[local]` extra, which `make test`
installs; the tests fail, not skip, without it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from tests.conftest import gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server
from tests.openai_schema import assert_valid
from tests.process import clean_env, serving

LOCAL = "local/smollm2-135m-instruct"
ASK = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture(scope="module")
def local_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`llmrelay serve` in an empty directory with an environment free of provider keys."""
    with serving([], tmp_path_factory.mktemp("local"), clean_env()) as (base, _):
        yield base


@pytest.fixture
def local(local_gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{local_gateway}/v1", api_key="none", max_retries=0, timeout=60) as client:
        yield client


def test_chat_answer(local: openai.OpenAI) -> None:
    reply = local.chat.completions.create(model=LOCAL, messages=ASK, max_tokens=30)
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None and reply.usage.prompt_tokens > 5 and reply.usage.completion_tokens > 0
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")


def test_max_tokens_gives_length(local: openai.OpenAI) -> None:
    reply = local.chat.completions.create(model=LOCAL, messages=ASK, max_tokens=2, temperature=0)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 2


def test_stream_with_usage(local: openai.OpenAI) -> None:
    chunks = list(local.chat.completions.create(model=LOCAL, messages=ASK, max_tokens=12, stream=True,
                                                stream_options={"include_usage": True}))  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)
    for chunk in chunks:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")


def test_same_seed_same_answer(local: openai.OpenAI) -> None:
    def ask(seed: int) -> str | None:
        reply = local.chat.completions.create(model=LOCAL, messages=ASK, max_tokens=20, temperature=1.0, seed=seed)
        return reply.choices[0].message.content

    assert ask(7) == ask(7)
    assert len({ask(s) for s in (1, 2, 3)}) > 1, "different seeds never changed the answer: seed is ignored"


def test_stop_sequence(local: openai.OpenAI) -> None:
    reply = local.chat.completions.create(
        model=LOCAL, messages=[{"role": "user", "content": "Count from 1 to 10, comma separated."}],
        max_tokens=40, temperature=0, stop=["5"],
    )  # fmt: skip
    assert "5" not in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop"


def test_long_prompt_is_400_naming_the_limit(local: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        local.chat.completions.create(model=LOCAL, messages=[{"role": "user", "content": "word " * 3000}])
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "context_length_exceeded" and body["param"] == "messages"
    assert "2048" in body["message"]


def test_json_mode(local: openai.OpenAI) -> None:
    reply = local.chat.completions.create(
        # Greedy-ish sampling: at OpenAI's default temperature (1.0) a 135M model may ramble in
        # whitespace until max_tokens, and which seed does so depends on how llama.cpp was compiled.
        model=LOCAL, max_tokens=80, seed=3, temperature=0.2, response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Return a JSON object with keys name and age for Ann, 30."}],
    )  # fmt: skip
    assert reply.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)


def test_unsupported_parameter_is_400(local: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        local.chat.completions.create(model=LOCAL, messages=ASK, n=2)
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "n"


def test_legacy_completion(local: openai.OpenAI) -> None:
    reply = local.completions.create(model=LOCAL, prompt="Count to three: 1, 2,", max_tokens=5, temperature=0)
    assert reply.choices[0].text
    assert reply.usage is not None and reply.usage.completion_tokens <= 5


def test_health_says_the_model_is_loaded(local: openai.OpenAI, local_gateway: str) -> None:
    local.chat.completions.create(model=LOCAL, messages=ASK, max_tokens=1)
    assert httpx.get(f"{local_gateway}/health").json()["upstreams"]["local"]["state"] == "loaded"


def test_other_providers_are_served_while_the_local_model_generates(
    upstream_server: tuple[FakeOpenAI, Server], fake: FakeOpenAI, tmp_path: Path
) -> None:
    config = gateway_config(upstream_server[1].base_url)
    config["providers"]["local"] = {"type": "local", "base_url": "local://smollm2"}
    config["models"].append({"name": LOCAL, "provider": "local", "model": "smollm2-135m-instruct"})
    with run_gateway(config) as server, sdk(server) as client:
        client.timeout = 60
        started, finished = threading.Event(), threading.Event()

        def generate() -> None:
            stream = client.chat.completions.create(model=LOCAL, messages=ASK, max_tokens=300, temperature=1.0,
                                                    stream=True, seed=1)  # fmt: skip
            for _ in stream:
                started.set()
            finished.set()

        worker = threading.Thread(target=generate)
        worker.start()
        assert started.wait(60), "the local model never started streaming"
        reply = client.chat.completions.create(model="fast", messages=ASK)
        assert reply.choices[0].message.content == "Hello from fake upstream"
        assert not finished.is_set(), "the local stream had already ended: nothing was shown to run concurrently"
        worker.join(120)
        assert finished.is_set()
