"""Every adapter × every recorded case, through one matrix. A case is a folder
tests/fixtures/providers/<provider type>/<case>/ holding `SOURCE` (where the shapes came from),
`target.json` (a `Target`'s fields) and some of:

- `openai_request.json` + `upstream_request.json`: chat request translation (method, url, headers, and
  the exact body bytes; or the parsed body when `upstream_request.json` has `"json"` instead of `"body"`)
- `openai_request.json` + `upstream_response.json` + `openai_response.json`: non-stream reply translation
- `openai_request.json` + `upstream_stream.sse` + `openai_stream.jsonl`: what the client sees of a stream,
  every `data:` object in order, ending with `[DONE]` unless the last object is an `{"error": …}` (a
  stream that failed midway)
- `upstream_error.json` + `openai_error.json`: `map_error`, `{"status", "headers", "body"}` to
  `{"status", "body", "headers"}` (headers lower-cased: only the ones kept)
- `embeddings_request.json` + `upstream_embeddings_request.json`: embeddings request translation
- `embeddings_request.json` + `upstream_embeddings_response.json` + `embeddings_response.json`:
  embeddings reply translation
- `images_request.json` + `upstream_images_request.json`: image generation request translation (a
  multipart body is compared as exact bytes, `"body"`)
- `images_request.json` + `upstream_images_response.json` + `images_response.json`: image reply translation

Requests are parsed with `created = 1733011200` (image requests too) and `request_id = "fixture"`, so a reply an adapter
builds itself has `"created": 1733011200` and, when it must invent an id, `"id": "chatcmpl-fixture"`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay.errors import RelayError
from llmrelay.pipeline.stream import Framing, error_event
from llmrelay.providers.base import Target
from llmrelay.providers.registry import PROVIDERS
from llmrelay.schemas.chat import ChatRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest
from llmrelay.schemas.images import ImagesRequest
from llmrelay.transport.sse import LineDecoder, SSEDecoder

ROOT = Path(__file__).parents[2] / "fixtures" / "providers"
CASES = sorted(p for p in ROOT.glob("*/*") if p.is_dir())
CREATED, REQUEST_ID = 1733011200, "fixture"


def _with(*names: str) -> list[Any]:
    return [pytest.param(c, id=f"{c.parent.name}/{c.name}") for c in CASES if all((c / n).is_file() for n in names)]


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _target(case: Path) -> Target:
    return Target(**_json(case / "target.json"))


def _spec(case: Path) -> Any:
    return PROVIDERS[case.parent.name]


def _chat_request(case: Path) -> ChatRequest:
    return ChatRequest.parse((case / "openai_request.json").read_bytes(), created=CREATED, request_id=REQUEST_ID)


def _check_built(built: Any, expected: dict[str, Any]) -> None:
    assert built.method == expected["method"]
    assert built.url == expected["url"]
    assert dict(built.headers) == expected["headers"]
    if "body" in expected:
        assert built.body == expected["body"].encode()
    else:
        assert json.loads(built.body) == expected["json"]


def test_every_case_is_complete() -> None:
    assert CASES, "no fixture cases found"
    for case in CASES:
        assert case.parent.name in PROVIDERS, f"{case}: no provider type {case.parent.name!r} in the registry"
        assert (case / "SOURCE").is_file(), f"{case} says nowhere where its shapes came from"
        assert (case / "target.json").is_file(), f"{case} has no target.json"


@pytest.mark.parametrize("case", _with("openai_request.json", "upstream_request.json"))
def test_request_translation(case: Path) -> None:
    built = _spec(case).chat.build_request(_chat_request(case), _target(case))
    _check_built(built, _json(case / "upstream_request.json"))


@pytest.mark.parametrize("case", _with("openai_request.json", "upstream_response.json", "openai_response.json"))
def test_response_translation(case: Path) -> None:
    body = (case / "upstream_response.json").read_bytes()
    parsed = _spec(case).chat.parse_response(body, _chat_request(case), _target(case))
    assert parsed == _json(case / "openai_response.json")


def _client_view(case: Path) -> bytes:
    """The bytes the relay would send for this upstream transcript (as pipeline.stream.translated does)."""
    req = _chat_request(case)
    translator = _spec(case).chat.open_stream(req, _target(case))
    framing = Framing(req.include_usage)
    lines = getattr(_spec(case).chat, "stream_framing", "sse") == "lines"
    decoder = LineDecoder() if lines else SSEDecoder()
    wire = b""
    try:
        for event in decoder.feed((case / "upstream_stream.sse").read_bytes()) + decoder.close():
            wire += b"".join(framing.encode(chunk) for chunk in translator.feed(event))
        wire += b"".join(framing.encode(chunk) for chunk in translator.close())
        wire += framing.end(translator.usage)
    except RelayError as exc:
        wire += error_event(exc)
    return wire


@pytest.mark.parametrize("case", _with("openai_request.json", "upstream_stream.sse", "openai_stream.jsonl"))
def test_stream_translation(case: Path) -> None:
    events = SSEDecoder().feed(_client_view(case))
    expected = [json.loads(line) for line in (case / "openai_stream.jsonl").read_text().splitlines() if line]
    if "error" in expected[-1]:
        assert all(e.data != "[DONE]" for e in events)
        objects = [json.loads(e.data) for e in events]
    else:
        assert events[-1].data == "[DONE]"
        objects = [json.loads(e.data) for e in events[:-1]]
    assert objects == expected


@pytest.mark.parametrize("case", _with("upstream_error.json", "openai_error.json"))
def test_error_mapping(case: Path) -> None:
    upstream, expected = _json(case / "upstream_error.json"), _json(case / "openai_error.json")
    body = upstream["body"] if isinstance(upstream["body"], str) else json.dumps(upstream["body"])
    spec = _spec(case)
    adapter = spec.chat or spec.embeddings or spec.images
    error = adapter.map_error(upstream["status"], upstream.get("headers", {}), body.encode())
    assert error.status_code == expected["status"]
    assert error.to_body() == expected["body"]
    assert {k.lower(): v for k, v in error.headers.items()} == expected.get("headers", {})


def _embeddings_request(case: Path) -> EmbeddingsRequest:
    return EmbeddingsRequest.parse((case / "embeddings_request.json").read_bytes())


@pytest.mark.parametrize("case", _with("embeddings_request.json", "upstream_embeddings_request.json"))
def test_embeddings_request_translation(case: Path) -> None:
    built = _spec(case).embeddings.build_request(_embeddings_request(case), _target(case))
    _check_built(built, _json(case / "upstream_embeddings_request.json"))


@pytest.mark.parametrize(
    "case", _with("embeddings_request.json", "upstream_embeddings_response.json", "embeddings_response.json")
)
def test_embeddings_response_translation(case: Path) -> None:
    body = (case / "upstream_embeddings_response.json").read_bytes()
    parsed = _spec(case).embeddings.parse_response(body, _embeddings_request(case), _target(case))
    assert parsed == _json(case / "embeddings_response.json")


def _images_request(case: Path) -> ImagesRequest:
    return ImagesRequest.parse((case / "images_request.json").read_bytes(), created=CREATED)


@pytest.mark.parametrize("case", _with("images_request.json", "upstream_images_request.json"))
def test_images_request_translation(case: Path) -> None:
    built = _spec(case).images.build_request(_images_request(case), _target(case))
    _check_built(built, _json(case / "upstream_images_request.json"))


@pytest.mark.parametrize("case", _with("images_request.json", "upstream_images_response.json", "images_response.json"))
def test_images_response_translation(case: Path) -> None:
    body = (case / "upstream_images_response.json").read_bytes()
    parsed = _spec(case).images.parse_response(body, _images_request(case), _target(case))
    assert parsed == _json(case / "images_response.json")
