"""The fake Cohere's deterministic answers, in Cohere's exact v2 wire shapes.

    answer = plan_answer(body)                       # text pieces, or a tool plan with calls
    reply_body(answer, "uuid")                       # the non-stream V2ChatResponse
    stream_events(answer, "uuid")                    # `event: <type>\\ndata: {…}\\n\\n` events, then `data: [DONE]`
    embed_body(body, "uuid")                         # the EmbedByTypeResponse

Shapes: cohere-python `v2/types/v2chat_response.py`, `v2/types/v2chat_stream_response.py`,
`types/usage.py`, `types/embed_by_type_response.py`; event bodies as recorded in vercel/ai
`packages/cohere/src/__fixtures__/*.chunks.txt`; SSE framing (`event:` + `data:`, `[DONE]`) per reference §4.4.

What the fake says: a tool message last → an answer quoting the tool results; tools offered and the
last user text naming some of them (or `tool_choice: REQUIRED`) → calls to those tools (all of them at
once: parallel calls), each with arguments sampled from its schema; `response_format` json_object →
a JSON object (following `json_schema` when given); images → "I see N image(s)."; otherwise
"Hello from fake Cohere". `max_tokens` (one token per piece) and `stop_sequences` cut the text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tests.fakes.samples import sample_of

TEXT_PIECES = ("Hello", " from", " fake", " Cohere")
PROMPT_TEMPLATE_TOKENS = 480
"""What `usage.tokens.input_tokens` adds over `billed_units` (Cohere's prompt template is not billed)."""
DONE_EVENT = b"data: [DONE]\n\n"

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Answer:
    pieces: tuple[str, ...]
    plan: tuple[str, ...]
    calls: tuple[Call, ...]
    finish_reason: str
    input_tokens: int

    @property
    def output_tokens(self) -> int:
        return len(self.pieces) + len(self.plan) + 2 * len(self.calls)


def plan_answer(body: JSONObject) -> Answer:
    messages = body["messages"]
    input_tokens = sum(len(_text(m.get("content")).split()) for m in messages) or 1
    calls = _calls(body)
    if calls:
        return Answer((), ("I will", " use", " the tools."), calls, "TOOL_CALL", input_tokens)
    pieces, finish = _cut(_pieces(body), body)
    return Answer(pieces, (), (), finish, input_tokens)


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return " ".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _calls(body: JSONObject) -> tuple[Call, ...]:
    tools, last = body.get("tools") or [], body["messages"][-1]
    if not tools or body.get("tool_choice") == "NONE" or last["role"] != "user":
        return ()
    said = _text(last.get("content")).lower()
    chosen = [tool for tool in tools if tool["function"]["name"].lower() in said]
    if not chosen and body.get("tool_choice") == "REQUIRED":
        chosen = tools[:1]
    return tuple(
        Call(
            f"{t['function']['name']}_{_short(said, i)}", t["function"]["name"], _arguments(t["function"]["parameters"])
        )
        for i, t in enumerate(chosen)
    )


def _short(seed: str, index: int) -> str:
    return hashlib.sha256(f"{seed}/{index}".encode()).hexdigest()[:8]


def _arguments(schema: JSONObject) -> str:
    properties = schema.get("properties") or {}
    return json.dumps({name: _sample(spec) for name, spec in properties.items()})


def _sample(schema: object) -> object:
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object":
        return {name: _sample(spec) for name, spec in (schema.get("properties") or {}).items()}
    return sample_of(schema.get("type"))


def _pieces(body: JSONObject) -> tuple[str, ...]:
    last = body["messages"][-1]
    if last["role"] == "tool":
        results = [_text(m["content"]) for m in body["messages"] if m["role"] == "tool"]
        return ("From the tools: ", "; ".join(results))
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        schema = response_format.get("json_schema")
        text = json.dumps(_sample(schema) if schema else {"answer": "Hello from fake Cohere"})
        return tuple(text[i : i + 6] for i in range(0, len(text), 6))
    images = sum(
        1
        for m in body["messages"]
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if p["type"] == "image_url"
    )
    if images:
        return ("I see ", f"{images} image{'s' if images > 1 else ''}", ".")
    return TEXT_PIECES


def _cut(pieces: tuple[str, ...], body: JSONObject) -> tuple[tuple[str, ...], str]:
    text = ""
    for index, piece in enumerate(pieces):
        for stop in body.get("stop_sequences") or []:
            if stop in text + piece:
                kept = (text + piece)[: (text + piece).index(stop)][len(text) :]
                return (*pieces[:index], *((kept,) if kept else ())), "STOP_SEQUENCE"
        text += piece
    limit = body.get("max_tokens")
    if isinstance(limit, int) and limit < len(pieces):
        return pieces[:limit], "MAX_TOKENS"
    return pieces, "COMPLETE"


def usage(answer: Answer) -> JSONObject:
    return {
        "billed_units": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
        "tokens": {
            "input_tokens": answer.input_tokens + PROMPT_TEMPLATE_TOKENS,
            "output_tokens": answer.output_tokens + 2,
        },
        "cached_tokens": 0,
    }


def reply_body(answer: Answer, reply_id: str) -> JSONObject:
    message: JSONObject = {"role": "assistant"}
    if answer.calls:
        message["tool_plan"] = "".join(answer.plan)
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in answer.calls
        ]
    else:
        message["content"] = [{"type": "text", "text": "".join(answer.pieces)}]
    return {"id": reply_id, "message": message, "finish_reason": answer.finish_reason, "usage": usage(answer)}


