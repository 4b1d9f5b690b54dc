"""Helpers every translating adapter needs: OpenAI reply shapes with their required-nullable fields,
content parts, data URLs. Pure functions, no I/O.

    >>> completion(req, "m", [choice(message("Hi"), "stop")], usage(3, 1))["object"]
    'chat.completion'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError, UpstreamProtocolError
from llmrelay.schemas.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    Choice,
    ChunkChoice,
    FinishReason,
    ResponseMessage,
    ToolCall,
    Usage,
)

_DATA_URL = re.compile(r"data:(?P<media>[\w/+.-]+)?(?P<params>(?:;[\w-]+=[\w-]+)*)(?P<b64>;base64)?,(?P<data>.*)", re.S)


def completion_id(req: ChatRequest) -> str:
    return f"chatcmpl-{req.request_id}" if req.request_id else "chatcmpl-llmrelay"


def usage(prompt: int, completion_tokens: int, *, cached: int | None = None, reasoning: int | None = None) -> Usage:
    out: Usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }
    if cached is not None:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return out


def message(content: str | None, tool_calls: list[ToolCall] | None = None, **extra: Any) -> ResponseMessage:
    """An assistant message as OpenAI returns it (`refusal: null`; `tool_calls` only when there are some)."""
    out: ResponseMessage = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        out["tool_calls"] = tool_calls
    out.update(extra)  # type: ignore[typeddict-item]
    return out


def choice(msg: ResponseMessage, finish_reason: FinishReason | None, index: int = 0) -> Choice:
    return {"index": index, "message": msg, "logprobs": None, "finish_reason": finish_reason}


def completion(
    req: ChatRequest, model: str, choices: list[Choice], use: Usage | None, *, id: str | None = None
) -> ChatCompletion:
    out: ChatCompletion = {
        "id": id or completion_id(req),
        "object": "chat.completion",
        "created": req.created,
        "model": model,
        "choices": choices,
    }
    if use is not None:
        out["usage"] = use
    return out


def chunk(
    req: ChatRequest,
    model: str,
    delta: dict[str, Any],
    finish_reason: FinishReason | None = None,
    *,
    index: int = 0,
    id: str | None = None,
) -> ChatCompletionChunk:
    """One chunk with one choice; `finish_reason` and `logprobs` are present as null, as OpenAI sends them."""
    one: ChunkChoice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    return {
        "id": id or completion_id(req),
        "object": "chat.completion.chunk",
        "created": req.created,
        "model": model,
        "choices": [one],
    }


def text_of(content: object, *, param: str) -> str:
    """The text of a message whose content is a string, null, or text parts; other parts are rejected."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise UnsupportedParameterError(f"Content parts of type '{kind}' are not supported here.", param=param)
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise UnsupportedParameterError("Message content must be a string or an array of parts.", param=param)


def parse_data_url(url: str) -> tuple[str, str] | None:
    """`data:image/png;base64,AAAA` → ("image/png", "AAAA"); None for anything that is not a base64 data URL."""
    match = _DATA_URL.fullmatch(url)
    if match is None or not match.group("b64"):
        return None
    return match.group("media") or "application/octet-stream", match.group("data")


_UNSAFE_PATH = re.compile(r"[?#%\\\s\x00-\x1f]|(^|/)\.\.?(/|$)")


def path_safe(model: str) -> str:
    """A model id that goes into a URL path, refused if it could leave that path.

    Clients choose model ids (a provider's `match` patterns pass any name through), and the upstream
    key is good for the provider's whole API: `..` segments, a query or fragment, or escapes must not
    reach the URL.
    """
    if not model or _UNSAFE_PATH.search(model):
        raise InvalidRequestError(
            f"Invalid model id for this provider: {model!r}.", param="model", code="invalid_value"
        )
    return model


ASKS_NOTHING: Mapping[str, tuple[object, ...]] = {
    "n": (1,),
    "tools": ([],),
    "functions": ([],),
    "tool_choice": ("none",),
    "function_call": ("none",),
    "response_format": ({"type": "text"},),
    "stop": ([],),
    "logprobs": (False,),
    "presence_penalty": (0,),
    "frequency_penalty": (0,),
    "logit_bias": ({},),
    "modalities": (["text"],),
}
"""OpenAI field values that ask for nothing beyond a plain text answer: an upstream that cannot honour
the field may accept these values instead of rejecting the field with a 400."""


RETRY_HINTS = frozenset({"retry-after", "retry-after-ms", "x-should-retry"})


def retry_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The upstream's retry hints, kept on its error so clients and the relay's retry policy see them."""
    return {k: v for k, v in headers.items() if k.lower() in RETRY_HINTS}


def json_reply(body: bytes | str, answered: str, *, an_object: bool = True) -> Any:
    """An upstream's reply parsed; UpstreamProtocolError `"{answered} with a body that is not JSON."`
    (and, with `an_object`, `"... with JSON that is not an object."`). `answered` names who answered,
    e.g. "Gemini answered" or "The upstream answered 200"."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError(f"{answered} with a body that is not JSON.") from None
    if an_object and not isinstance(parsed, dict):
        raise UpstreamProtocolError(f"{answered} with JSON that is not an object.")
    return parsed
