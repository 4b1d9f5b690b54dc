"""The Responses translation's rules one by one (dialects/responses*.py), and the input-items page."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.dialects.responses import ItemIds, ResponsesRequest, input_items, to_chat, upstream_input
from llmrelay.dialects.responses_reply import chat_usage, from_completion, response_shell, response_usage
from llmrelay.errors import InvalidRequestError
from llmrelay.pipeline.responses import item_list


def chat_of(body: dict[str, Any], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    req = ResponsesRequest.parse(orjson.dumps({"model": "m", **body}))
    return to_chat(req, input_items(req.input, ItemIds("aa")), history or [])


def test_ids_are_numbered_from_the_token() -> None:
    ids = ItemIds("ab12")
    assert (ids.response, ids.next("msg"), ids.next("fc")) == ("resp_ab12", "msg_ab120001", "fc_ab120002")


def test_separate_assistant_turns_are_not_merged() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    output = {"type": "function_call_output", "call_id": "c1", "output": "ok"}
    messages = chat_of({"input": [{"role": "user", "content": "a"}, call, output, call | {"call_id": "c2"}]})[
        "messages"
    ]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[3]["tool_calls"][0]["id"] == "c2" and messages[3]["content"] is None


def test_history_comes_before_the_new_input_and_reasoning_is_dropped() -> None:
    history: list[dict[str, Any]] = [
        {"id": "msg_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]},
        {"id": "rs_1", "type": "reasoning", "summary": []},
        {"id": "msg_2", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "b"}]},
    ]
    chat = chat_of({"input": "c", "instructions": "sys"}, history)
    assert chat["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]},
            "input[0].content[0].type",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
            "input[0].content[0].image_url",
        ),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"input": [{"type": "function_call", "call_id": "c"}]}, "input[0].name"),
        ({"input": "x", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": "x", "tools": [{"type": "mcp", "server_label": "s"}]}, "tools"),
        ({"input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format"),
        ({"input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"input": "x", "conversation": "conv_1"}, "conversation"),
        ({"input": "x", "top_logprobs": 2}, "top_logprobs"),
        ({"instructions": "only instructions"}, "input"),
        ({"input": "x", "stream": "yes"}, "stream"),
        ({"input": "x", "max_output_tokens": True}, "max_output_tokens"),
    ],
)
def test_refusals_name_the_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        chat_of(body)
    assert caught.value.param == param


def test_upstream_input_drops_the_gateways_ids() -> None:
    items = input_items("hi", ItemIds("aa"))
    assert upstream_input(items) == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    ]


def test_refusal_becomes_a_refusal_part() -> None:
    req = ResponsesRequest.parse(b'{"model": "m", "input": "x"}')
    completion = {"choices": [{"message": {"content": None, "refusal": "No."}, "finish_reason": "stop"}]}
    response = from_completion(response_shell(req, "resp_1", 1, "m"), completion, ItemIds("aa"), 2)
    assert response["output"][0]["content"] == [{"type": "refusal", "refusal": "No."}]


def test_content_filter_is_incomplete() -> None:
    req = ResponsesRequest.parse(b'{"model": "m", "input": "x"}')
    completion = {"choices": [{"message": {"content": "a"}, "finish_reason": "content_filter"}]}
    response = from_completion(response_shell(req, "resp_1", 1, "m"), completion, ItemIds("aa"), 2)
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "content_filter"}
    assert response["completed_at"] is None


def test_usage_both_ways() -> None:
    chat = {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert chat_usage(response_usage(chat)) == chat
    assert chat_usage(None) is None


def test_input_items_page() -> None:
    items = [{"id": f"i{n}"} for n in range(5)]
    page = item_list(items, {"limit": "2"})
    assert [i["id"] for i in page["data"]] == ["i4", "i3"] and page["has_more"] is True
    page = item_list(items, {"order": "asc", "after": "i2"})
    assert [i["id"] for i in page["data"]] == ["i3", "i4"] and page["has_more"] is False
    assert (page["first_id"], page["last_id"]) == ("i3", "i4")
    for bad in ({"limit": "0"}, {"order": "up"}, {"after": "nope"}):
        with pytest.raises(InvalidRequestError):
            item_list(items, bad)
