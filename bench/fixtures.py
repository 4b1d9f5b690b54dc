"""Fixed OpenAI-shaped payloads for the benchmark: request bodies and fake upstream answers."""

from __future__ import annotations

import json
from typing import Any

CREATED = 1741570283
COMPLETION_ID = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
UPSTREAM_MODEL = "gpt-4o-mini-2024-07-18"
FINGERPRINT = "fp_06737a9306"
PROMPT_TOKENS = 9

# 17 content deltas + role chunk + finish chunk + usage chunk = 20 SSE events.
STREAM_TOKENS = [
    "Hello",
    "!",
    " I'm",
    " doing",
    " great",
    ",",
    " thanks",
    " for",
    " asking",
    ".",
    " How",
    " can",
    " I",
    " help",
    " you",
    " today",
    "?",
]
STREAM_EVENTS = 20


def _dumps(obj: Any) -> str:
    """Compact JSON, as OpenAI sends it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _usage(completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": completion_tokens,
        "total_tokens": PROMPT_TOKENS + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion_body() -> bytes:
    """A realistic non-streaming `chat.completion` response body."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "Hello! How can I assist you today?",
        "refusal": None,
        "annotations": [],
    }
    body = {
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": UPSTREAM_MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": _usage(10),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
    return _dumps(body).encode()


def _chunk(delta: dict[str, Any], finish: str | None, with_choice: bool = True) -> dict[str, Any]:
    choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if with_choice else []
    return {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": UPSTREAM_MODEL,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": None,
    }


def chat_stream_events() -> list[bytes]:
    """20 `chat.completion.chunk` SSE events (include_usage style) then `data: [DONE]`, one item each."""
    chunks = [_chunk({"role": "assistant", "content": "", "refusal": None}, None)]
    chunks += [_chunk({"content": tok}, None) for tok in STREAM_TOKENS]
    chunks.append(_chunk({}, "stop"))
    usage_chunk = _chunk({}, None, with_choice=False)
    usage_chunk["usage"] = _usage(len(STREAM_TOKENS))
    chunks.append(usage_chunk)
    assert len(chunks) == STREAM_EVENTS
    return [f"data: {_dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]


def chat_stream_body() -> bytes:
    """The whole SSE body: every event of `chat_stream_events()` concatenated."""
    return b"".join(chat_stream_events())


def request_body(model: str, stream: bool) -> bytes:
    """The chat request every load generator sends."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello"}],
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return _dumps(body).encode()
