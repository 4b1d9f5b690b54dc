"""OpenAI Chat Completions request → Cohere Chat v2 body (`POST {base}/v2/chat`, reference §4.1–4.2).

    >>> chat_body(req, "command-a-03-2025")["p"]           # the client sent "top_p": 0.9
    0.9

Field sources: cohere-python `v2/raw_client.py` (`chat`/`chat_stream` parameters) and docs.cohere.com.
Every OpenAI field is either translated, rejected with a 400 naming it, or dropped because it has no
effect on what the model generates:

| OpenAI field | what happens |
|---|---|
| `model` | the deployment's upstream model id |
| `messages` | translated (`messages.py`): system/developer → `system`, user text and `image_url` parts, assistant `tool_calls` (+ text as `tool_plan`), `tool` results |
| `stream` | `stream` (always sent, as the official SDK does) |
| `stream_options` | dropped: the relay frames `include_usage` itself |
| `temperature`, `seed`, `frequency_penalty`, `presence_penalty` | same names (Cohere validates its own ranges: penalties 0–1) |
| `top_p` | `p` (Cohere accepts 0.01–0.99 and answers 400 otherwise; never clamped here) |
| `max_completion_tokens`, `max_tokens` | `max_tokens` (`max_completion_tokens` wins when both are sent) |
| `stop` | `stop_sequences` (a string becomes a one-item list) |
| `n` | 1 accepted; anything else → 400 (Cohere returns one generation) |
| `tools`, `tool_choice` | translated (`tools.py`); a named function is emulated with only that tool + `REQUIRED` |
| `parallel_tool_calls` | `true` dropped (Cohere may call several tools anyway); `false` → 400 |
| `response_format` | `json_object` → `{"type": "json_object"}`; `json_schema` → `{"type": "json_object", "json_schema": schema}` |
| `logprobs` | `false` dropped; `true` → 400 (Cohere's per-chunk logprobs have no per-token text) |
| `top_logprobs`, `logit_bias` (non-empty) | 400 |
| `user`, `safety_identifier` | dropped: end-user identifiers with no Cohere equivalent |
| `prompt_cache_key` | dropped: Cohere caches prompts on its own (usage reports `cached_tokens`) |
| `metadata`, `store` | dropped: OpenAI-side storage, no effect on the generation |
| `service_tier` | `auto`/`default` dropped; other tiers → 400 |
| `modalities` | `["text"]` dropped; anything else → 400 |
| `reasoning_effort`, `verbosity`, `audio`, `prediction`, `web_search_options`, `functions`, `function_call` | 400 |
| `top_k` (vLLM-style extension) | `k` |
| `safety_mode`, `thinking` (Cohere's own fields) | passed through for clients that send them |
| `provider` (llmrelay's own) | dropped |
| anything else | 400 naming it |

A field sent as `null` counts as not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.cohere.messages import cohere_messages
from llmrelay.providers.cohere.tools import response_format, tool_fields
from llmrelay.schemas.chat import ChatRequest

JSONObject = dict[str, Any]

_SAME = ("temperature", "seed", "frequency_penalty", "presence_penalty", "safety_mode", "thinking")
_RENAMED = {"top_p": "p", "top_k": "k"}
_DROPPED = frozenset(
    {"stream_options", "user", "safety_identifier", "prompt_cache_key", "metadata", "store", "provider"}
)
_HANDLED = frozenset(
    {
        "model",
        "messages",
        "stream",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "n",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "service_tier",
        "modalities",
    }
)
_UNSUPPORTED = frozenset(
    {"reasoning_effort", "verbosity", "audio", "prediction", "web_search_options", "functions", "function_call"}
)


def chat_body(req: ChatRequest, model: str) -> JSONObject:
    """The Cohere request body for `req`, or an UnsupportedParameterError naming the first field it cannot honour."""
    fields: Mapping[str, Any] = {k: v for k, v in req.body.items() if v is not None}
    _reject_unknown(fields)
    _reject_unhonoured(fields)
    out: JSONObject = {"model": model, "messages": cohere_messages(fields["messages"]), "stream": req.stream}
    for name in _SAME:
        if name in fields:
            out[name] = fields[name]
    for name, cohere_name in _RENAMED.items():
        if name in fields:
            out[cohere_name] = fields[name]
    limit = fields.get("max_completion_tokens", fields.get("max_tokens"))
    if limit is not None:
        out["max_tokens"] = limit
    if "stop" in fields:
        out["stop_sequences"] = _stop_sequences(fields["stop"])
    out.update(tool_fields(fields))
    native_format = response_format(fields.get("response_format"))
    if native_format is not None:
        out["response_format"] = native_format
    return out


def _reject_unknown(fields: Mapping[str, Any]) -> None:
    known = _DROPPED | _HANDLED | _UNSUPPORTED | set(_SAME) | set(_RENAMED)
    for name in fields:
        if name not in known:
            raise UnsupportedParameterError(f"Unrecognized request argument supplied: {name}", param=name)


def _reject_unhonoured(fields: Mapping[str, Any]) -> None:
    """400 for every value Cohere cannot honour (reference §4.2 'unsupported' row)."""
    for name in _UNSUPPORTED:
        if name in fields:
            raise UnsupportedParameterError(f"'{name}' is not supported by Cohere.", param=name)
    checks: list[tuple[str, bool, str]] = [
        ("n", fields.get("n", 1) != 1, "Cohere returns a single choice; 'n' must be 1."),
        ("logprobs", fields.get("logprobs") not in (None, False), "Cohere's log probabilities cannot be returned."),
        ("top_logprobs", bool(fields.get("top_logprobs")), "Cohere's log probabilities cannot be returned."),
        ("logit_bias", bool(fields.get("logit_bias")), "Cohere has no logit bias."),
        ("parallel_tool_calls", fields.get("parallel_tool_calls") is False, "Cohere cannot disable parallel calls."),
        ("service_tier", fields.get("service_tier", "auto") not in ("auto", "default"), "Cohere has no service tiers."),
        ("modalities", fields.get("modalities", ["text"]) != ["text"], "Cohere generates text only."),
    ]
    for name, rejected, why in checks:
        if rejected:
            raise UnsupportedParameterError(f"Unsupported value for '{name}': {why}", param=name)


def _stop_sequences(stop: object) -> list[str]:
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return list(stop)
    raise UnsupportedParameterError("'stop' must be a string or an array of strings.", param="stop")
