"""Build the fake's deterministic Chat Completions answers in OpenAI's exact wire shapes.

    answer = plan_answer(body)                     # what to say: text pieces or a tool call
    completion_body(answer, ids)                   # the non-stream `chat.completion` object
    stream_events(answer, ids)                     # `data: …\\n\\n` events, ending in `data: [DONE]`

Shapes follow reference §1.2/§1.3 (the `chat.completion` object and its chunks); OpenAI's optional
`obfuscation` padding on chunks is not emitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tests.fakes.openai_validate import tool_name
from tests.fakes.samples import sample_of

TEXT_PIECES = ("Hello", " from", " fake", " upstream")
CREATED = 1733011200
SYSTEM_FINGERPRINT = "fp_fake0001"
DONE_EVENT = b"data: [DONE]\n\n"

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    """What the fake replies to one valid request, independent of stream or non-stream rendering."""

    model: str
    n: int
    pieces: tuple[str, ...]
    tool_call: ToolCall | None
    finish_reason: str
    logprobs: bool
    top_logprobs: int
    include_usage: bool
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        per_choice = len(self.pieces) if self.tool_call is None else 2
        return per_choice * self.n


@dataclass(frozen=True)
class Ids:
    """The per-request identifiers: ``chatcmpl-…`` for the body, ``call_…`` prefix for tool calls."""

    completion: str
    call_prefix: str

    def call_id(self, index: int) -> str:
        return f"{self.call_prefix}{index}"


def plan_answer(body: JSONObject) -> Answer:
    """Decide the reply to a request that passed validation."""
    tool_call = _tool_call(body)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    pieces: tuple[str, ...] = TEXT_PIECES if tool_call is None else ()
    finish = "tool_calls" if tool_call is not None else "stop"
    if tool_call is None and isinstance(limit, int) and limit < len(pieces):
        pieces, finish = pieces[:limit], "length"
    options = body.get("stream_options") or {}
    return Answer(
        model=body["model"],
        n=body.get("n") or 1,
        pieces=pieces,
        tool_call=tool_call,
        finish_reason=finish,
        logprobs=bool(body.get("logprobs")),
        top_logprobs=body.get("top_logprobs") or 0,
        include_usage=bool(body.get("stream")) and bool(options.get("include_usage")),
        prompt_tokens=_count_prompt_tokens(body["messages"]),
    )


TOOL_MARKER = "[call a tool]"
"""Opt-in: with tools offered and tool_choice auto (or unset), a last user message containing this
calls the first tool, as a model deciding to would (the Assistants tests use it)."""


def _tool_call(body: JSONObject) -> ToolCall | None:
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if tools and choice in (None, "auto") and _asks_for_tool(body["messages"]):
        choice = "required"
    if not tools or choice in (None, "none", "auto"):
        return None
    wanted = choice["function"]["name"] if isinstance(choice, dict) else tool_name(tools[0])
    tool = next(t for t in tools if tool_name(t) == wanted)
    return ToolCall(name=str(wanted), arguments=_sample_arguments(tool["function"].get("parameters") or {}))


def _asks_for_tool(messages: list[JSONObject]) -> bool:
    last = messages[-1] if messages else {}
    content = last.get("content")
    return last.get("role") == "user" and isinstance(content, str) and TOOL_MARKER in content


def _sample_arguments(schema: JSONObject) -> str:
    """``{"city":"Oslo"}``-style arguments with one sample value per required (else every) property."""
    properties: JSONObject = schema.get("properties") or {}
    names = schema.get("required") or list(properties)
    values: JSONObject = {}
    for name in names:
        prop = properties.get(name) or {}
        values[name] = prop["enum"][0] if prop.get("enum") else sample_of(prop.get("type"))
    return orjson.dumps(values).decode()


def _count_prompt_tokens(messages: list[JSONObject]) -> int:
    """A stable stand-in for tokenisation: 4 per message plus one per whitespace-separated word."""
    total = 0
    for message in messages:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"text": content}]
        words = sum(len(str(part.get("text") or "").split()) for part in parts if isinstance(part, dict))
        total += 4 + words
    return total


def usage(answer: Answer) -> JSONObject:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _token_logprob(token: str, rank: int) -> JSONObject:
    return {"token": token, "logprob": -0.25 * rank - 0.0012, "bytes": list(token.encode())}


def logprobs_for(answer: Answer, pieces: tuple[str, ...]) -> JSONObject | None:
    """OpenAI's ``logprobs`` object for ``pieces``, or ``None`` when the request did not ask for it."""
    if not answer.logprobs:
        return None
    content = []
    for piece in pieces:
        alternatives = [piece] + [f"alt{rank}" for rank in range(1, answer.top_logprobs)]
        entry = _token_logprob(piece, 0)
        top = alternatives[: answer.top_logprobs]
        entry["top_logprobs"] = [_token_logprob(token, rank) for rank, token in enumerate(top)]
        content.append(entry)
    return {"content": content, "refusal": None}


