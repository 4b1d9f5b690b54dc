r"""OpenAI chat request → the body of BITO's `POST /ai/v2/chat/` (reference §6, as bito2ai sends it).

BITO takes no message list: one `prompt` (the system text, a blank line, then the last user turn) and
the earlier turns as `context` pairs `{question, answer}`. Its only knobs are `customllmconfig`
(`temperature`, `max_tokens`, `top_p`), so every other OpenAI parameter that would change the answer is
rejected with a 400 naming it. Sources: `Swingrotten/bito2ai` (`deno-version.ts`,
`cloudflare-workers-version.js`: payload, model ids, message mapping) and reference §6.

OpenAI field → what happens:

| OpenAI field                           | what happens                                                        |
|----------------------------------------|---------------------------------------------------------------------|
| `model`                                | the target's upstream model → `modelId`: "Claude Sonnet 3.7" → 42,  |
|                                        | "o3-mini High" → 38; an all-digit upstream model (`model: "40"` in  |
|                                        | the config) is sent as that id; any other name → 404 `model`        |
| `messages`                             | `system` and `developer` texts, joined with `\n` wherever they      |
|                                        | stand, + `\n\n` + the last user turn → `prompt`; earlier turns →    |
|                                        | `context` pairs; consecutive same-role messages merge with `\n\n`   |
|                                        | (bito2ai drops unpaired ones); a leading assistant turn gets        |
|                                        | `question: ""`                                                      |
| `messages[].content`                   | strings and text parts; image/audio/file parts → 400                |
|                                        | `messages[i].content`                                               |
| `messages[].name`, `.refusal`          | dropped: BITO has no speakers                                       |
| `tool`/`function` messages, assistant  | 400 naming them: BITO has no tools                                  |
| `tool_calls` / `function_call`         |                                                                     |
| last message from the assistant        | 400 `messages[i]`: BITO cannot continue (prefill) an assistant turn |
| `stream`                               | BITO always streams (`Stream: true`); a non-stream client gets the  |
|                                        | whole stream assembled                                              |
| `temperature`                          | `customllmconfig.temperature`; omitted → 0.7 (bito2ai's value)      |
| `top_p`                                | `customllmconfig.top_p`; omitted → `null`, as bito2ai sends         |
|                                        | (whether BITO honours a value is unverified)                        |
| `max_tokens`, `max_completion_tokens`  | `customllmconfig.max_tokens` (`max_completion_tokens` wins)         |
| `n`                                    | 1 accepted; otherwise 400 `n`                                       |
| `tool_choice`                          | `"none"` accepted; otherwise 400 `tool_choice`                      |
| `response_format`                      | `{"type": "text"}` accepted; json_object / json_schema → 400        |
| `tools`, `functions`, `function_call`, | 400 naming it, unless it asks for nothing (`[]`, `{}`, `false`, `0`,|
| `stop`, `seed`, `logprobs`,            | `["text"]`)                                                         |
| `top_logprobs`, `presence_penalty`,    |                                                                     |
| `frequency_penalty`, `logit_bias`,     |                                                                     |
| `reasoning_effort`, `modalities`,      |                                                                     |
| `audio`, `prediction`,                 |                                                                     |
| `web_search_options`, `verbosity`,     |                                                                     |
| any non-OpenAI field                   |                                                                     |
| `stream_options`, `user`,              | dropped: nothing in them changes BITO's answer (`include_usage` is  |
| `parallel_tool_calls`, `metadata`,     | the relay's job, and BITO reports no usage)                         |
| `store`, `service_tier`,               |                                                                     |
| `prompt_cache_key`,                    |                                                                     |
| `safety_identifier`, `provider`        |                                                                     |
| any field set to null                  | ignored, as OpenAI treats null as not sent                          |

    >>> bito_body(ChatRequest.parse(raw), target)["modelId"]
    42
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from llmrelay.errors import AuthenticationError, InvalidRequestError, ModelNotFoundError, UnsupportedParameterError
from llmrelay.providers.base import Target
from llmrelay.providers.common import ASKS_NOTHING, text_of
from llmrelay.schemas.chat import ChatMessage, ChatRequest

CHAT_PATH = "/ai/v2/chat/"
"""Appended to `base_url` (https://bitoai.bito.ai); the trailing slash is part of BITO's route."""

MODEL_IDS: Mapping[str, int] = {"Claude Sonnet 3.7": 42, "o3-mini High": 38}
"""The only BITO `modelId`s known (bito2ai's built-in models); the names are what /v1/models lists."""

DEFAULT_TEMPERATURE = 0.7

_TRANSLATED = frozenset({"model", "messages", "stream", "temperature", "top_p", "max_tokens", "max_completion_tokens"})
_DROPPED = frozenset(
    {
        "stream_options",
        "user",
        "parallel_tool_calls",
        "metadata",
        "store",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
        "provider",
    }
)
_WHY: Mapping[str, str] = {
    "n": "BITO returns one answer per request",
    "tools": "BITO has no tool calling",
    "functions": "BITO has no tool calling",
    "tool_choice": "BITO has no tool calling",
    "function_call": "BITO has no tool calling",
    "response_format": "BITO has no JSON mode or structured output",
    "stop": "BITO takes no stop sequences",
    "seed": "BITO takes no seed",
    "logprobs": "BITO returns no log probabilities",
    "top_logprobs": "BITO returns no log probabilities",
}


class QA(TypedDict):
    question: str
    answer: str


@dataclass
class _Turn:
    """Consecutive messages of one role, merged; `index` is the last one's position in `messages`."""

    role: str
    index: int
    texts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)


