"""The Responses translation × every recorded case in tests/fixtures/dialects/responses/<case>/ (`SOURCE`
says where each shape came from). Ids are drawn from the token `0f1e2d3c`; times are fixed.

- `responses_request.json` → `input_items.json` (as `GET .../input_items` lists them) and
  `chat_request.json`: the request translation (dialects/responses.py)
- `chat_response.json` → `response.json`: the reply translation, valid against OpenAI's `Response`
  schema and parsed by the SDK's `Response`
- `chat_stream.jsonl` → `responses_stream.sse`: the stream translation, byte for byte; an `{"error": …}`
  line is the relay's error frame. Every event validates against its OpenAI schema, and the SDK's own
  accumulator (`ResponseStreamState`) rebuilds from them the Response the non-stream case answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter
from tests.openai_schema import assert_valid

from llmrelay.dialects.responses import ItemIds, ResponsesRequest, input_items, to_chat
from llmrelay.dialects.responses_reply import encode_event, from_completion, response_shell
from llmrelay.dialects.responses_stream import ResponsesStream
from llmrelay.transport.sse import SSEDecoder

ROOT = Path(__file__).parents[2] / "fixtures" / "dialects" / "responses"
CASES = sorted(p for p in ROOT.iterdir() if p.is_dir())
TOKEN, CREATED, COMPLETED = "0f1e2d3c", 1733011200, 1733011201
EVENTS: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
}


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _prepared(case: Path) -> tuple[ResponsesRequest, ItemIds, list[dict[str, Any]]]:
    req = ResponsesRequest.parse((case / "responses_request.json").read_bytes())
    ids = ItemIds(TOKEN)
    return req, ids, input_items(req.input, ids)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_request(case: Path) -> None:
    req, _, items = _prepared(case)
    assert items == _json(case / "input_items.json")
    assert to_chat(req, items, []) == _json(case / "chat_request.json")


@pytest.mark.parametrize("case", [c for c in CASES if (c / "chat_response.json").exists()], ids=lambda c: c.name)
def test_reply(case: Path) -> None:
    req, ids, _ = _prepared(case)
    shell = response_shell(req, ids.response, CREATED, req.model)
    response = from_completion(shell, _json(case / "chat_response.json"), ids, COMPLETED)
    assert response == _json(case / "response.json")
    assert_valid(response, "Response")
    Response.model_validate(response)


def _stream(case: Path) -> tuple[bytes, dict[str, Any]]:
    req, ids, _ = _prepared(case)
    stream = ResponsesStream(response_shell(req, ids.response, CREATED, req.model), ids)
    events = stream.start()
    for line in (case / "chat_stream.jsonl").read_text().splitlines():
        chunk = json.loads(line)
        if "error" in chunk:
            events += stream.fail(chunk["error"])
            break
        events += stream.feed(chunk)
    else:
        events += stream.finish(COMPLETED)
    return b"".join(encode_event(event) for event in events), stream.response


@pytest.mark.parametrize("case", [c for c in CASES if (c / "chat_stream.jsonl").exists()], ids=lambda c: c.name)
def test_stream(case: Path) -> None:
    raw, final = _stream(case)
    assert raw == (case / "responses_stream.sse").read_bytes()
    decoder = SSEDecoder()
    events = [*decoder.feed(raw), *decoder.close()]
    state: ResponseStreamState[None] = ResponseStreamState(input_tools=omit, text_format=omit)
    for number, sse in enumerate(events):
        event = json.loads(sse.data)
        assert event["type"] == sse.event and event["sequence_number"] == number
        assert_valid(event, SCHEMAS[event["type"]])
        state.handle_event(EVENTS.validate_python(event))
    assert json.loads(events[-1].data)["response"] == final
    if (case / "response.json").exists():
        expected = _json(case / "response.json")
        assert final == expected
        # What the SDK accumulated from the deltas alone (its snapshot) says what the final Response says.
        snapshot = state._ResponseStreamState__current_snapshot  # type: ignore[attr-defined]
        assert [_essence(item.to_dict()) for item in snapshot.output] == [_essence(i) for i in expected["output"]]


def _essence(item: dict[str, Any]) -> tuple[object, ...]:
    """What an output item says (not its status, which the SDK's snapshot leaves as it was added)."""
    content = [part.get("text") for part in item.get("content", ())]
    return item["id"], item["type"], item.get("arguments"), item.get("call_id"), item.get("name"), content


def test_stream_without_output_still_has_its_message() -> None:
    req = ResponsesRequest.parse(b'{"model": "m", "input": "hi"}')
    stream = ResponsesStream(response_shell(req, "resp_x", CREATED, "m"), ItemIds("aa"))
    events = [*stream.start(), *stream.feed({"choices": [{"delta": {}, "finish_reason": "stop"}]}), *stream.finish(9)]
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert stream.response["output"][0]["content"][0]["text"] == ""
    assert stream.response["usage"]["total_tokens"] == 0