def _tool_call_object(answer: Answer, ids: Ids, index: int) -> JSONObject:
    assert answer.tool_call is not None
    function = {"name": answer.tool_call.name, "arguments": answer.tool_call.arguments}
    return {"id": ids.call_id(index), "type": "function", "function": function}


def completion_body(answer: Answer, ids: Ids) -> JSONObject:
    """The non-stream ``chat.completion`` object."""
    choices = []
    for index in range(answer.n):
        message: JSONObject = {
            "role": "assistant",
            "content": "".join(answer.pieces) or None,
            "refusal": None,
            "annotations": [],
        }
        if answer.tool_call is not None:
            message["content"] = None
            message["tool_calls"] = [_tool_call_object(answer, ids, index)]
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": logprobs_for(answer, answer.pieces),
                "finish_reason": answer.finish_reason,
            }
        )
    return {
        "id": ids.completion,
        "object": "chat.completion",
        "created": CREATED,
        "model": answer.model,
        "choices": choices,
        "usage": usage(answer),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _chunk(answer: Answer, ids: Ids, choices: list[JSONObject]) -> JSONObject:
    chunk: JSONObject = {
        "id": ids.completion,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": answer.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
    }
    if answer.include_usage:
        chunk["usage"] = None
    return chunk


def _choice(index: int, delta: JSONObject, logprobs: JSONObject | None = None, finish: str | None = None) -> JSONObject:
    return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}


def _choice_deltas(answer: Answer, ids: Ids, index: int) -> list[JSONObject]:
    """The choice objects one choice streams: opening delta, content or argument pieces, finish."""
    if answer.tool_call is None:
        opening: JSONObject = {"role": "assistant", "content": "", "refusal": None}
        middle = [_choice(index, {"content": p}, logprobs_for(answer, (p,))) for p in answer.pieces]
    else:
        call = _tool_call_object(answer, ids, index)
        arguments = call["function"]["arguments"]
        first = {
            "index": 0,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        opening = {"role": "assistant", "content": None, "tool_calls": [first], "refusal": None}
        half = len(arguments) // 2
        fragments = [frag for frag in (arguments[:half], arguments[half:]) if frag]
        middle = [_choice(index, {"tool_calls": [{"index": 0, "function": {"arguments": f}}]}) for f in fragments]
    return [_choice(index, opening), *middle, _choice(index, {}, finish=answer.finish_reason)]


def stream_events(answer: Answer, ids: Ids) -> list[bytes]:
    """Every SSE event of the streamed answer, each exactly ``data: <json>\\n\\n``, ending in ``[DONE]``."""
    choices = [choice for index in range(answer.n) for choice in _choice_deltas(answer, ids, index)]
    chunks = [_chunk(answer, ids, [choice]) for choice in choices]
    if answer.include_usage:
        final = _chunk(answer, ids, [])
        final["usage"] = usage(answer)
        chunks.append(final)
    return [sse_event(chunk) for chunk in chunks] + [DONE_EVENT]


def sse_event(payload: object) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def models_body(models: frozenset[str]) -> JSONObject:
    data = [{"id": model, "object": "model", "created": CREATED, "owned_by": "system"} for model in sorted(models)]
    return {"object": "list", "data": data}
