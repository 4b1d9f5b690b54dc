"""Cohere error bodies and statuses beyond the recorded cases, and the embeddings adapter's own rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmrelay.errors import UnsupportedParameterError, UpstreamProtocolError
from llmrelay.providers.base import Target
from llmrelay.providers.cohere import CohereEmbeddings
from llmrelay.providers.cohere.errors import map_cohere_error, param_of
from llmrelay.schemas.embeddings import EmbeddingsRequest


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ("invalid request: stop_sequences must have at most 5 items", "stop"),
        ("invalid request: max_tokens must be positive", "max_tokens"),
        ("invalid request: texts must not be empty", "input"),
        ("invalid request: output_dimension must be one of 256, 512, 1024, 1536", "dimensions"),
        ("invalid request: valid input_type must be provided with the provided model", None),
        ("unknown field: parameter k is not a valid field", "top_k"),
        ("invalid request: message must be at least 1 token long", None),
        ("too many tokens: total number of tokens in the prompt cannot exceed 4081", None),
    ],
)
def test_param_is_the_openai_name_of_the_field_the_message_names(message: str, param: str | None) -> None:
    assert param_of(message) == param


@pytest.mark.parametrize(
    ("status", "body", "expected_status", "message"),
    [
        (402, b'{"message":"Please add a payment method"}', 402, "Please add a payment method"),
        (498, b'{"data":"blocked"}', 498, "blocked"),
        (504, b"", 504, "The upstream answered HTTP 504."),
        (500, b'{"message":""}', 500, 'The upstream answered HTTP 500: {"message":""}'),
    ],
)
def test_other_statuses_keep_status_and_message(status: int, body: bytes, expected_status: int, message: str) -> None:
    error = map_cohere_error(status, {}, body)
    assert (error.status_code, error.message, error.param) == (expected_status, message, None)
    assert error.raw == body


def test_retryable_statuses() -> None:
    assert map_cohere_error(499, {}, b"{}").is_retryable  # type: ignore[attr-defined]
    assert map_cohere_error(503, {}, b"{}").is_retryable  # type: ignore[attr-defined]
    assert not map_cohere_error(400, {}, b"{}").is_retryable  # type: ignore[attr-defined]


TARGET = Target("co", "http://h", "embed-v4.0", api_key="k")


def embed_request(**fields: Any) -> EmbeddingsRequest:
    return EmbeddingsRequest.parse(json.dumps({"model": "embed", "input": "hi", **fields}).encode())


@pytest.mark.parametrize(
    ("fields", "model", "param"),
    [
        ({"input": [1, 2, 3]}, "embed-v4.0", "input"),
        ({"input_type": "image"}, "embed-v4.0", "input_type"),
        ({"truncate": "END"}, "embed-v4.0", "truncate"),
        ({"dimensions": 256}, "embed-multilingual-light-v3.0", "dimensions"),
        ({"dimensions": 256}, "embed-english-v2.0", "dimensions"),
    ],
)
def test_embeddings_rejections(fields: dict[str, Any], model: str, param: str) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        CohereEmbeddings().build_request(embed_request(**fields), Target("co", "http://h", model))
    assert caught.value.param == param


def test_embeddings_usage_falls_back_to_tokens() -> None:
    body = {"embeddings": {"float": [[0.5]]}, "meta": {"tokens": {"input_tokens": 3.0}}}
    parsed = CohereEmbeddings().parse_response(json.dumps(body).encode(), embed_request(), TARGET)
    assert parsed["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert parsed["data"] == [{"object": "embedding", "index": 0, "embedding": [0.5]}]


@pytest.mark.parametrize(
    "body", [b"nope", b'{"embeddings": {"int8": [[1]]}}', b'{"embeddings": {"float": [[0.1], [0.2]]}}']
)
def test_embeddings_reply_must_hold_a_float_vector_per_input(body: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        CohereEmbeddings().parse_response(body, embed_request(), TARGET)


def test_embeddings_errors_use_the_cohere_mapping() -> None:
    error = CohereEmbeddings().map_error(400, {}, b'{"message":"invalid request: texts must not be empty"}')
    assert error.param == "input"
