"""One turn of a run as a Chat Completions request, and the model's streamed answer read back.

`chat_body` builds the conversation: the run's instructions as the system message, then the thread's
messages in order (the last N with `truncation_strategy: last_messages`), with the function calls of
earlier turns and their submitted outputs as assistant `tool_calls` + `tool` messages where they
happened; with `max_prompt_tokens`, the oldest turns go until the counted prompt fits. Only function tools reach the model (file_search and code_interpreter are stored, not run).
`Answer` accumulates the streamed chunks: text, tool calls by index, finish reason, usage.

    >>> body = chat_body(run, thread_messages, tool_steps, used_completion_tokens=0)
    >>> answer = Answer(); answer.feed(chunk) ...; answer.tool_calls
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmrelay.accounting.tokens import count_chat
from llmrelay.storage.assistants import JSONObject

_OMITTED_CHOICES = ("auto", None)


def chat_body(run: JSONObject, messages: list[JSONObject], tool_steps: list[JSONObject], used: int) -> JSONObject:
    """The streamed chat request for the next turn of `run`; `used` is the run's completion tokens so far."""
    body: JSONObject = {
        "model": run["model"],
        "messages": fitted(conversation(run, messages, tool_steps), run),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    functions = [{"type": "function", "function": t["function"]} for t in run["tools"] or () if t["type"] == "function"]
    if functions:
        body["tools"] = functions
        choice = run.get("tool_choice")
        if choice not in _OMITTED_CHOICES and (isinstance(choice, str) or choice.get("type") == "function"):
            body["tool_choice"] = choice
        if run.get("parallel_tool_calls") is False:
            body["parallel_tool_calls"] = False
    for name in ("temperature", "top_p"):
        if run.get(name) is not None:
            body[name] = run[name]
    if isinstance(run.get("response_format"), dict):
        body["response_format"] = run["response_format"]
    if run.get("max_completion_tokens") is not None:
        body["max_completion_tokens"] = max(int(run["max_completion_tokens"]) - used, 1)
    return body


def fitted(chat: list[JSONObject], run: JSONObject) -> list[JSONObject]:
    """With `max_prompt_tokens`, the oldest turns dropped (the instructions and the last message kept)
    until the counted prompt fits; a tool call and its outputs go together."""
    limit = run.get("max_prompt_tokens")
    if limit is None:
        return chat
    head = chat[:1] if chat and chat[0]["role"] == "system" else []
    rest = chat[len(head) :]
    while len(rest) > 1 and count_chat(head + rest, run["model"]) > limit:
        rest = rest[1:]
        while len(rest) > 1 and rest[0]["role"] == "tool":  # never a tool output without its call
            rest = rest[1:]
    return head + rest


def conversation(run: JSONObject, messages: list[JSONObject], tool_steps: list[JSONObject]) -> list[JSONObject]:
    truncation = run.get("truncation_strategy") or {}
    keep = truncation.get("last_messages") if truncation.get("type") == "last_messages" else None
    if keep is not None:
        messages = messages[-keep:] if keep else []
    chat: list[JSONObject] = []
    if run.get("instructions"):
        chat.append({"role": "system", "content": run["instructions"]})
    first = messages[0]["seq"] if messages else None
    # A step goes after the message that was the thread's last when it began (after_message), or
    # after the nearest earlier one when that message was deleted; first when the thread was empty.
    pending = [
        step for step in tool_steps
        if step["status"] == "completed"
        and (keep is None or (step["after_message"] is not None and first is not None and step["after_message"] >= first))
    ]  # fmt: skip
    pending.sort(key=lambda step: -1 if step["after_message"] is None else step["after_message"])
    for message in messages:
        while pending and (pending[0]["after_message"] or -1) < message["seq"]:
            chat.extend(tool_turn(pending.pop(0)))
        chat.append({"role": message["role"], "content": chat_content(message["content"] or [])})
    for step in pending:
        chat.extend(tool_turn(step))
    return chat


def tool_turn(step: JSONObject) -> list[JSONObject]:
    """A finished tool-calls step as the assistant's call and one `tool` message per output."""
    calls = [c for c in step["step_details"]["tool_calls"] if c["type"] == "function"]
    if not calls:
        return []
    asked = [{"id": c["id"], "type": "function", "function": {k: c["function"][k] for k in ("name", "arguments")}}
             for c in calls]  # fmt: skip
    answers = [{"role": "tool", "tool_call_id": c["id"], "content": c["function"].get("output") or ""} for c in calls]
    return [{"role": "assistant", "content": None, "tool_calls": asked}, *answers]


def chat_content(parts: list[JSONObject]) -> str | list[JSONObject]:
    """Message content parts as chat content: a plain string when it is all text (every provider takes
    that), else parts with the images. An `image_file` names a stored file the model cannot fetch: it
    becomes a text note."""
    converted: list[JSONObject] = []
    for part in parts:
        if part["type"] == "text":
            converted.append({"type": "text", "text": part["text"]["value"]})
        elif part["type"] == "image_url":
            converted.append({"type": "image_url", "image_url": part["image_url"]})
        elif part["type"] == "image_file":
            converted.append({"type": "text", "text": f"[image file {part['image_file'].get('file_id')}]"})
    if all(p["type"] == "text" for p in converted):
        return "\n".join(p["text"] for p in converted)
    return converted


@dataclass
class Answer:
    """The model's reply to one turn, as its chunks arrive."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, JSONObject] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: JSONObject | None = None

    def feed(self, chunk: JSONObject) -> tuple[str, list[JSONObject]]:
        """Take one chunk; returns its new text and its tool-call deltas (OpenAI chunk shape)."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        text, deltas = "", []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                text += delta["content"]
            for call in delta.get("tool_calls") or ():
                deltas.append(call)
                self._call(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        if text:
            self.text.append(text)
        return text, deltas

    def _call(self, delta: JSONObject) -> None:
        index = int(delta.get("index", 0))
        call = self.calls.setdefault(index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
        if delta.get("id"):
            call["id"] = delta["id"]
        function: dict[str, Any] = delta.get("function") or {}
        if function.get("name"):
            call["function"]["name"] += function["name"]
        if function.get("arguments"):
            call["function"]["arguments"] += function["arguments"]

    @property
    def tool_calls(self) -> list[JSONObject]:
        return [self.calls[i] for i in sorted(self.calls)]
