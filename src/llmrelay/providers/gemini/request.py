"""An OpenAI chat request → the body of Gemini `generateContent` / `streamGenerateContent`.

Every field of the OpenAI request is translated, knowingly dropped, or rejected with a 400 naming it;
an unknown field is rejected too (it cannot be forwarded to an API that answers 400 "Unknown name").

| OpenAI field | what happens |
|---|---|
| `model` | the URL: `/v1beta/models/{model}:generateContent` (`:streamGenerateContent?alt=sse` when streaming) |
| `messages` | `contents` + `systemInstruction` (see `contents`) |
| `stream` | chooses the endpoint |
| `stream_options` | dropped here; the relay adds the usage chunk |
| `temperature`, `top_p`, `seed` | `generationConfig.temperature`, `topP`, `seed` |
| `top_k` (vLLM-style extra) | `generationConfig.topK` |
| `n` | `generationConfig.candidateCount` (each candidate is a choice) |
| `max_completion_tokens` / `max_tokens` | `generationConfig.maxOutputTokens` (the first when both are set) |
| `stop` | `generationConfig.stopSequences` (a string becomes a one-item list) |
| `presence_penalty`, `frequency_penalty` | `presencePenalty`, `frequencyPenalty` |
| `response_format` | `text`: nothing; `json_object`: `responseMimeType: application/json`; `json_schema`: also `responseJsonSchema` = the schema unchanged (google-genai: the field that "accepts JSON Schema"); `name`, `description`, `strict` dropped (Gemini enforces the schema anyway) |
| `tools` | `tools[0].functionDeclarations`: `name`, `description`, `parametersJsonSchema` = `parameters` unchanged, so nothing is converted or lost; `strict` dropped (no Gemini equivalent); non-function tools → 400 |
| `tool_choice` | `toolConfig.functionCallingConfig.mode` `AUTO` / `NONE` / `ANY`, a named function → `ANY` + `allowedFunctionNames`; other forms → 400 |
| `parallel_tool_calls` | `true`/unset: dropped (Gemini may call in parallel anyway); `false` → 400 (cannot be honoured) |
| `reasoning_effort` | `minimal`/`low`/`medium`/`high` → `thinkingConfig.thinkingLevel` (Gemini 3 models); others → 400 |
| `user`, `safety_identifier`, `metadata`, `store`, `prompt_cache_key` | dropped: bookkeeping hints with no effect on the answer and no Gemini field |
| `service_tier` | `auto`/`default`: dropped; anything else → 400 |
| `modalities` | `["text"]`: dropped; anything else → 400 |
| `logprobs`, `top_logprobs`, `logit_bias`, `audio`, `prediction`, `web_search_options`, `verbosity`, `functions`, `function_call` | 400 when set (not translated) |
| `provider` | llmrelay's own routing pin; never sent |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.providers.gemini.contents import contents_of
from llmrelay.providers.gemini.wire import (
    FunctionCallingConfig,
    FunctionDeclaration,
    GenerateContentRequest,
    GenerationConfig,
    JSONObject,
    ToolConfig,
)

_DROPPED = frozenset(
    {"model", "messages", "stream", "stream_options", "provider"}
    | {"user", "safety_identifier", "metadata", "store", "prompt_cache_key"}
)
_REJECTED = frozenset(
    {"logprobs", "top_logprobs", "logit_bias", "audio", "prediction", "web_search_options", "verbosity"}
    | {"functions", "function_call"}
)
_SIMPLE: Mapping[str, tuple[str, type | tuple[type, ...]]] = {
    "temperature": ("temperature", (int, float)),
    "top_p": ("topP", (int, float)),
    "top_k": ("topK", int),
    "seed": ("seed", int),
    "n": ("candidateCount", int),
    "presence_penalty": ("presencePenalty", (int, float)),
    "frequency_penalty": ("frequencyPenalty", (int, float)),
}
_THINKING_LEVELS = {"minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH"}
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}


def request_body(body: Mapping[str, Any]) -> GenerateContentRequest:
    """The Gemini request for an OpenAI chat body; raises a 400 naming the first field it cannot honour."""
    config: GenerationConfig = {}
    for name, value in body.items():
        _apply(name, value, body, config)
    contents, system = contents_of(body["messages"])
    out: GenerateContentRequest = {"contents": contents}
    if system is not None:
        out["systemInstruction"] = system
    declarations = _declarations(body.get("tools"))
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
    tool_config = _tool_config(body.get("tool_choice"), declarations)
    if tool_config is not None:
        out["toolConfig"] = tool_config
    if config:
        out["generationConfig"] = config
    return out


def _apply(name: str, value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    if name in _DROPPED or name in ("tools", "tool_choice") or value is None:
        return
    if name in _SIMPLE:
        key, kind = _SIMPLE[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidRequestError(f"Invalid type for '{name}'.", param=name, code="invalid_type")
        config[key] = value  # type: ignore[literal-required]
        return
    handler = _HANDLERS.get(name)
    if handler is not None:
        handler(value, body, config)
        return
    if name in _REJECTED:
        if value is False or value == {}:
            return
        raise UnsupportedParameterError(f"'{name}' is not supported by Gemini models.", param=name)
    raise UnsupportedParameterError(f"Unrecognized request argument supplied: {name}", param=name)


def _max_tokens(value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    param = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    chosen = body[param]
    if not isinstance(chosen, int) or isinstance(chosen, bool) or chosen < 1:
        raise InvalidRequestError(f"'{param}' must be a positive integer.", param=param, code="invalid_value")
    config["maxOutputTokens"] = chosen


def _stop(value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise InvalidRequestError("'stop' must be a string or an array of strings.", param="stop")
    if stops:
        config["stopSequences"] = stops


def _response_format(value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return
    if kind == "json_object":
        config["responseMimeType"] = "application/json"
        return
    spec = value.get("json_schema") if isinstance(value, dict) else None
    if kind != "json_schema" or not isinstance(spec, dict):
        raise UnsupportedParameterError(
            "response_format must be text, json_object or json_schema with a json_schema object.",
            param="response_format",
        )
    config["responseMimeType"] = "application/json"
    schema = spec.get("schema")
    if isinstance(schema, dict):
        config["responseJsonSchema"] = schema


def _reasoning_effort(value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    level = _THINKING_LEVELS.get(value) if isinstance(value, str) else None
    if level is None:
        raise UnsupportedParameterError(
            "Gemini thinking levels are minimal, low, medium and high.", param="reasoning_effort"
        )
    config["thinkingConfig"] = {"thinkingLevel": level}  # type: ignore[typeddict-item]


def _parallel_tool_calls(value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    if value is False:
        raise UnsupportedParameterError(
            "Gemini cannot be told to avoid parallel function calls.", param="parallel_tool_calls"
        )


def _service_tier(value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    if value not in ("auto", "default"):
        raise UnsupportedParameterError("Gemini has no service tier to choose here.", param="service_tier")


def _modalities(value: object, body: Mapping[str, Any], config: GenerationConfig) -> None:
    if value != ["text"]:
        raise UnsupportedParameterError("This adapter returns text only.", param="modalities")


_HANDLERS: Mapping[str, Callable[[object, Mapping[str, Any], GenerationConfig], None]] = {
    "max_tokens": _max_tokens,
    "max_completion_tokens": _max_tokens,
    "stop": _stop,
    "response_format": _response_format,
    "reasoning_effort": _reasoning_effort,
    "parallel_tool_calls": _parallel_tool_calls,
    "service_tier": _service_tier,
    "modalities": _modalities,
}


def _declarations(tools: object) -> list[FunctionDeclaration]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise InvalidRequestError("'tools' must be an array.", param="tools")
    out: list[FunctionDeclaration] = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise UnsupportedParameterError("Gemini takes function tools only.", param=f"tools[{i}]")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequestError("A function tool needs a name.", param=f"tools[{i}].function.name")
        declaration: FunctionDeclaration = {"name": name}
        if isinstance(function.get("description"), str):
            declaration["description"] = function["description"]
        if isinstance(function.get("parameters"), dict):
            declaration["parametersJsonSchema"] = function["parameters"]
        out.append(declaration)
    return out


def _tool_config(choice: object, declarations: list[FunctionDeclaration]) -> ToolConfig | None:
    if choice is None or (choice == "none" and not declarations):
        return None
    if not declarations:
        raise InvalidRequestError("'tool_choice' is only allowed when 'tools' are specified.", param="tool_choice")
    config: FunctionCallingConfig
    if isinstance(choice, str) and choice in _MODES:
        config = {"mode": _MODES[choice]}  # type: ignore[typeddict-item]
    else:
        config = {"mode": "ANY", "allowedFunctionNames": [_chosen_name(choice, declarations)]}
    return {"functionCallingConfig": config}


def _chosen_name(choice: object, declarations: list[FunctionDeclaration]) -> str:
    function: JSONObject | None = None
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict):
        function = choice["function"]
    name = function.get("name") if function else None
    if not isinstance(name, str):
        raise UnsupportedParameterError(
            "tool_choice must be 'auto', 'none', 'required' or a named function.", param="tool_choice"
        )
    if name not in {d["name"] for d in declarations}:
        raise InvalidRequestError(f"tool_choice names '{name}', which is not in 'tools'.", param="tool_choice")
    return name
