"""The decode → translate → re-encode path that native adapters use, driven by the OpenAI adapter.

With `passthrough` off, the relay parses every reply and event and re-encodes it: what the client
gets must equal what the passthrough path gives, and validate against OpenAI's schemas.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import openai
import pytest
from tests.conftest import gateway_config, run_gateway, sdk
from tests.fakes.openai import CutStream, FakeOpenAI
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

from llmrelay.providers.openai import OpenAIChat
from llmrelay.providers.registry import ProviderSpec

HELLO = [{"role": "user", "content": "hi"}]


class DecodingOpenAIChat(OpenAIChat):
    passthrough: ClassVar[bool] = False


@pytest.fixture(scope="module")
def translating_client(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[openai.OpenAI]:
    registry = {"openai": ProviderSpec(default_base_url="http://127.0.0.1:9/v1", chat=DecodingOpenAIChat())}
    with run_gateway(gateway_config(upstream_server[1].base_url), registry) as server, sdk(server) as client:
        yield client


def test_non_stream_equals_passthrough(
    translating_client: openai.OpenAI, client: openai.OpenAI, fake: FakeOpenAI
) -> None:
    translated = translating_client.chat.completions.create(model="fast", messages=HELLO)
    relayed = client.chat.completions.create(model="fast", messages=HELLO)
    assert translated.model_dump(exclude={"id"}) == relayed.model_dump(exclude={"id"})
    assert_valid(translated.model_dump(exclude_unset=True), "CreateChatCompletionResponse")


def test_stream_equals_passthrough(translating_client: openai.OpenAI, client: openai.OpenAI, fake: FakeOpenAI) -> None:
    def run(c: openai.OpenAI) -> list[dict[str, object]]:
        stream = c.chat.completions.create(
            model="fast", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        return [chunk.model_dump(exclude={"id"}) for chunk in stream]

    translated = run(translating_client)
    assert translated == run(client)
    assert translated[-1]["usage"] is not None


def test_stream_cut_ends_with_error_event(translating_client: openai.OpenAI, fake: FakeOpenAI) -> None:
    fake.plan(CutStream(after_events=2))
    stream = iter(translating_client.chat.completions.create(model="fast", messages=HELLO, stream=True))
    seen = [next(stream), next(stream)]
    with pytest.raises(openai.APIError):
        next(stream)
    assert len(seen) == 2
