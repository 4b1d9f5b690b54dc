"""chat.qwen.ai's wire shapes for the fake (reference §8.1): request checks, SSE events, error bodies.

What a browser (and so the template) must send, checked strictly: the v2 completion body with every
field the reference's example has and no other, in the right types, `stream: true`, the `chat_id` of
the query string, timestamps in seconds, `output_schema: "phase"`, and exactly one message (the server
keeps history per chat). The answer follows the reference's transcript: `response.created`, deltas
with `phase`/`status` and cumulative `usage`, a `status: "finished"` delta, then EOF.
Error bodies are the reference's `{"success": false, "request_id", "data": {"code", "details"}}`; the
codes for a bad token, an unknown chat and an unknown route are invented (the reference lists none).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

MODELS = frozenset({"qwen3-max", "qwen3-coder-plus"})
ANSWER = ("SSE is a one-way", " HTTP stream of text events.")
THOUGHT = ("The user wants", " one sentence.")
INPUT_TOKENS = 31

_COMPLETION_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "stream": bool,
    "version": str,
    "incremental_output": bool,
    "chat_id": str,
    "chat_mode": str,
    "model": str,
    "parent_id": (str, type(None)),
    "messages": list,
    "timestamp": int,
}
_MESSAGE_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "fid": str,
    "parentId": (str, type(None)),
    "childrenIds": list,
    "role": str,
    "content": str,
    "user_action": str,
    "files": list,
    "timestamp": int,
    "models": list,
    "chat_type": str,
    "feature_config": dict,
    "extra": dict,
    "sub_chat_type": str,
    "parent_id": (str, type(None)),
}
_SECONDS = range(1_000_000_000, 10_000_000_000)
_MILLISECONDS = range(1_000_000_000_000, 10_000_000_000_000)


class Refused(Exception):
    """A request chat.qwen.ai would refuse: HTTP status + its error code and details."""

    def __init__(self, status: int, code: str, details: str) -> None:
        super().__init__(details)
        self.status, self.code, self.details = status, code, details


def failure(code: str, details: str) -> dict[str, Any]:
    return {"success": False, "request_id": str(uuid.uuid4()), "data": {"code": code, "details": details}}


def check_fields(obj: object, fields: Mapping[str, type | tuple[type, ...]], what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise Refused(400, "Bad_Request", f"{what} must be an object")
    missing, unknown = sorted(set(fields) - set(obj)), sorted(set(obj) - set(fields))
    if missing or unknown:
        raise Refused(400, "Bad_Request", f"{what}: missing {missing}, unknown {unknown}")
    for name, kind in fields.items():
        value = obj[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise Refused(400, "Bad_Request", f"{what}.{name} has the wrong type")
    return obj


def check_uuid(value: object, what: str) -> None:
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise Refused(400, "Bad_Request", f"{what} is not a UUID") from None


def check_new_chat(payload: object) -> str:
    """The model of a valid `/api/v2/chats/new` body (Qwen2API's generateChatID: FE 0.2.81 fields)."""
    if not isinstance(payload, dict):
        raise Refused(400, "Bad_Request", "body must be an object")
    models = payload.get("models")
    if not isinstance(models, list) or len(models) != 1 or models[0] not in MODELS:
        raise Refused(400, "Bad_Request", f"unknown models {models!r}")
    if payload.get("timestamp") not in _MILLISECONDS:
        raise Refused(400, "Bad_Request", "timestamp must be in milliseconds")
    if payload.get("chat_mode") != "normal" or payload.get("chat_type") != "t2t":
        raise Refused(400, "Bad_Request", "chat_mode normal and chat_type t2t expected")
    return str(models[0])


def check_completion(payload: object, chat_id: str) -> dict[str, Any]:
    """The one message of a valid `/api/v2/chat/completions` body, else Refused."""
    body = check_fields(payload, _COMPLETION_FIELDS, "body")
    if body["stream"] is not True or body["incremental_output"] is not True:
        raise Refused(400, "Bad_Request", "stream and incremental_output must be true")
    if body["chat_id"] != chat_id or body["model"] not in MODELS or body["chat_mode"] != "normal":
        raise Refused(400, "Bad_Request", "chat_id must match the query; the model must exist")
    if body["timestamp"] not in _SECONDS or len(body["messages"]) != 1:
        raise Refused(400, "Bad_Request", "timestamp in seconds; exactly one message (history is per chat)")
    message = check_fields(body["messages"][0], _MESSAGE_FIELDS, "messages[0]")
    check_uuid(message["fid"], "messages[0].fid")
    if message["role"] != "user" or not message["content"] or message["user_action"] != "chat":
        raise Refused(400, "Bad_Request", "a non-empty user message is expected")
    if message["models"] != [body["model"]] or message["timestamp"] not in _SECONDS:
        raise Refused(400, "Bad_Request", "messages[0].models / timestamp")
    feature = message["feature_config"]
    if feature.get("output_schema") != "phase" or not isinstance(feature.get("thinking_enabled"), bool):
        raise Refused(400, "Bad_Request", "feature_config needs output_schema 'phase' and thinking_enabled")
    return message


def event(obj: Mapping[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def answer_events(chat_id: str, response_id: str, thinking: bool, pieces: Sequence[str] = ANSWER) -> list[bytes]:
    """The reference's transcript: created, (think deltas), answer deltas with cumulative usage, finished."""
    events = [
        event({"response.created": {"chat_id": chat_id, "parent_id": None, "response_id": response_id}}),
    ]
    done = 0
    phases = [("think", p) for p in (THOUGHT if thinking else ())] + [("answer", p) for p in pieces]
    for phase, piece in phases:
        done += len(piece.split())
        delta = {"role": "assistant", "content": piece, "phase": phase, "status": "typing"}
        use = {"input_tokens": INPUT_TOKENS, "output_tokens": done, "total_tokens": INPUT_TOKENS + done}
        events.append(event({"choices": [{"delta": delta}], "response_id": response_id, "usage": use}))
        if phase == "think" and piece == THOUGHT[-1]:
            finished = {"content": "", "role": "assistant", "status": "finished", "phase": "think"}
            events.append(event({"choices": [{"delta": finished}], "response_id": response_id}))
    finished = {"content": "", "role": "assistant", "status": "finished", "phase": "answer"}
    events.append(event({"choices": [{"delta": finished}], "response_id": response_id}))
    return events


def keep_alive() -> bytes:
    return event({"response.info": {"action": "keep_alive"}})


def stream_error(response_id: str, code: str, details: str) -> bytes:
    return event({"error": {"code": code, "details": details}, "response_id": response_id})
