"""The fake BITO upstream is as strict as promised: the adapter's body passes, any deviation is refused,
and its answer lines are what the adapter must read."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from tests.fakes.bito import KNOWN_MODEL_IDS, BadRequest, stream_lines, validate_payload

from llmrelay.providers.base import Target
from llmrelay.providers.bito import BitoChat
from llmrelay.schemas.chat import ChatRequest

TARGET = Target(provider="b", base_url="http://127.0.0.1:9", model="Claude Sonnet 3.7", api_key="tok")


def adapter_body(**fields: Any) -> dict[str, Any]:
    raw = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields})
    body: dict[str, Any] = orjson.loads(BitoChat().build_request(ChatRequest.parse(raw), TARGET).body)
    return body


def test_what_the_adapter_sends_passes() -> None:
    validate_payload(adapter_body(), KNOWN_MODEL_IDS)
    validate_payload(adapter_body(temperature=1, top_p=0.5, max_tokens=3), KNOWN_MODEL_IDS)


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": None},
        {"extra": 1},
        {"Stream": False},
        {"ideId": True},
        {"modelId": 7},
        {"aiModelType": "BASIC"},
        {"context": [{"question": "q"}]},
        {"context": [{"question": "q", "answer": None}]},
        {"customllmconfig": {"top_p": None}},
        {"customllmconfig": {"temperature": 0.7, "top_k": 3}},
        {"customllmconfig": {"temperature": 0.7, "max_tokens": 1.5}},
    ],
)
def test_deviations_are_refused(change: dict[str, Any]) -> None:
    body = {**adapter_body(), **change}
    if change.get("prompt", "") is None:
        del body["prompt"]
    with pytest.raises(BadRequest):
        validate_payload(body, KNOWN_MODEL_IDS)


def test_answer_lines_in_each_framing() -> None:
    assert stream_lines("lines", ("a",)) == [b'data: {"choices":[{"text":"a"}]}\n', b"data: [DONE]\n"]
    assert stream_lines("sse", ("a",))[-1] == b"data: [DONE]\n\n"
    assert stream_lines("bare", ("a",)) == [b'{"choices":[{"text":"a"}]}\n', b"[DONE]\n"]
