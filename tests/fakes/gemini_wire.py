"""Build the fake Gemini's deterministic answers in the real wire shapes (reference §3.4/§3.5).

    answer = plan_answer(body, model, signed=True)   # text pieces or function calls, per candidate
    generate_body(answer, number)                    # the GenerateContentResponse of :generateContent
    stream_events(answer, number)                    # `data: …\\r\\n\\r\\n` events of :streamGenerateContent?alt=sse

What it says: after function responses, "Done: " and the responses as JSON; with tools (mode AUTO or
ANY), one call per declared function (only the allowed one for a named choice), each argument a sample
value of its schema type; in JSON mode, a JSON object matching the schema; otherwise "Hello from fake
Gemini." plus how many images the last user turn held. `maxOutputTokens` cuts the pieces (MAX_TOKENS).
Models that sign (Gemini 3) put a `thoughtSignature` on the first call of a turn, as the real API does.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any

import orjson

from tests.fakes.samples import sample_of

JSONObject = dict[str, Any]

TEXT_PIECES = ("Hello", " from", " fake", " Gemini.")


@dataclass(frozen=True)
class Answer:
    model: str
    n: int
    pieces: tuple[str, ...]
    calls: tuple[JSONObject, ...]
    finish: str
    prompt_tokens: int
    thoughts: int
    block: str | None = None

    @property
    def candidate_tokens(self) -> int:
        return len(self.pieces) + 2 * len(self.calls)


def plan_answer(body: JSONObject, model: str, *, signed: bool) -> Answer:
    contents: list[JSONObject] = body["contents"]
    last = contents[-1]["parts"] if contents[-1]["role"] == "user" else []
    responses = [p["functionResponse"] for p in last if "functionResponse" in p]
    calls = () if responses else _calls(body, signed)
    config: JSONObject = body.get("generationConfig") or {}
    pieces: tuple[str, ...] = ()
    if responses:
        pieces = ("Done: ", orjson.dumps([r["response"] for r in responses]).decode())
    elif not calls and config.get("responseMimeType") == "application/json":
        pieces = (orjson.dumps(_sample(config.get("responseJsonSchema") or {"type": "object"})).decode(),)
    elif not calls:
        images = sum(1 for p in last if "inlineData" in p or "fileData" in p)
        pieces = TEXT_PIECES + ((f" I see {images} image(s).",) if images else ())
    finish, limit = "STOP", config.get("maxOutputTokens")
    if isinstance(limit, int) and limit < len(pieces):
        pieces, finish = pieces[:limit], "MAX_TOKENS"
    return Answer(
        model=model,
        n=config.get("candidateCount") or 1,
        pieces=pieces,
        calls=calls,
        finish=finish,
        prompt_tokens=_count_words(body),
        thoughts=8 if signed else 0,
    )


def blocked(answer: Answer, reason: str) -> Answer:
    return replace(answer, block=reason)


def _calls(body: JSONObject, signed: bool) -> tuple[JSONObject, ...]:
    declarations = [d for tool in body.get("tools") or [] for d in tool.get("functionDeclarations") or []]
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    if not declarations or calling.get("mode") == "NONE":
        return ()
    allowed = calling.get("allowedFunctionNames")
    chosen = [d for d in declarations if not allowed or d["name"] in allowed][: 1 if allowed else 2]
    parts = []
    for k, decl in enumerate(chosen):
        schema = decl.get("parametersJsonSchema") or decl.get("parameters") or {}
        part: JSONObject = {"functionCall": {"name": decl["name"], "args": _sample(schema)}}
        if signed and k == 0:
            part["thoughtSignature"] = base64.b64encode(f"sig:{decl['name']}".encode()).decode()
        parts.append(part)
    return tuple(parts)


def _sample(schema: JSONObject) -> object:
    """A value of the schema's type: every required (else every) property of an object filled in."""
    kind = schema.get("type")
    if kind != "object":
        return schema["enum"][0] if schema.get("enum") else sample_of(kind)
    properties: JSONObject = schema.get("properties") or {}
    names = schema.get("required") or list(properties)
    return {name: _sample(properties.get(name) or {}) for name in names}


def _count_words(body: JSONObject) -> int:
    contents = body["contents"] + [body.get("systemInstruction") or {"parts": []}]
    return sum(len(str(p.get("text", "")).split()) or 1 for c in contents for p in c["parts"])


def _usage(answer: Answer, candidates: int) -> JSONObject:
    usage: JSONObject = {"promptTokenCount": answer.prompt_tokens}
    if candidates:
        usage["candidatesTokenCount"] = candidates
    if answer.thoughts and candidates:
        usage["thoughtsTokenCount"] = answer.thoughts
    usage["totalTokenCount"] = answer.prompt_tokens + candidates + (answer.thoughts if candidates else 0)
    return usage


def _envelope(answer: Answer, number: int, candidates: list[JSONObject], usage: JSONObject) -> JSONObject:
    body: JSONObject = {"candidates": candidates} if candidates else {}
    if answer.block is not None:
        body["promptFeedback"] = {"blockReason": answer.block}
    body.update({"usageMetadata": usage, "modelVersion": answer.model, "responseId": f"fakeResp{number:06d}"})
    return body


def generate_body(answer: Answer, number: int) -> JSONObject:
    if answer.block is not None:
        return _envelope(answer, number, [], _usage(answer, 0))
    candidates = []
    for index in range(answer.n):
        parts: list[JSONObject] = [{"text": "".join(answer.pieces)}] if answer.pieces else []
        content = {"parts": parts + list(answer.calls), "role": "model"}
        candidates.append({"content": content, "finishReason": answer.finish, "index": index})
    return _envelope(answer, number, candidates, _usage(answer, answer.candidate_tokens * answer.n))


def stream_events(answer: Answer, number: int) -> list[bytes]:
    """One event per text piece and per call (all candidates side by side); the last carries finishReason."""
    if answer.block is not None:
        return [_event(_envelope(answer, number, [], _usage(answer, 0)))]
    steps: list[JSONObject] = [{"text": piece} for piece in answer.pieces] + list(answer.calls)
    events = []
    for k, part in enumerate(steps):
        last = k == len(steps) - 1
        candidates = []
        for index in range(answer.n):
            candidate: JSONObject = {"content": {"parts": [part], "role": "model"}, "index": index}
            if last:
                candidate["finishReason"] = answer.finish
            candidates.append(candidate)
        used = answer.candidate_tokens * answer.n if last else 0
        events.append(_event(_envelope(answer, number, candidates, _usage(answer, used))))
    return events


def _event(payload: JSONObject) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\r\n\r\n"


def error_event(code: int, message: str, status: str) -> bytes:
    return _event({"error": {"code": code, "message": message, "status": status}})
