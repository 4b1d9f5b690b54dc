"""OpenAI request fields → llama-cpp-python arguments for the local model, and the context check.

| OpenAI field | local model |
|---|---|
| `messages` / `prompt` | the model's own chat template (from the GGUF) / the raw prompt; one prompt per request |
| `max_tokens`, `max_completion_tokens` | `max_tokens`; unset → up to the end of the context window (chat), 16 (legacy, as OpenAI) |
| `temperature`, `top_p`, `seed`, `stop`, `presence_penalty`, `frequency_penalty` | the same sampling parameters |
| `response_format` `json_object` / `json_schema` | llama.cpp's JSON grammar (with the schema, when given) |
| `logprobs`, `top_logprobs` | passed on (llama.cpp reports them) |
| `n` > 1, `tools`, `tool_choice` (other than none/auto), `functions`, `logit_bias`, `audio`, `modalities`, `prediction`, `web_search_options`, `suffix`, `echo`, `best_of` > 1 | 400 naming the field: the local model cannot honour it |
| `user`, `metadata`, `store`, `service_tier`, `parallel_tool_calls`, `stream_options`, `reasoning_effort`, `verbosity`, `prompt_cache_key`, `safety_identifier` | ignored: nothing in them changes the answer |

    >>> chat_arguments({"model": "m", "messages": [...], "temperature": 0.2})["temperature"]
    0.2
"""

from __future__ import annotations

from typing import Any

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError

_REJECTED = ("functions", "logit_bias", "audio", "modalities", "prediction", "web_search_options", "suffix")
_SAMPLING = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")


def _common(body: dict[str, Any]) -> dict[str, Any]:
    for name in _REJECTED:
        if body.get(name) not in (None, [], {}, ""):
            raise UnsupportedParameterError(f"The local model does not support '{name}'.", param=name)
    if body.get("n") not in (None, 1):
        raise UnsupportedParameterError("The local model returns one choice per request ('n' must be 1).", param="n")
    args: dict[str, Any] = {name: body[name] for name in _SAMPLING if body.get(name) is not None}
    args.setdefault("temperature", 1.0)  # OpenAI's defaults, not llama.cpp's (0.2 / 0.95)
    args.setdefault("top_p", 1.0)
    stop = body.get("stop")
    if stop is not None:
        args["stop"] = [stop] if isinstance(stop, str) else list(stop)
    return args


def chat_arguments(body: dict[str, Any]) -> dict[str, Any]:
    args = _common(body)
    if body.get("tools") or body.get("tool_choice") not in (None, "none", "auto"):
        raise UnsupportedParameterError("The local model does not call tools.", param="tools")
    args["messages"] = [_plain(i, m) for i, m in enumerate(body["messages"])]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None:
        args["max_tokens"] = limit
    if body.get("logprobs"):
        args["logprobs"] = True
        args["top_logprobs"] = body.get("top_logprobs")
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        schema = (fmt.get("json_schema") or {}).get("schema")
        args["response_format"] = {"type": "json_object", **({"schema": schema} if schema else {})}
    return args


def completion_arguments(body: dict[str, Any]) -> dict[str, Any]:
    args = _common(body)
    if body.get("echo") or (body.get("best_of") or 1) > 1:
        name = "echo" if body.get("echo") else "best_of"
        raise UnsupportedParameterError(f"The local model does not support '{name}'.", param=name)
    prompt = body["prompt"]
    if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int):
        if len(prompt) != 1:
            raise UnsupportedParameterError("The local model takes one prompt per request.", param="prompt")
        prompt = prompt[0]
    args["prompt"] = prompt
    args["max_tokens"] = body.get("max_tokens", 16)
    if body.get("logprobs") is not None:
        args["logprobs"] = body["logprobs"]
    return args


def _plain(index: int, message: dict[str, Any]) -> dict[str, Any]:
    """A message the chat template can render: string content (text parts joined), no tool turns."""
    role, content = message.get("role"), message.get("content")
    if role == "developer":
        role = "system"
    if role not in ("system", "user", "assistant"):
        raise UnsupportedParameterError(
            f"The local model does not take '{role}' messages.", param=f"messages[{index}].role"
        )
    if isinstance(content, list):
        if any(not isinstance(p, dict) or p.get("type") != "text" for p in content):
            raise UnsupportedParameterError(
                "The local model reads text parts only.", param=f"messages[{index}].content"
            )
        content = "".join(str(p.get("text", "")) for p in content)
    return {"role": role, "content": content or ""}


def prompt_check(prompt_tokens: int, max_tokens: int | None, window: int, param: str = "messages") -> int:
    """The max_tokens to generate with; 400 `context_length_exceeded` when the request cannot fit."""
    requested = prompt_tokens + (max_tokens or 0)
    if prompt_tokens >= window or requested > window:
        detail = f"{prompt_tokens} in the {param}" + (f", {max_tokens} in the completion" if max_tokens else "")
        raise InvalidRequestError(
            f"This model's maximum context length is {window} tokens. However, you requested {requested} tokens "
            f"({detail}). Please reduce the length of the {param} or the completion.",
            param=param,
            code="context_length_exceeded",
        )
    return max_tokens if max_tokens is not None else window - prompt_tokens
