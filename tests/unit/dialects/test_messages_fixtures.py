"""Messages inbound × every recorded case in tests/fixtures/dialects/messages/<case>/ (`SOURCE` says where
each shape came from):

- `messages_request.json` → `chat_request.json`: the request translation (dialects/anthropic_request.py)
- `chat_response.json` → `messages_response.json`: the reply translation, which the SDK's `Message` must parse
- `chat_stream.jsonl` → `messages_stream.sse`: the stream translation, byte for byte (`message_start` carries
  the offline prompt count the pipeline passes: 25 here); an `{"error": …}` line is the relay's error frame.
  The events must also rebuild, through the SDK's own accumulator, the message the non-stream case answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message

from llmrelay.dialects.anthropic_messages import to_message
from llmrelay.dialects.anthropic_request import check_request, to_chat
from llmrelay.dialects.anthropic_stream import MessagesStream
from llmrelay.transport.sse import SSEDecoder

ROOT = Path(__file__).parents[2] / "fixtures" / "dialects" / "messages"
CASES = sorted(p for p in ROOT.iterdir() if p.is_dir())
INPUT_TOKENS = 25


def _with(*names: str) -> list[Any]:
    return [pytest.param(c, id=c.name) for c in CASES if all((c / n).is_file() for n in names)]


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _stops(case: Path) -> list[str]:
    stops: list[str] = _json(case / "messages_request.json").get("stop_sequences") or []
    return stops


def _stream(case: Path) -> bytes:
    request = _json(case / "messages_request.json")
    stream = MessagesStream(input_tokens=INPUT_TOKENS, stop_sequences=_stops(case), model=request["model"])
    frames: list[bytes] = []
    for line in (case / "chat_stream.jsonl").read_text().splitlines():
        chunk = json.loads(line)
        if "error" in chunk:
            return b"".join(frames + stream.error(chunk["error"]))
        frames += stream.feed(chunk)
    return b"".join(frames + stream.close())


def test_every_case_has_a_source() -> None:
    assert CASES
    assert all((case / "SOURCE").is_file() and (case / "messages_request.json").is_file() for case in CASES)


@pytest.mark.parametrize("case", _with("chat_request.json"))
def test_request(case: Path) -> None:
    body = _json(case / "messages_request.json")
    check_request(body)
    assert to_chat(body) == _json(case / "chat_request.json")


@pytest.mark.parametrize("case", _with("chat_response.json", "messages_response.json"))
def test_reply(case: Path) -> None:
    message = to_message(_json(case / "chat_response.json"), stop_sequences=_stops(case))
    assert message == _json(case / "messages_response.json")
    assert Message.model_validate(message).model_dump(exclude_unset=True) == message


@pytest.mark.parametrize("case", _with("chat_stream.jsonl", "messages_stream.sse"))
def test_stream(case: Path) -> None:
    produced = _stream(case)
    assert produced == (case / "messages_stream.sse").read_bytes()
    decoder = SSEDecoder()
    events = [*decoder.feed(produced), *decoder.close()]
    assert all(event.event == json.loads(event.data)["type"] for event in events)  # `event:` names every frame


@pytest.mark.parametrize("case", _with("chat_stream.jsonl", "messages_response.json"))
def test_stream_rebuilds_the_reply(case: Path) -> None:
    """The SDK's accumulator (what `messages.stream(...).get_final_message()` runs) over the events
    gives the message the non-stream reply is: content, stop reason, real usage."""
    decoder = SSEDecoder()
    snapshot: Any = None
    buffers: dict[int, bytes] = {}
    for event in [*decoder.feed(_stream(case)), *decoder.close()]:
        if event.event != "ping":
            snapshot = accumulate_event(event=json.loads(event.data), current_snapshot=snapshot, json_bufs=buffers)
    assert snapshot is not None
    expected = _json(case / "messages_response.json")
    rebuilt = snapshot.model_dump()
    rebuilt["content"] = [{k: v for k, v in block.items() if v is not None} for block in rebuilt["content"]]
    rebuilt["usage"] = {k: v for k, v in rebuilt["usage"].items() if v is not None}
    assert {k: rebuilt[k] for k in expected} == expected