def bito_headers(target: Target) -> dict[str, str]:
    """The raw BITO token in `Authorization` — no `Bearer ` prefix (bito2ai strips it before forwarding)."""
    if not target.api_key:
        raise AuthenticationError(
            "The BITO upstream needs your BITO token: send it as 'Authorization: Bearer <token>' "
            "(providers with `auth: passthrough`) or configure the provider's `api_key`.",
            code="missing_api_key",
        )
    return {"content-type": "application/json", **target.headers, "authorization": target.api_key}


def bito_body(req: ChatRequest, target: Target) -> dict[str, Any]:
    """The JSON body, in bito2ai's field order; raises a 400/404 for what BITO cannot honour."""
    body: Mapping[str, Any] = req.body
    check_parameters(body)
    prompt, context = prompt_and_context(body["messages"])
    return {
        "aiModelType": "ADVANCED",
        "ideId": 0,
        "prompt": prompt,
        "modelId": model_id(target.model),
        "ideName": "CLI",
        "context": context,
        "Type": 1,
        "Stream": True,
        "topN": 0,
        "topNThreshold": 0,
        "folderPath": "",
        "customllmconfig": llm_config(body),
    }


def model_id(model: str) -> int:
    if model in MODEL_IDS:
        return MODEL_IDS[model]
    if model.isascii() and model.isdigit():
        return int(model)
    known = ", ".join(f"'{name}'" for name in MODEL_IDS)
    raise ModelNotFoundError(
        f"BITO has no model '{model}'. Known models: {known}; or configure a numeric BITO modelId as the "
        "upstream model.",
        param="model",
    )


def check_parameters(body: Mapping[str, Any]) -> None:
    """400 for the first parameter BITO cannot honour (see the module table)."""
    for name, value in body.items():
        if name in _TRANSLATED or name in _DROPPED or value is None:
            continue
        if value in ASKS_NOTHING.get(name, ()):
            continue
        why = _WHY.get(name, "BITO has no such setting")
        raise UnsupportedParameterError(f"The BITO upstream does not support '{name}': {why}.", param=name)


def llm_config(body: Mapping[str, Any]) -> dict[str, Any]:
    """`customllmconfig`: temperature always, max_tokens when asked, top_p (null when not asked)."""
    temperature = _number(body, "temperature")
    config: dict[str, Any] = {"temperature": DEFAULT_TEMPERATURE if temperature is None else temperature}
    max_completion, max_tokens = _integer(body, "max_completion_tokens"), _integer(body, "max_tokens")
    limit = max_completion if max_completion is not None else max_tokens
    if limit is not None:
        config["max_tokens"] = limit
    config["top_p"] = _number(body, "top_p")
    return config


def prompt_and_context(messages: Sequence[ChatMessage]) -> tuple[str, list[QA]]:
    """(prompt, context) as bito2ai builds them, except that no message is dropped (see the table)."""
    system: list[str] = []
    turns: list[_Turn] = []
    for i, msg in enumerate(messages):
        role = msg["role"]
        if role in ("system", "developer"):
            system.append(text_of(msg.get("content"), param=f"messages[{i}].content"))
            continue
        _check_plain(msg, i)
        if not turns or turns[-1].role != role:
            turns.append(_Turn(role, i))
        turns[-1].index = i
        turns[-1].texts.append(text_of(msg.get("content"), param=f"messages[{i}].content"))
    system_text = "\n".join(system)
    if not turns:
        if system_text:
            return system_text, []
        raise InvalidRequestError("BITO needs a user message to answer.", param="messages")
    last = turns.pop()
    if last.role != "user":
        raise UnsupportedParameterError(
            "The BITO upstream cannot continue an assistant message: the last message must be the user's.",
            param=f"messages[{last.index}]",
        )
    prompt = f"{system_text}\n\n{last.text}".strip() if system_text else last.text
    return prompt, _pairs(turns)


def _pairs(turns: Sequence[_Turn]) -> list[QA]:
    """Alternating turns that end with an assistant turn → `{question, answer}` pairs."""
    context: list[QA] = []
    question = ""
    for turn in turns:
        if turn.role == "user":
            question = turn.text
        else:
            context.append({"question": question, "answer": turn.text})
            question = ""
    return context


def _check_plain(msg: ChatMessage, i: int) -> None:
    role = msg["role"]
    if role not in ("user", "assistant"):
        raise UnsupportedParameterError(
            f"The BITO upstream has no '{role}' messages: it supports system, developer, user and assistant.",
            param=f"messages[{i}].role",
        )
    for name in ("tool_calls", "function_call"):
        if msg.get(name):
            raise UnsupportedParameterError("The BITO upstream has no tool calling.", param=f"messages[{i}].{name}")


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise InvalidRequestError(f"Invalid type for '{name}': expected a number.", param=name, code="invalid_type")


def _integer(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidRequestError(f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type")
