"""POST /v1/embeddings through the gateway with the official SDK (which asks for base64 by default)."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest
from tests.conftest import gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI, Status
from tests.fakes.openai_embeddings import vector
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.openai import OpenAIEmbeddings
from llmrelay.providers.registry import ProviderSpec
from llmrelay.schemas.embeddings import EmbeddingsRequest


def close(a: list[float], b: list[float]) -> bool:
    return all(abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))


def test_sdk_embeddings_string_and_list(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    one = client.embeddings.create(model="embed", input="hello world")
    assert close(one.data[0].embedding, vector("hello world"))
    assert fake.requests[-1].json["model"] == "text-embedding-3-small"
    many = client.embeddings.create(model="embed", input=["a", "b"], dimensions=4)
    assert [len(d.embedding) for d in many.data] == [4, 4]
    assert close(many.data[1].embedding, vector("b", 4))


def test_float_format_raw(gateway: Server, fake: FakeOpenAI) -> None:
    response = httpx.post(
        f"{gateway.base_url}/v1/embeddings", json={"model": "embed", "input": [[1, 2, 3]], "encoding_format": "float"}
    )
    assert response.status_code == 200
    body = response.json()
    assert_valid(body, "CreateEmbeddingResponse")
    assert close(body["data"][0]["embedding"], vector([1, 2, 3]))


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "embed"}, "input"),
        ({"model": "embed", "input": []}, "input"),
        ({"input": "x"}, "model"),
        ({"model": "embed", "input": "x", "encoding_format": "hex"}, "encoding_format"),
        ({"model": "embed", "input": "x", "dimensions": 0}, "dimensions"),
    ],
)
def test_bad_embeddings_input_is_400(gateway: Server, fake: FakeOpenAI, body: dict[str, object], param: str) -> None:
    response = httpx.post(f"{gateway.base_url}/v1/embeddings", json=body)
    assert response.status_code == 400
    assert_valid(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == param
    assert fake.requests == []


def test_upstream_error_passes_through(client: openai.OpenAI, fake: FakeOpenAI) -> None:
    fake.plan(Status(429, headers={"retry-after": "1"}))
    with pytest.raises(openai.RateLimitError):
        client.embeddings.create(model="embed", input="x")


class DecodingEmbeddings(OpenAIEmbeddings):
    """Acts like a native upstream: it asks for floats whatever the client wanted, so the relay must encode."""

    passthrough = False

    def build_request(self, req: EmbeddingsRequest, target: Target) -> UpstreamRequest:
        built = super().build_request(req, target)
        body = {k: v for k, v in orjson.loads(built.body).items() if k != "encoding_format"}
        return UpstreamRequest(built.method, built.url, built.headers, orjson.dumps(body))


@pytest.fixture(scope="module")
def decoding_client(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[openai.OpenAI]:
    registry = {"openai": ProviderSpec(default_base_url="http://127.0.0.1:9/v1", embeddings=DecodingEmbeddings())}
    with run_gateway(gateway_config(upstream_server[1].base_url), registry) as server, sdk(server) as client:
        yield client


def test_translated_path_encodes_base64_itself(decoding_client: openai.OpenAI, fake: FakeOpenAI) -> None:
    raw = decoding_client.embeddings.with_raw_response.create(model="embed", input="hello", encoding_format="base64")
    body = raw.http_response.json()
    decoded = struct.unpack(f"<{len(vector('hello'))}f", base64.b64decode(body["data"][0]["embedding"]))
    assert close(list(decoded), vector("hello"))
    body["data"][0]["embedding"] = list(decoded)  # OpenAI's schema describes the float form only
    assert_valid(body, "CreateEmbeddingResponse")
    default = decoding_client.embeddings.create(model="embed", input="hello")  # the SDK asks for base64 itself
    assert "encoding_format" not in fake.requests[-1].json
    assert close(default.data[0].embedding, vector("hello"))


def test_chat_only_model_rejects_embeddings_before_any_io(
    fake: FakeOpenAI, upstream_server: tuple[FakeOpenAI, Server]
) -> None:
    from llmrelay.providers.openai import OpenAIChat

    registry = {"openai": ProviderSpec(default_base_url="http://127.0.0.1:9/v1", chat=OpenAIChat())}
    with run_gateway(gateway_config(upstream_server[1].base_url), registry) as server:
        response = httpx.post(f"{server.base_url}/v1/embeddings", json={"model": "fast", "input": "x"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "unsupported_capability"
        models = httpx.get(f"{server.base_url}/v1/models").json()["data"]
        assert models[0]["capabilities"]["embeddings"] is False
    assert fake.requests == []
