"""The fake Anthropic upstream's deterministic answers, in the Messages API's exact wire shapes.

    answer = plan_answer(body)                  # thinking, text pieces, tool calls, stop reason
    message_body(answer, "msg_fake000001")      # the non-stream `message` object
    stream_events(answer, "msg_fake000001")     # `event: …\\ndata: …\\n\\n` events, message_start … message_stop

Shapes follow anthropic-sdk-python `types/message.py`, `usage.py` and `raw_*_event.py` (reference §2.3,
§2.4). What the fake says: with `tool_choice` any, a call of every tool (only the first when
`disable_parallel_tool_use`); with `tool_choice` tool, a call of that tool; otherwise text, which
echoes the tool results of the last user turn when it holds some. Tool input is a sample value per
required property of the tool's schema. Streams split text into pieces and tool input into
4-character `input_json_delta`s after the empty one every tool_use block opens with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tests.fakes.samples import sample_of

TEXT_PIECES = ("Hello", " from", " fake", " Claude")
THINKING = "The user wants a greeting."
SIGNATURE = "sig-fake-0001"
JSONObject = dict[str, Any]


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: JSONObject


@dataclass(frozen=True)
class Answer:
    model: str
    thinking: bool
    pieces: tuple[str, ...]
    tool_uses: tuple[ToolUse, ...]
    stop_reason: str
    input_tokens: int

    @property
    def output_tokens(self) -> int:
        return len(self.pieces) + 3 * len(self.tool_uses) + (5 if self.thinking else 0)


def plan_answer(body: JSONObject, call_prefix: str = "toolu_fake") -> Answer:
    """What the fake replies to a request that passed validation."""
    tools = {tool["name"]: tool for tool in body.get("tools") or []}
    choice = body.get("tool_choice") or {"type": "auto"}
    names: list[str] = []
    if choice["type"] == "tool":
        names = [choice["name"]]
    elif choice["type"] == "any":
        names = list(tools)[:1] if choice.get("disable_parallel_tool_use") else list(tools)
    uses = tuple(
        ToolUse(f"{call_prefix}{k}", name, sample_input(tools[name]["input_schema"])) for k, name in enumerate(names)
    )
    pieces = () if uses else _text(body["messages"][-1])
    stop = "tool_use" if uses else "end_turn"
    if len(pieces) > body["max_tokens"]:
        pieces, stop = pieces[: body["max_tokens"]], "max_tokens"
    return Answer(
        model=body["model"],
        thinking=(body.get("thinking") or {}).get("type") == "enabled",
        pieces=pieces,
        tool_uses=uses,
        stop_reason=stop,
        input_tokens=_count_tokens(body),
    )


def _text(last: JSONObject) -> tuple[str, ...]:
    content = last["content"]
    results = [b for b in content if b.get("type") == "tool_result"] if isinstance(content, list) else []
    if not results:
        return TEXT_PIECES
    said = "; ".join(str(result.get("content", "")) for result in results)
    return ("Tool", " said:", f" {said}")


def sample_input(schema: JSONObject) -> JSONObject:
    """`{"city": "Oslo"}`-style input: a sample per required (else every) property; `answer` when none."""
    properties: JSONObject = schema.get("properties") or {}
    if not properties:
        return {"answer": "".join(TEXT_PIECES)}
    names = schema.get("required") or list(properties)
    values: JSONObject = {}
    for name in names:
        prop = properties.get(name) or {}
        values[name] = prop["enum"][0] if prop.get("enum") else sample_of(prop.get("type"))
    return values


def input_tokens(body: JSONObject) -> int:
    """What `POST /v1/messages/count_tokens` answers for a valid body (the same count usage reports)."""
    return _count_tokens(body)


def _count_tokens(body: JSONObject) -> int:
    """A stable stand-in for tokenisation: 3 per message plus one per whitespace-separated word."""
    total = len(str(body.get("system") or "").split())
    for message in body["messages"]:
        content = message["content"]
        blocks = content if isinstance(content, list) else [{"text": content}]
        total += 3 + sum(len(str(block.get("text") or block.get("content") or "").split()) for block in blocks)
    return total


def _usage(answer: Answer, output_tokens: int) -> JSONObject:
    return {
        "input_tokens": answer.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _content(answer: Answer) -> list[JSONObject]:
    blocks: list[JSONObject] = []
    if answer.thinking:
        blocks.append({"type": "thinking", "thinking": THINKING, "signature": SIGNATURE})
    if answer.pieces:
        blocks.append({"type": "text", "text": "".join(answer.pieces)})
    blocks.extend({"type": "tool_use", "id": u.id, "name": u.name, "input": u.input} for u in answer.tool_uses)
    return blocks


def message_body(answer: Answer, message_id: str) -> JSONObject:
    """The non-stream reply."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": _content(answer),
        "stop_reason": answer.stop_reason,
        "stop_sequence": None,
        "usage": _usage(answer, answer.output_tokens),
    }


def sse(payload: JSONObject) -> bytes:
    """One named event, as the API frames it: `event: <type>` then `data: <json>`."""
    return b"event: " + str(payload["type"]).encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _block_events(index: int, block: JSONObject) -> list[JSONObject]:
    def delta(payload: JSONObject) -> JSONObject:
        return {"type": "content_block_delta", "index": index, "delta": payload}

    kind = block["type"]
    if kind == "thinking":
        start: JSONObject = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            delta({"type": "thinking_delta", "thinking": THINKING}),
            delta({"type": "signature_delta", "signature": SIGNATURE}),
        ]
    elif kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [delta({"type": "text_delta", "text": piece}) for piece in block["pieces"]]
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = orjson.dumps(block["input"]).decode()
        parts = ["", *(raw[i : i + 4] for i in range(0, len(raw), 4))]
        deltas = [delta({"type": "input_json_delta", "partial_json": part}) for part in parts]
    opening = {"type": "content_block_start", "index": index, "content_block": start}
    return [opening, *deltas, {"type": "content_block_stop", "index": index}]


def stream_events(answer: Answer, message_id: str) -> list[bytes]:
    """Every SSE event of the streamed reply, `message_start` to `message_stop`, with a `ping` after the first block opens."""
    start: JSONObject = {
        **message_body(answer, message_id),
        "content": [],
        "stop_reason": None,
        "usage": _usage(answer, 1),
    }
    blocks = _content(answer)
    if answer.pieces:
        text_at = next(k for k, block in enumerate(blocks) if block["type"] == "text")
        blocks[text_at] = {"type": "text", "pieces": answer.pieces}
    payloads: list[JSONObject] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(blocks):
        payloads.extend(_block_events(index, block))
        if index == 0:
            payloads.insert(2, {"type": "ping"})
    end_delta = {"stop_reason": answer.stop_reason, "stop_sequence": None}
    payloads.append({"type": "message_delta", "delta": end_delta, "usage": {"output_tokens": answer.output_tokens}})
    payloads.append({"type": "message_stop"})
    return [sse(payload) for payload in payloads]
