"""An OpenAI chat request → the body of Anthropic's `POST /v1/messages`. Every OpenAI field is
translated, rejected with a 400 naming it, or (where ignoring it is harmless) dropped:

| OpenAI field | what happens |
|---|---|
| `model` | the deployment's upstream model id |
| `messages` | `system` + alternating `messages` (see `messages.py`) |
| `max_completion_tokens` / `max_tokens` | `max_tokens` (the first wins); none given: 4096 (`wire.DEFAULT_MAX_TOKENS`), plus the thinking budget when `reasoning_effort` is set; at or under that budget: 400 |
| `temperature` | sent when ≤ 1; above 1: 400 (Anthropic's range is 0–1; clamping would change the request) |
| `top_p` | `top_p` |
| `stop` | `stop_sequences` (a string becomes a one-element list) |
| `stream` | `stream` |
| `stream_options` | not sent: every Anthropic stream reports usage; the relay honours `include_usage` |
| `n` | 1 accepted; more: 400 (one reply per request) |
| `seed` | dropped: no equivalent, and OpenAI itself promises only best-effort determinism |
| `user`, `safety_identifier` | `metadata.user_id` (`user` first) |
| `tools` | function tools → `{name, description, input_schema}`; `function.strict` dropped; other tool types: 400 |
| `tool_choice` | none / auto / required / named → `{"type": "none" / "auto" / "any" / "tool"}` |
| `parallel_tool_calls` | false → `tool_choice.disable_parallel_tool_use: true`; true is the default |
| `response_format` | text: nothing; json_object / json_schema: emulated with a forced tool, unwrapped in the reply (see `tools.py`); `json_schema.strict` is not carried |
| `reasoning_effort` | none: no thinking; low / medium / high → `thinking: {type: enabled, budget_tokens: 1024 / 2048 / 4096}` (LiteLLM's budgets); with forced tool use (which includes JSON mode): 400, the API refuses the pair; other values: 400 |
| `service_tier` | auto → auto; default → standard_only; others: 400 |
| `logprobs`, `top_logprobs` | false / absent accepted; otherwise 400 (no log probabilities) |
| `presence_penalty`, `frequency_penalty`, `logit_bias` | 0 / empty accepted; otherwise 400 |
| `modalities` | `["text"]` accepted; audio: 400 |
| `audio`, `web_search_options`, `functions`, `function_call`, `verbosity` | 400 |
| `metadata`, `store` | dropped: they only concern OpenAI's stored completions |
| `prompt_cache_key` | dropped: a cache-routing hint; Anthropic caches by `cache_control` |
| `prediction` | dropped: a latency optimisation that never changes the output |
| `provider` | llmrelay's own routing pin; never sent |
| anything else | 400 "Unrecognized request argument" naming it (as OpenAI answers) |

    >>> build_body(ChatRequest.parse(raw), target)["max_tokens"]
    4096
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.anthropic.messages import to_anthropic
from llmrelay.providers.anthropic.tools import translate_tools
from llmrelay.providers.anthropic.wire import DEFAULT_MAX_TOKENS, THINKING_BUDGETS, MessagesRequest
from llmrelay.providers.base import Target
from llmrelay.schemas.chat import ChatRequest

_TRANSLATED = frozenset(
    {
        "model",
        "messages",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "user",
        "safety_identifier",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "service_tier",
        "provider",
    }
)
_DROPPED = frozenset({"seed", "metadata", "store", "prompt_cache_key", "prediction"})
_NO_PENALTIES = "Anthropic has no sampling penalties or biases"
_LIMITED: Mapping[str, tuple[Callable[[Any], bool], str]] = {
    "n": (lambda v: v == 1, "Anthropic returns one choice per request"),
    "logprobs": (lambda v: v is False, "Anthropic returns no log probabilities"),
    "top_logprobs": (lambda v: False, "Anthropic returns no log probabilities"),
    "presence_penalty": (lambda v: v == 0, _NO_PENALTIES),
    "frequency_penalty": (lambda v: v == 0, _NO_PENALTIES),
    "logit_bias": (lambda v: v == {}, _NO_PENALTIES),
    "modalities": (lambda v: v == ["text"], "Anthropic answers in text only"),
    "audio": (lambda v: False, "Anthropic answers in text only"),
    "web_search_options": (lambda v: False, "Anthropic's web search is a server tool this gateway does not offer"),
    "functions": (lambda v: False, "use 'tools'"),
    "function_call": (lambda v: False, "use 'tool_choice'"),
    "verbosity": (lambda v: False, "Anthropic has no verbosity control"),
}
_SERVICE_TIERS: Mapping[str, Literal["auto", "standard_only"]] = {"auto": "auto", "default": "standard_only"}


def build_body(req: ChatRequest, target: Target) -> MessagesRequest:
    """The Messages API body for `req`; raises UnsupportedParameterError (400) naming what it cannot carry."""
    body: Mapping[str, Any] = req.body
    _check_fields(body)
    system, messages = to_anthropic(body["messages"])
    out: MessagesRequest = {"model": target.model, "max_tokens": DEFAULT_MAX_TOKENS, "messages": messages}
    if system is not None:
        out["system"] = system
    _sampling(body, out)
    tools, choice = translate_tools(body)
    if tools:
        out["tools"] = tools
    if choice is not None:
        out["tool_choice"] = choice
    _max_tokens_and_thinking(body, out)
    user = body.get("user") or body.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": str(user)}
    if body.get("service_tier") is not None:
        out["service_tier"] = _SERVICE_TIERS[body["service_tier"]]
    if req.stream:
        out["stream"] = True
    return out


def _check_fields(body: Mapping[str, Any]) -> None:
    for name, value in body.items():
        if value is None or name in _DROPPED:
            continue
        limited = _LIMITED.get(name)
        if limited is not None and not limited[0](value):
            raise UnsupportedParameterError(
                f"'{name}' = {value!r} is not supported by this upstream: {limited[1]}.", param=name
            )
        if limited is None and name not in _TRANSLATED:
            raise UnsupportedParameterError(f"Unrecognized request argument supplied: {name}", param=name)
    tier = body.get("service_tier")
    if tier is not None and tier not in _SERVICE_TIERS:
        raise UnsupportedParameterError(
            f"'service_tier' {tier!r} has no Anthropic equivalent; use 'auto' or 'default'.", param="service_tier"
        )


def _sampling(body: Mapping[str, Any], out: MessagesRequest) -> None:
    temperature = body.get("temperature")
    if temperature is not None:
        if isinstance(temperature, int | float) and temperature > 1:
            raise UnsupportedParameterError(
                f"'temperature' {temperature} is above 1, the most this upstream (Anthropic) accepts.",
                param="temperature",
            )
        out["temperature"] = temperature
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif stop is not None:
        out["stop_sequences"] = stop


def _max_tokens_and_thinking(body: Mapping[str, Any], out: MessagesRequest) -> None:
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    limit = body.get(name)
    effort = body.get("reasoning_effort")
    if effort is None or effort == "none":
        out["max_tokens"] = DEFAULT_MAX_TOKENS if limit is None else limit
        return
    budget = THINKING_BUDGETS.get(effort) if isinstance(effort, str) else None
    if budget is None:
        raise UnsupportedParameterError(
            f"'reasoning_effort' {effort!r} has no Anthropic thinking budget; use none, low, medium or high.",
            param="reasoning_effort",
        )
    if limit is not None and (not isinstance(limit, int) or limit <= budget):
        raise UnsupportedParameterError(
            f"'{name}' must be above the {budget}-token thinking budget that reasoning_effort '{effort}' sets "
            "(thinking tokens count toward Anthropic's max_tokens).",
            param=name,
        )
    choice = out.get("tool_choice")
    if choice is not None and choice["type"] in ("any", "tool"):
        raise UnsupportedParameterError(
            "'reasoning_effort' cannot be combined with forced tool use (tool_choice 'required' or a named "
            "function, or JSON mode, which is emulated with a forced tool): Anthropic refuses thinking with it.",
            param="reasoning_effort",
        )
    out["max_tokens"] = budget + DEFAULT_MAX_TOKENS if limit is None else limit
    out["thinking"] = {"type": "enabled", "budget_tokens": budget}
