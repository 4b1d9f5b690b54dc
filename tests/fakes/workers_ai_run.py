"""The fake Workers AI's `/ai/run/{model}`: strict input validation and deterministic native answers.

    error = validate_run(body, stream=False)          # None, or the envelope error Workers AI would send
    answer = plan_run(body, "@cf/meta/llama-3.1-8b-instruct")
    run_envelope(answer)                              # {"result": {...}, "success": true, ...}
    run_events(answer, number)                        # `data: {...}\\n\\n` events ending in `data: [DONE]`

Shapes: cloudflare-python `types/ai/ai_run_params.py` (the `Messages` input), `ai_run_response.py`
(`{response, tool_calls[{name, arguments}], usage}`), reference §5.1 (stream transcript), Cloudflare's
workers-ai-provider `streaming.ts` (tool-call stream deltas, the empty closing entry). Bad input is
answered as the real API does, HTTP 400 with code 5006 and a message naming JSON pointers
("AiError: Bad input: Error: … '/messages/1/content' …", anomalyco/opencode#30381); the exact wording
after the pointer is the fake's own. The fake is stricter than documented where the real API is
unverified: an unknown top-level field is an error here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tests.fakes.samples import sample_of

JSONObject = dict[str, Any]

TEXT_PIECES = ("Hello", " from", " fake", " workers ai")
_RUN_PARAMS = frozenset(
    {"messages", "stream", "max_tokens", "temperature", "top_p", "top_k", "seed", "repetition_penalty"}
    | {"frequency_penalty", "presence_penalty", "tools", "tool_choice", "response_format"}
)
_ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class RunError:
    status: int
    code: int
    message: str

    def envelope(self) -> JSONObject:
        return {
            "result": None,
            "success": False,
            "errors": [{"code": self.code, "message": self.message}],
            "messages": [],
        }


def bad_input(detail: str) -> RunError:
    return RunError(400, 5006, f"AiError: Bad input: Error: {detail}")


def validate_run(body: JSONObject) -> RunError | None:
    unknown = sorted(set(body) - _RUN_PARAMS)
    if unknown:
        return bad_input(f"additional property '/{unknown[0]}' is not allowed")
    if "messages" not in body:
        return bad_input("oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt'")
    return _check_messages(body["messages"]) or _check_tools(body) or _check_format(body)


def _check_messages(messages: object) -> RunError | None:
    if not isinstance(messages, list) or not messages:
        return bad_input("Type mismatch of '/messages', expected a non-empty 'array'")
    calls: set[str] = set()
    for i, msg in enumerate(messages):
        where = f"/messages/{i}"
        if not isinstance(msg, dict) or msg.get("role") not in _ROLES or "content" not in msg:
            return bad_input(f"required properties at '{where}' are 'role,content'")
        error = _check_content(msg, where) or _check_tool_link(msg, where, calls)
        if error is not None:
            return error
    return None


def _check_content(msg: JSONObject, where: str) -> RunError | None:
    content = msg["content"]
    if isinstance(content, str):
        return None
    if msg["role"] != "user" or not isinstance(content, list):
        return bad_input(f"Type mismatch of '{where}/content', '{_kind(content)}' not in 'string'")
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        url = (part.get("image_url") or {}).get("url") if kind == "image_url" else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind != "image_url" or not isinstance(url, str) or not url.startswith("data:"):
            return bad_input(f"'{where}/content/{j}' must be a text part or an image_url part with a data: URI")
    return None


def _check_tool_link(msg: JSONObject, where: str, calls: set[str]) -> RunError | None:
    if msg["role"] == "assistant":
        for j, call in enumerate(msg.get("tool_calls") or []):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("arguments"), str) or not call.get("id"):
                return bad_input(f"'{where}/tool_calls/{j}' needs id, type and function{{name, arguments: string}}")
            calls.add(call["id"])
    if msg["role"] == "tool" and msg.get("tool_call_id") not in calls:
        return bad_input(f"'{where}/tool_call_id' does not answer an earlier tool call")
    return None


def _check_tools(body: JSONObject) -> RunError | None:
    for i, tool in enumerate(body.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return bad_input(f"required properties at '/tools/{i}/function' are 'name'")
        extra = sorted(set(function) - {"name", "description", "parameters"})
        if extra:
            return bad_input(f"additional property '/tools/{i}/function/{extra[0]}' is not allowed")
    if body.get("tool_choice") not in (None, "auto", "none", "required"):
        return bad_input("'/tool_choice' must be one of auto, none, required")
    return None


def _check_format(body: JSONObject) -> RunError | None:
    response_format = body.get("response_format")
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind not in ("json_object", "json_schema"):
        return bad_input("'/response_format/type' must be one of json_object, json_schema")
    schema = response_format.get("json_schema")
    if kind == "json_schema" and (not isinstance(schema, dict) or "type" not in schema):
        return bad_input("'/response_format/json_schema' must be a JSON Schema")
    if body.get("stream"):
        return RunError(400, 5006, "AiError: JSON Mode currently doesn't support streaming")
    return None


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "null" if value is None else "number"
    )


@dataclass(frozen=True)
class RunAnswer:
    model: str
    pieces: tuple[str, ...]
    calls: tuple[tuple[str, JSONObject], ...]
    json_value: object
    prompt_tokens: int

    @property
    def usage(self) -> JSONObject:
        completion = len(self.pieces) + 4 * len(self.calls) + (3 if self.json_value is not None else 0)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }


def plan_run(body: JSONObject, model: str) -> RunAnswer:
    """Tool calls (one per tool) when `tool_choice` is `required`; JSON in JSON mode; otherwise text."""
    messages = body["messages"]
    prompt = sum(4 + len(str(m.get("content")).split()) for m in messages)
    tools = body.get("tools") or []
    if tools and body.get("tool_choice") == "required":
        calls = tuple((t["function"]["name"], _sample(t["function"].get("parameters") or {})) for t in tools)
        return RunAnswer(model, (), calls, None, prompt)
    response_format = body.get("response_format")
    if response_format is not None:
        schema = response_format.get("json_schema")
        value = _sample(schema) if isinstance(schema, dict) else {"answer": "Hello"}
        return RunAnswer(model, (), (), value, prompt)
    pieces: tuple[str, ...] = TEXT_PIECES
    if messages[-1]["role"] == "tool":
        pieces = ("Tool said: ", str(messages[-1]["content"]))
    limit = body.get("max_tokens")
    if isinstance(limit, int) and limit < len(pieces):
        pieces = pieces[:limit]
    return RunAnswer(model, pieces, (), None, prompt)


def _sample(schema: JSONObject) -> JSONObject:
    properties: JSONObject = schema.get("properties") or {}
    names = schema.get("required") or list(properties)
    return {name: sample_of((properties.get(name) or {}).get("type")) for name in names}


def run_envelope(answer: RunAnswer) -> JSONObject:
    result: JSONObject = {"response": "".join(answer.pieces), "usage": answer.usage}
    if answer.calls:
        result["response"] = None
        result["tool_calls"] = [{"name": name, "arguments": args} for name, args in answer.calls]
    elif answer.json_value is not None:
        result["response"] = answer.json_value
    return {"result": result, "success": True, "errors": [], "messages": []}


def run_events(answer: RunAnswer, number: int) -> list[bytes]:
    """Native stream events: text pieces with `p` padding, or tool calls streamed in argument pieces."""
    events: list[JSONObject] = [{"response": piece, "p": "abcdefgh"[: 2 + i]} for i, piece in enumerate(answer.pieces)]
    for i, (name, args) in enumerate(answer.calls):
        opened = {
            "id": f"chatcmpl-tool-{number}-{i}",
            "type": "function",
            "index": i,
            "function": {"name": name, "arguments": ""},
        }
        events.append({"tool_calls": [opened]})
        text = orjson.dumps(args).decode()
        third = max(1, len(text) // 3)
        for piece in (text[:third], text[third : 2 * third], text[2 * third :]):
            events.append({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        events.append({"tool_calls": [{"id": None, "type": None, "function": {"name": None}}]})
    events.append({"response": "", "usage": answer.usage})
    return [sse(event) for event in events] + [b"data: [DONE]\n\n"]


def sse(payload: object) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"
