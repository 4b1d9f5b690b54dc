r"""A template upstream's reply → OpenAI chunks or a completion, as metadata.json's `response` says. Pure.

The reply is read as one event per line, `data: ` optional (the adapter's `stream_framing = "lines"`).
chat.qwen.ai writes SSE (`data: {…}` and a blank line), and sometimes answers HTTP 200 with a plain
JSON error body (Qwen2API src/utils/upstream-error.js: "Qwen Web sometimes returns HTTP 200 + plain
JSON for WAF/captcha or business failures"): read by lines, that body reaches the translator too, where
an SSE decoder would drop it.

Each event is a JSON object, read in this order:

1. an error object (see `errors`) → raised, unless the answer already finished;
2. usage: the integers at `prompt_tokens` / `completion_tokens` (chat.qwen.ai's are cumulative: the last wins);
3. the value at `phase` picks where the text goes (`phases`: content, reasoning or drop; an event
   without a phase is content). chat.qwen.ai: `answer` → content, `think` → `reasoning_content`;
   `thinking_summary`, `web_search`, `image`… carry no answer text and are dropped;
4. the string at `text` (or at `message_text`, for a JSON reply) → `delta.content` / `delta.reasoning_content`;
5. on a content event, the value at `finish` mapped through `finish_values` → `finish_reason`
   (chat.qwen.ai: `status: "finished"` → `stop`).

`done` (`[DONE]`, which one chat.qwen.ai capture shows) or the end of the body after some event ends
the answer with `stop` if no finish marker came; only usage is read after the finish.

    >>> TemplateStream(req, "qwen3-max", spec).feed(SSEEvent('{"choices":[{"delta":{"content":"Hi"}}]}'))
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

import orjson

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.common import choice, chunk, completion, message, usage
from llmrelay.providers.template.errors import IN_STREAM_STATUS, error_in
from llmrelay.providers.template.spec import JSONValue, Kind, Path, ResponseSpec
from llmrelay.schemas.chat import ChatCompletion, ChatCompletionChunk, ChatRequest, FinishReason, Usage
from llmrelay.schemas.sse import SSEEvent

_LINE_END = re.compile(r"\r\n|\r|\n")
_SSE_ONLY_FIELDS = ("event:", "id:", "retry:", ":")


def at(obj: JSONValue, path: Path) -> JSONValue:
    """The value at a dotted path, or None where the path leads nowhere."""
    for part in path:
        if isinstance(part, int) and isinstance(obj, list) and -len(obj) <= part < len(obj):
            obj = obj[part]
        elif isinstance(obj, dict) and str(part) in obj:
            obj = obj[str(part)]
        else:
            return None
    return obj


class TemplateStream:
    """Chunks for one reply: the role with the first text, one chunk per text, then the finish.

    translator = TemplateStream(req, target.model, template.response)
    chunks = translator.feed(event) ... + translator.close()
    """

    __slots__ = ("_finished", "_model", "_req", "_seen", "_spec", "_started", "_usage")

    def __init__(self, req: ChatRequest, model: str, spec: ResponseSpec) -> None:
        self._req = req
        self._model = model
        self._spec = spec
        self._started = False  # the role went out
        self._finished = False  # the finish chunk went out
        self._seen = False  # some event arrived
        self._usage: Usage | None = None

    def feed(self, event: SSEEvent) -> list[ChatCompletionChunk]:
        data = event.data.strip()
        if not data:
            return []
        self._seen = True
        if data == self._spec.done:
            return [] if self._finished else self._finish("stop")
        obj = _object(data)
        if not self._finished:
            error = error_in(obj, self._spec.error_statuses, IN_STREAM_STATUS, data.encode(), {})
            if error is not None:
                raise error
        self._read_usage(obj)
        if self._finished:
            return []
        kind = self._kind(obj)
        out: list[ChatCompletionChunk] = []
        text = at(obj, self._spec.text)
        if not isinstance(text, str):
            text = at(obj, self._spec.message_text)
        if isinstance(text, str) and text and kind != "drop":
            out.append(self._delta(kind, text))
        if kind == "content":
            marker = at(obj, self._spec.finish)
            reason = self._spec.finish_values.get(marker) if isinstance(marker, str) else None
            if reason is not None:
                out += self._finish(reason)
        return out

    def close(self) -> list[ChatCompletionChunk]:
        if self._finished:
            return []
        if not self._seen:
            raise UpstreamProtocolError("The upstream's answer carried no event.")
        return self._finish("stop")

    @property
    def usage(self) -> Usage | None:
        return self._usage

    def _kind(self, obj: JSONValue) -> Kind:
        if self._spec.phase is None:
            return "content"
        phase = at(obj, self._spec.phase)
        if not isinstance(phase, str):
            return "content"
        return self._spec.phases.get(phase, "drop")

    def _read_usage(self, obj: JSONValue) -> None:
        prompt, completion_tokens = at(obj, self._spec.prompt_tokens), at(obj, self._spec.completion_tokens)
        if _count(prompt) and _count(completion_tokens):
            self._usage = usage(prompt, completion_tokens)

    def _delta(self, kind: Kind, text: str) -> ChatCompletionChunk:
        delta: dict[str, Any] = {} if self._started else {"role": "assistant"}
        delta["content" if kind == "content" else "reasoning_content"] = text
        self._started = True
        return chunk(self._req, self._model, delta)

    def _finish(self, reason: FinishReason) -> list[ChatCompletionChunk]:
        out = [] if self._started else [self._delta("content", "")]
        self._finished = True
        out.append(chunk(self._req, self._model, {}, reason))
        return out


def parse_whole(body: bytes, req: ChatRequest, model: str, spec: ResponseSpec) -> ChatCompletion:
    """A complete reply body (a stream read to its end, or one JSON object) → one completion."""
    translator = TemplateStream(req, model, spec)
    chunks = [c for event in events_of(body) for c in translator.feed(event)]
    chunks += translator.close()
    content, reasoning, finish = [], [], None
    for one in chunks:
        delta = one["choices"][0]["delta"]
        content.append(delta.get("content") or "")
        reasoning.append(delta.get("reasoning_content") or "")
        finish = one["choices"][0]["finish_reason"] or finish
    reply = message("".join(content))
    if any(reasoning):
        reply["reasoning_content"] = "".join(reasoning)  # type: ignore[typeddict-unknown-key]  # DeepSeek's field, as the other adapters send it
    return completion(req, model, [choice(reply, finish)], translator.usage)


def events_of(body: bytes) -> list[SSEEvent]:
    """The events of a whole body: itself when it is one JSON object, else one per line (`data:` optional)."""
    try:
        whole = orjson.loads(body)
    except orjson.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [SSEEvent(body.decode())]
    events = []
    for line in _LINE_END.split(body.decode("utf-8", "replace")):
        text = line.strip()
        if text.startswith("data:"):
            text = text[5:].strip()
        elif text.startswith(_SSE_ONLY_FIELDS):
            continue
        if text:
            events.append(SSEEvent(text))
    return events


def _object(data: str) -> dict[str, JSONValue]:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(f"The upstream sent a line that is not JSON: {data[:80]!r}") from None
    if not isinstance(obj, dict):
        raise UpstreamProtocolError("The upstream sent a line that is not a JSON object.")
    return obj


def _count(value: JSONValue) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
