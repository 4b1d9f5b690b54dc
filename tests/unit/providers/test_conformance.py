"""Every adapter × every recorded case: OpenAI request → upstream request, upstream reply → OpenAI reply.

Cases live in tests/fixtures/providers/<type>/<case>/ (see SOURCE in each for where the shapes came
from). A case has `target.json` and `openai_request.json` (raw bytes, as a client sent them), and any
of: `upstream_request.json`, `upstream_response.json` + `openai_response.json`, `upstream_stream.sse`
+ `openai_stream.jsonl`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmrelay.pipeline.stream import Framing
from llmrelay.providers.base import Target
from llmrelay.providers.registry import PROVIDERS
from llmrelay.schemas.chat import ChatRequest
from llmrelay.transport.sse import SSEDecoder

ROOT = Path(__file__).parents[2] / "fixtures" / "providers"
CASES = sorted(p for p in ROOT.glob("*/*") if (p / "openai_request.json").is_file())


def _target(case: Path) -> Target:
    spec: dict[str, Any] = json.loads((case / "target.json").read_text())
    return Target(**spec)


def _adapter(case: Path) -> Any:
    adapter = PROVIDERS[case.parent.name].chat
    assert adapter is not None
    return adapter


def _with(name: str) -> list[Any]:
    return [pytest.param(c, id=f"{c.parent.name}/{c.name}") for c in CASES if (c / name).is_file()]


def test_every_case_is_exercised() -> None:
    assert CASES, "no fixture cases found"
    for case in CASES:
        assert (case / "SOURCE").is_file(), f"{case} says nowhere where its shapes came from"


@pytest.mark.parametrize("case", _with("upstream_request.json"))
def test_request_translation(case: Path) -> None:
    expected = json.loads((case / "upstream_request.json").read_text())
    req = ChatRequest.parse((case / "openai_request.json").read_bytes())
    built = _adapter(case).build_request(req, _target(case))
    assert built.method == expected["method"]
    assert built.url == expected["url"]
    assert dict(built.headers) == expected["headers"]
    assert built.body == expected["body"].encode()


@pytest.mark.parametrize("case", _with("upstream_response.json"))
def test_response_translation(case: Path) -> None:
    req = ChatRequest.parse((case / "openai_request.json").read_bytes())
    parsed = _adapter(case).parse_response((case / "upstream_response.json").read_bytes(), req, _target(case))
    assert parsed == json.loads((case / "openai_response.json").read_text())


@pytest.mark.parametrize("case", _with("upstream_stream.sse"))
def test_stream_translation(case: Path) -> None:
    """What the client sees: translated chunks framed as OpenAI does (usage chunk if asked, [DONE])."""
    req = ChatRequest.parse((case / "openai_request.json").read_bytes())
    translator = _adapter(case).open_stream(req, _target(case))
    framing = Framing(req.include_usage)
    decoder = SSEDecoder()
    wire = b""
    for event in decoder.feed((case / "upstream_stream.sse").read_bytes()) + decoder.close():
        wire += b"".join(framing.encode(chunk) for chunk in translator.feed(event))
    wire += b"".join(framing.encode(chunk) for chunk in translator.close()) + framing.end(translator.usage)
    client_events = SSEDecoder().feed(wire)
    assert client_events[-1].data == "[DONE]"
    chunks = [json.loads(e.data) for e in client_events[:-1]]
    expected = [json.loads(line) for line in (case / "openai_stream.jsonl").read_text().splitlines()]
    assert chunks == expected
