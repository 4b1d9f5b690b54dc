"""Legacy completions over chat (dialects/completions.py): request, reply and chunk translation."""

from __future__ import annotations

import pytest

from llmrelay.dialects.completions import ChunkConverter, chat_body, completion_of, merged, prompts_of
from llmrelay.errors import InvalidRequestError

LOGPROBS = {
    "content": [
        {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": [{"token": "Hi", "logprob": -0.1}]},
        {"token": "!", "logprob": -0.5, "bytes": [33], "top_logprobs": [{"token": "!", "logprob": -0.5}]},
    ]
}


def test_chat_body_keeps_unknown_fields_and_drops_legacy_ones() -> None:
    body = {"model": "m", "prompt": "p", "echo": True, "logprobs": 2, "top_k": 5, "user": "u", "max_tokens": 7}
    assert chat_body(body, "p") == {
        "model": "m",
        "messages": [{"role": "user", "content": "p"}],
        "top_k": 5,
        "user": "u",
        "max_tokens": 7,
        "logprobs": True,
        "top_logprobs": 2,
    }


def test_logprobs_zero_asks_for_the_chosen_tokens_only() -> None:
    chat = chat_body({"model": "m", "prompt": "p", "logprobs": 0}, "p")
    assert chat["logprobs"] is True and "top_logprobs" not in chat


def test_reply_in_the_legacy_shape_with_logprobs_and_echo() -> None:
    chat = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 7,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi!"},
                "logprobs": LOGPROBS,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    reply = completion_of(chat, {"model": "m", "echo": True}, "Q: ", first_index=2)
    assert reply == {
        "id": "cmpl-abc",
        "object": "text_completion",
        "created": 7,
        "model": "m",
        "choices": [
            {
                "text": "Q: Hi!",
                "index": 2,
                "logprobs": {
                    "tokens": ["Hi", "!"],
                    "token_logprobs": [-0.1, -0.5],
                    "top_logprobs": [{"Hi": -0.1}, {"!": -0.5}],
                    "text_offset": [3, 5],
                },
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def test_merged_sums_usage() -> None:
    one = {
        "id": "a",
        "choices": [{"index": 0}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    two = {
        "id": "b",
        "choices": [{"index": 1}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9},
    }
    both = merged([one, two])
    assert [c["index"] for c in both["choices"]] == [0, 1]
    assert both["usage"] == {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


def test_chunks() -> None:
    converter = ChunkConverter({"echo": True}, "Q")
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    role_only = {
        **base,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
    }
    first = converter.convert(role_only)
    assert first is not None and first["choices"][0]["text"] == "Q"  # the echo goes out first
    text = {**base, "choices": [{"index": 0, "delta": {"content": "A"}, "finish_reason": None}]}
    assert converter.convert(text) == {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [{"text": "A", "index": 0, "logprobs": None, "finish_reason": None}],
    }
    end = converter.convert({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
    assert end is not None and end["choices"][0]["finish_reason"] == "length"
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    last = converter.convert({**base, "choices": [], "usage": usage})
    assert last is not None and last["choices"] == [] and last["usage"] == usage
    assert ChunkConverter({}, "Q").convert(role_only) is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": [[1, 2]]}, "prompt"),
        ({"prompt": "x", "suffix": "y"}, "suffix"),
        ({"prompt": "x", "n": 2, "best_of": 3}, "best_of"),
        ({"prompt": ["a", "b"], "stream": True}, "prompt"),
        ({"prompt": "x", "logprobs": True}, "logprobs"),
    ],
)
def test_refusals_name_the_param(body: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        prompts_of(body)
    assert caught.value.param == param


def test_prompts() -> None:
    assert prompts_of({"prompt": "x"}) == ["x"]
    assert prompts_of({"prompt": ["a", "b"], "n": 2, "best_of": 2}) == ["a", "b"]
