"""Local embeddings as a newcomer meets them: `llmrelay serve` with no config and no keys, driven by the
official openai SDK (issue 3, point 4). Needs the `llmrelay[local-embeddings]` extra, which `make test`
installs; the tests fail, not skip, without it. The model loads once, in the module fixture."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator, Sequence

import httpx
import openai
import pytest
from tests.openai_schema import assert_valid
from tests.process import clean_env, serving

MODEL = "local/all-minilm-l6-v2"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`llmrelay serve` in an empty directory with an environment free of provider keys, model loaded."""
    with serving([], tmp_path_factory.mktemp("local-embeddings"), clean_env()) as (base, _):
        warm = httpx.post(f"{base}/v1/embeddings", json={"model": MODEL, "input": "warm up"}, timeout=120)
        assert warm.status_code == 200, warm.text
        yield base


@pytest.fixture
def client(gateway: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{gateway}/v1", api_key="none", max_retries=0, timeout=60) as sdk:
        yield sdk


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_similar_sentences_are_closer_than_unrelated_ones(client: openai.OpenAI) -> None:
    # The SDK asks for base64 by default and decodes it: this is the path most clients take.
    reply = client.embeddings.create(
        model=MODEL,
        input=["A cat sits on the mat.", "A kitten is sitting on a rug.", "Interest rates rose by a quarter point."],
    )
    cat, kitten, rates = (item.embedding for item in reply.data)
    assert len(cat) == 384
    assert math.isclose(math.fsum(x * x for x in cat), 1.0, abs_tol=1e-4)
    assert cosine(cat, kitten) > cosine(cat, rates) + 0.3
    assert [item.index for item in reply.data] == [0, 1, 2]


def test_float_and_base64_give_the_same_vector(gateway: str) -> None:
    def embed(encoding: str) -> dict[str, object]:
        body = {"model": MODEL, "input": "hello world", "encoding_format": encoding}
        reply = httpx.post(f"{gateway}/v1/embeddings", json=body, timeout=60)
        assert reply.status_code == 200, reply.text
        parsed: dict[str, object] = reply.json()
        return parsed

    floats, packed = embed("float"), embed("base64")
    assert_valid(floats, "CreateEmbeddingResponse")  # the published schema knows only the float form
    vector = floats["data"][0]["embedding"]  # type: ignore[index]
    raw = base64.b64decode(packed["data"][0]["embedding"])  # type: ignore[index]
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(decoded) == len(vector) == 384
    assert all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-7) for x, y in zip(decoded, vector, strict=True))
    assert floats["usage"] == {"prompt_tokens": 4, "total_tokens": 4}  # [CLS] hello world [SEP]
    assert floats["model"] == "all-minilm-l6-v2"


def test_a_list_input_gets_one_vector_each_and_summed_usage(client: openai.OpenAI) -> None:
    one = client.embeddings.create(model=MODEL, input="a short sentence", encoding_format="float")
    many = client.embeddings.create(model=MODEL, input=["a short sentence"] * 3, encoding_format="float")
    assert len(many.data) == 3
    assert many.usage.prompt_tokens == 3 * one.usage.prompt_tokens
    assert cosine(many.data[2].embedding, one.data[0].embedding) > 0.9999


def test_models_lists_the_embeddings_model(client: openai.OpenAI, gateway: str) -> None:
    models = {m["id"]: m for m in httpx.get(f"{gateway}/v1/models").json()["data"]}
    assert models[MODEL]["capabilities"]["embeddings"] is True
    assert models[MODEL]["owned_by"] == "local"


def test_dimensions_other_than_384_is_400_naming_it(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=MODEL, input="hi", dimensions=128)
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "dimensions"
    assert "384" in caught.value.body["message"]
    reply = client.embeddings.create(model=MODEL, input="hi", dimensions=384, encoding_format="float")
    assert len(reply.data[0].embedding) == 384


def test_token_arrays_are_400_naming_input(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=MODEL, input=[[15339, 1917]])
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "input"


def test_input_past_256_tokens_is_400_not_truncated(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=MODEL, input=["fine", "word " * 300])
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["code"] == "context_length_exceeded" and body["param"] == "input"
    assert "256" in body["message"] and "input[1]" in body["message"]


def test_chat_with_the_embeddings_model_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "model"


def test_health_says_the_embeddings_model_is_loaded(gateway: str) -> None:
    local = httpx.get(f"{gateway}/health").json()["upstreams"]["local"]
    assert local["embeddings"]["state"] == "loaded"
