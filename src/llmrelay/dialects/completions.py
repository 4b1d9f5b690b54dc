"""Legacy completions on a chat-only upstream: the prompt becomes one user message, and the chat
answer comes back in the `text_completion` shape, stream too (LiteLLM's `text_completion` bridge).

    prompts = prompts_of(body)                  # one chat call per prompt string
    chat = chat_body(body, prompts[0])          # -> relay.chat
    completion_of(orjson.loads(reply), body, prompts[0], first_index=0)
    frames: ChunkConverter(body, prompts[0]).convert(chat_chunk) per chat chunk

What has no chat equivalent is a 400 naming its parameter: token-array prompts (no tokenizer of the
upstream's), `suffix` (insertion), `best_of` above `n`, and several prompts in one stream. Everything
else the client sent goes into the chat body untouched (unknown fields pass through). Like OpenAI's
legacy endpoint, `max_tokens` defaults to 16.
"""

from __future__ import annotations

from typing import Any

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError

LEGACY_DEFAULT_MAX_TOKENS = 16
_LEGACY_ONLY = frozenset({"prompt", "suffix", "echo", "best_of", "logprobs"})

JSON = dict[str, Any]


def prompts_of(body: JSON) -> list[str]:
    """The prompt strings, one chat call each; a 400 for what a chat model cannot take."""
    prompt = body.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise UnsupportedParameterError(
            "Token-array prompts need an upstream with a native completions endpoint; this model is "
            "served through chat, so send the prompt as text.",
            param="prompt",
        )
    if body.get("suffix"):
        raise UnsupportedParameterError("'suffix' is not supported by models served through chat.", param="suffix")
    n, best_of = body.get("n") or 1, body.get("best_of")
    if isinstance(best_of, int) and best_of > n:
        raise UnsupportedParameterError(
            "'best_of' above 'n' is not supported by models served through chat.", param="best_of"
        )
    if body.get("stream") and len(prompts) != 1:
        raise InvalidRequestError(
            "Streaming several prompts is not supported by models served through chat; send one prompt.",
            param="prompt",
        )
    logprobs = body.get("logprobs")
    if logprobs is not None and (not isinstance(logprobs, int) or isinstance(logprobs, bool) or not 0 <= logprobs <= 5):
        raise InvalidRequestError("'logprobs' must be an integer from 0 to 5.", param="logprobs")
    return prompts


def chat_body(body: JSON, prompt: str) -> JSON:
    """The chat request for one prompt: every field but the legacy-only ones goes through as sent."""
    chat: JSON = {k: v for k, v in body.items() if k not in _LEGACY_ONLY}
    chat["messages"] = [{"role": "user", "content": prompt}]
    chat.setdefault("max_tokens", LEGACY_DEFAULT_MAX_TOKENS)
    logprobs = body.get("logprobs")
    if isinstance(logprobs, int) and not isinstance(logprobs, bool):
        chat["logprobs"] = True
        if logprobs:
            chat["top_logprobs"] = logprobs
    return chat


def completion_of(chat: JSON, body: JSON, prompt: str, first_index: int = 0) -> JSON:
    """A chat.completion as a text_completion; choices numbered from `first_index` (prompt i of n
    choices each starts at i * n, as OpenAI numbers them)."""
    echo = prompt if body.get("echo") else ""
    choices = [
        {
            "text": echo + (choice.get("message", {}).get("content") or ""),
            "index": first_index + int(choice.get("index", 0)),
            "logprobs": legacy_logprobs(choice.get("logprobs"), len(echo)),
            "finish_reason": _finish(choice.get("finish_reason")),
        }
        for choice in chat.get("choices", [])
    ]
    completion: JSON = {
        "id": _completion_id(chat.get("id")),
        "object": "text_completion",
        "created": chat.get("created", 0),
        "model": chat.get("model", body.get("model")),
        "choices": choices,
    }
    if chat.get("system_fingerprint") is not None:
        completion["system_fingerprint"] = chat["system_fingerprint"]
    if chat.get("usage") is not None:
        completion["usage"] = chat["usage"]
    return completion


def merged(completions: list[JSON]) -> JSON:
    """The completions of several prompts as one reply: choices in order, usage summed."""
    first = dict(completions[0])
    first["choices"] = [choice for c in completions for choice in c["choices"]]
    usages = [c["usage"] for c in completions if c.get("usage")]
    if usages:
        first["usage"] = {
            name: sum(int(u.get(name) or 0) for u in usages)
            for name in ("prompt_tokens", "completion_tokens", "total_tokens")
        }
    return first


class ChunkConverter:
    """Chat chunks of one prompt's stream → text_completion chunks; `convert` returns None for a chunk
    that carries nothing a completions client sees (the role-only first chunk)."""

    def __init__(self, body: JSON, prompt: str) -> None:
        self._echo = prompt if body.get("echo") else ""
        self._echoed: set[int] = set()
        self._offsets: dict[int, int] = {}

    def convert(self, chunk: JSON) -> JSON | None:
        choices = []
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index", 0))
            text = (choice.get("delta") or {}).get("content") or ""
            if self._echo and index not in self._echoed:
                self._echoed.add(index)
                text = self._echo + text
            finish = choice.get("finish_reason")
            if not text and finish is None:
                continue
            offset = self._offsets.get(index, len(self._echo) if self._echo else 0)
            logprobs = legacy_logprobs(choice.get("logprobs"), offset)
            if logprobs is not None:
                self._offsets[index] = offset + sum(len(t) for t in logprobs["tokens"])
            choices.append({"text": text, "index": index, "logprobs": logprobs, "finish_reason": _finish(finish)})
        usage = chunk.get("usage")
        if not choices and not usage:
            return None
        out: JSON = {
            "id": _completion_id(chunk.get("id")),
            "object": "text_completion",
            "created": chunk.get("created", 0),
            "model": chunk.get("model"),
            "choices": choices,
        }
        if chunk.get("system_fingerprint") is not None:
            out["system_fingerprint"] = chunk["system_fingerprint"]
        if usage:
            out["usage"] = usage
        return out


def legacy_logprobs(chat_logprobs: object, offset: int = 0) -> JSON | None:
    """Chat's `logprobs.content` ([{token, logprob, top_logprobs: [{token, logprob}]}]) in the legacy
    shape: parallel arrays of tokens, their logprobs, {token: logprob} maps and text offsets."""
    if not isinstance(chat_logprobs, dict) or not isinstance(chat_logprobs.get("content"), list):
        return None
    tokens, values, tops, offsets = [], [], [], []
    for item in chat_logprobs["content"]:
        token = str(item.get("token", ""))
        tokens.append(token)
        values.append(item.get("logprob"))
        tops.append({str(t.get("token", "")): t.get("logprob") for t in item.get("top_logprobs") or []})
        offsets.append(offset)
        offset += len(token)
    return {"tokens": tokens, "token_logprobs": values, "top_logprobs": tops, "text_offset": offsets}


def _finish(reason: object) -> str | None:
    """Legacy completions know stop, length and content_filter; a chat-only reason reads as stop."""
    if reason is None:
        return None
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def _completion_id(chat_id: object) -> str:
    text = str(chat_id or "")
    return "cmpl-" + text.removeprefix("chatcmpl-") if text else "cmpl-llmrelay"
