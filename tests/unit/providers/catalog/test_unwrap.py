"""Wrapped replies (reference §7.3) over every recorded case: a wrapped vendor body reads like the bare one.

Each recorded non-stream reply and error of the adapters a catalog handle can name (openai, anthropic,
gemini, cohere) is wrapped as the catalog host wraps it, then read through the unwrapping adapter: the
result must equal what the bare adapter makes of the bare body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from llmrelay.errors import UpstreamStatusError
from llmrelay.providers.base import Target
from llmrelay.providers.catalog import UnwrappedChat, UnwrappedEmbeddings, UnwrappedImages
from llmrelay.providers.catalog.unwrap import unwrap
from llmrelay.providers.openai import OpenAIChat, OpenAIEmbeddings, OpenAIImages
from llmrelay.providers.registry import PROVIDERS
from llmrelay.schemas.chat import ChatRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest
from llmrelay.schemas.images import ImagesRequest

ROOT = Path(__file__).parents[3] / "fixtures" / "providers"
TYPES = ("openai", "anthropic", "gemini", "cohere")
CASES = sorted(p for t in TYPES for p in (ROOT / t).glob("*") if p.is_dir())


def _cases(*names: str) -> list[Any]:
    return [pytest.param(c, id=f"{c.parent.name}/{c.name}") for c in CASES if all((c / n).is_file() for n in names)]


def wrapped(vendor: Any) -> bytes:
    return orjson.dumps({"key": "ORG_KEY_3", "response": vendor, "attempt_count": 1, "cost": 0.0000204,
                         "stats": {"provider": "api", "model_family": "gpt-4"}})  # fmt: skip


def _request(case: Path) -> ChatRequest:
    return ChatRequest.parse((case / "openai_request.json").read_bytes(), created=1733011200, request_id="fixture")


@pytest.mark.parametrize("case", _cases("openai_request.json", "upstream_response.json", "openai_response.json"))
def test_wrapped_reply_reads_like_the_bare_one(case: Path) -> None:
    inner = PROVIDERS[case.parent.name].chat
    assert inner is not None
    target = Target(**json.loads((case / "target.json").read_text()))
    vendor = json.loads((case / "upstream_response.json").read_text())
    parsed = UnwrappedChat(inner).parse_response(wrapped(vendor), _request(case), target)
    assert parsed == json.loads((case / "openai_response.json").read_text())


@pytest.mark.parametrize("case", _cases("upstream_error.json", "openai_error.json"))
@pytest.mark.parametrize("style", ["wrapped", "plain"])
def test_wrapped_error_maps_like_the_bare_one(case: Path, style: str) -> None:
    spec = PROVIDERS[case.parent.name]
    upstream, expected = (
        json.loads((case / "upstream_error.json").read_text()),
        json.loads((case / "openai_error.json").read_text()),
    )
    body = upstream["body"]
    if style == "wrapped" and not isinstance(body, str):
        raw = orjson.dumps({"response": body})
    else:
        raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
    if spec.chat is not None:
        error = UnwrappedChat(spec.chat).map_error(upstream["status"], upstream.get("headers", {}), raw)
    else:
        assert spec.embeddings is not None
        error = UnwrappedEmbeddings(spec.embeddings).map_error(upstream["status"], upstream.get("headers", {}), raw)
    assert error.status_code == expected["status"]
    assert error.to_body() == expected["body"]
    assert {k.lower(): v for k, v in error.headers.items()} == expected.get("headers", {})


REQ = ChatRequest.parse(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
TARGET = Target("eliza", "https://llm.example/openai/v1", "m")


def test_the_host_own_detail_error() -> None:
    error = UnwrappedChat(OpenAIChat()).map_error(401, {}, b'{"detail": "Invalid OAuth token"}')
    assert isinstance(error, UpstreamStatusError)
    assert error.status_code == 401
    assert error.message == "The model catalog host answered HTTP 401: Invalid OAuth token"
    listed = UnwrappedChat(OpenAIChat()).map_error(422, {"retry-after": "1"}, b'{"detail": [{"msg": "bad model"}]}')
    assert listed.message.endswith(": bad model") and listed.headers == {"retry-after": "1"}


def test_a_vendor_error_inside_a_2xx_wrapper_is_an_error() -> None:
    body = wrapped({"error": {"message": "quota exceeded", "type": "insufficient_quota", "code": "insufficient_quota"}})
    with pytest.raises(UpstreamStatusError) as caught:
        UnwrappedChat(OpenAIChat()).parse_response(body, REQ, TARGET)
    assert caught.value.status_code == 502 and caught.value.message == "quota exceeded"


def test_an_unwrapped_body_is_read_as_is() -> None:
    completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    assert UnwrappedChat(OpenAIChat()).parse_response(orjson.dumps(completion), REQ, TARGET) == completion
    assert unwrap(b"not json") == (b"not json", False)
    assert unwrap(b'{"error": {"message": "x"}}') == (b'{"error": {"message": "x"}}', True)


def test_wrapped_adapters_are_not_passthrough_and_stream_through_the_inner_one() -> None:
    chat = UnwrappedChat(OpenAIChat())
    assert chat.passthrough is False and OpenAIChat.passthrough is True
    assert chat.stream_framing == "sse"
    assert type(chat.open_stream(REQ, TARGET)).__name__ == "OpenAIStream"
    assert chat.build_request(REQ, TARGET) == OpenAIChat().build_request(REQ, TARGET)


def test_wrapped_embeddings() -> None:
    req = EmbeddingsRequest.parse(b'{"model": "e", "input": "hi"}')
    vendor = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}], "model": "e",
              "usage": {"prompt_tokens": 1, "total_tokens": 1}}  # fmt: skip
    embeddings = UnwrappedEmbeddings(OpenAIEmbeddings())
    assert embeddings.passthrough is False
    assert embeddings.parse_response(wrapped(vendor), req, TARGET) == vendor
    assert embeddings.build_request(req, TARGET).url == "https://llm.example/openai/v1/embeddings"


def test_wrapped_images() -> None:
    req = ImagesRequest.parse(b'{"model": "dall-e-3", "prompt": "a fox"}')
    vendor = {"created": 1733014000, "data": [{"url": "https://img.example/1.png", "revised_prompt": "a red fox"}]}
    images = UnwrappedImages(OpenAIImages())
    assert images.passthrough is False
    assert images.parse_response(wrapped(vendor), req, TARGET) == vendor
    error = images.map_error(400, {}, orjson.dumps({"response": {"error": {"message": "bad size", "param": "size"}}}))
    assert error.status_code == 400 and error.param == "size"
