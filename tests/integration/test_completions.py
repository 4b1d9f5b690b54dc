"""POST /v1/completions (legacy) through the gateway with the official SDK: passthrough both ways."""

from __future__ import annotations

import httpx
import openai
import pytest
from tests.fakes.openai import FakeOpenAI
from tests.fakes.openai_completions import PIECES
from tests.fakes.server import Server


def test_non_stream(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    reply = client.completions.create(model="instruct", prompt="Count to three:", max_tokens=8, extra_body={"top_k": 2})
    assert reply.choices[0].text == "".join(PIECES)
    assert reply.usage is not None and reply.usage.total_tokens == 9
    sent = fake.requests[-1]
    assert sent.path == "/v1/completions"
    assert sent.json == {"model": "gpt-3.5-turbo-instruct", "prompt": "Count to three:", "max_tokens": 8, "top_k": 2}


def test_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.completions.create(model="instruct", prompt=["a"], stream=True, stream_options={"include_usage": True})
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "".join(PIECES)
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 9


@pytest.mark.parametrize(
    ("body", "param"),
    [({"model": "instruct"}, "prompt"), ({"prompt": "x"}, "model"), ({"model": "instruct", "prompt": [1.5]}, "prompt")],
)
def test_bad_input_is_400(gateway: Server, fake: FakeOpenAI, body: dict[str, object], param: str) -> None:
    response = httpx.post(f"{gateway.base_url}/v1/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert fake.requests == []


def test_models_advertise_completions(gateway: Server) -> None:
    models = {m["id"]: m for m in httpx.get(f"{gateway.base_url}/v1/models").json()["data"]}
    assert models["instruct"]["capabilities"]["completions"] is True