def event(data: JSONObject) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def stream_events(answer: Answer, reply_id: str) -> list[bytes]:
    empty = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    events: list[JSONObject] = [{"id": reply_id, "type": "message-start", "delta": {"message": empty}}]
    if answer.calls:
        events += [{"type": "tool-plan-delta", "delta": {"message": {"tool_plan": p}}} for p in answer.plan]
        for index, call in enumerate(answer.calls):
            events += _call_events(index, call)
    else:
        events.append(
            {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}
        )
        events += [
            {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": p}}}} for p in answer.pieces
        ]
        events.append({"type": "content-end", "index": 0})
    events.append({"type": "message-end", "delta": {"finish_reason": answer.finish_reason, "usage": usage(answer)}})
    return [event(e) for e in events] + [DONE_EVENT]


def _call_events(index: int, call: Call) -> list[JSONObject]:
    """A call as Cohere streams it: a start with empty arguments, then small argument fragments."""
    head = {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
    fragments = [call.arguments[i : i + 3] for i in range(0, len(call.arguments), 3)]
    return [
        {"type": "tool-call-start", "index": index, "delta": {"message": {"tool_calls": head}}},
        *(
            {
                "type": "tool-call-delta",
                "index": index,
                "delta": {"message": {"tool_calls": {"function": {"arguments": f}}}},
            }
            for f in fragments
        ),
        {"type": "tool-call-end", "index": index},
    ]


def error_end(message: str, finish_reason: str) -> bytes:
    return event({"type": "message-end", "delta": {"error": message, "finish_reason": finish_reason}})


def vector(text: str, dimensions: int) -> list[float]:
    seed = hashlib.sha256(text.encode()).digest()
    return [round((seed[i % 32] - 128) / 128, 4) for i in range(dimensions)]


def embed_body(body: JSONObject, reply_id: str, default_dimensions: int) -> JSONObject:
    dimensions = body.get("output_dimension") or default_dimensions
    texts = body["texts"]
    return {
        "id": reply_id,
        "embeddings": {"float": [vector(t, dimensions) for t in texts]},
        "texts": texts,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": sum(len(t.split()) for t in texts)}},
        "response_type": "embeddings_by_type",
    }
