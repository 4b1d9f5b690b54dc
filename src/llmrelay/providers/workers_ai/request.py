"""An OpenAI Chat Completions request → the input of Workers AI's `/ai/run/{model}` (its `messages` form).

Sources: cloudflare-python `types/ai/ai_run_params.py` (`Messages`: messages, max_tokens, temperature,
top_p, top_k, seed, repetition_penalty, frequency_penalty, presence_penalty, tools, response_format,
stream); developers.cloudflare.com/workers-ai features/json-mode and function-calling/traditional; and
Cloudflare's own AI SDK provider (cloudflare/ai packages/workers-ai-provider: `utils.ts`
prepareToolsAndToolChoice, `convert-to-workersai-chat-messages.ts`), which sends the OpenAI tool and
tool-call shapes, `tool_choice`, and images as `image_url` parts (PR #448).

| OpenAI field | what happens on `/ai/run` |
|---|---|
| `model` | the URL path, not the body (`route.py`) |
| `messages` | `developer` → `system`; content parts → a string, or `text` + `image_url` parts when there are images; null content → `""` (the run schema rejects null); assistant `tool_calls` kept as OpenAI's shape; `tool` results keep `tool_call_id` and get the function `name` of the call they answer; user `name` and assistant `refusal` dropped; role `function` → 400 |
| image parts | base64 `data:` URLs only → 400 otherwise (the model schemas: "HTTP URL will not be accepted"); `detail` dropped |
| `stream` | `stream: true` |
| `stream_options` | dropped: the relay frames `include_usage` itself |
| `max_completion_tokens`, `max_tokens` | `max_tokens` (the first wins if both are sent); absent → the model's default (256 for most models) |
| `temperature`, `top_p`, `seed`, `frequency_penalty`, `presence_penalty` | native |
| `top_k`, `repetition_penalty` | Workers AI parameters, passed through |
| `n` | 1 dropped; more → 400 (one answer per call) |
| `stop` | 400: the run input has no stop sequences |
| `tools` | function tools as OpenAI's shape; `strict` dropped (best effort, no guaranteed adherence); other tool types → 400 |
| `tool_choice` | `auto`, `none`, `required` native; a named function → `tools` cut to that one + `required`, as Cloudflare's provider does |
| `parallel_tool_calls` | dropped: the model decides |
| `response_format` | `text` dropped; `json_object` native; `json_schema` → the bare schema Workers AI takes (`name`, `strict` dropped); with `stream` → 400 ("JSON Mode currently doesn't support streaming") |
| `user`, `metadata`, `store`, `service_tier`, `prompt_cache_key`, `safety_identifier` | dropped: no equivalent, no effect on the answer |
| `logprobs` (true), `top_logprobs`, `logit_bias`, `reasoning_effort`, `modalities`, `audio`, `prediction`, `web_search_options`, `functions`, `function_call`, `verbosity`, any other field | 400 naming it |

Models with OpenAI-shaped inputs (gpt-oss, Kimi, GLM…) and every field above that is a 400 here are
reachable through the OpenAI-compatible endpoint: a `v1/` model id, whose body is forwarded as sent.

    >>> run_body(ChatRequest.parse(b'{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":9}'))
    {'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 9}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.common import parse_data_url, text_of
from llmrelay.providers.workers_ai.response import arguments_text
from llmrelay.schemas.chat import ChatRequest

JSON = dict[str, Any]

_NATIVE = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty", "top_k", "repetition_penalty")
_HANDLED = frozenset(
    {"model", "messages", "stream", "max_tokens", "max_completion_tokens", "n", "tools", "tool_choice"}
    | {"response_format", "logprobs", "provider", *_NATIVE}
)
_DROPPED = frozenset(
    {"stream_options", "user", "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"}
    | {"parallel_tool_calls"}
)
_USE_V1 = "Use a 'v1/' model id to reach Workers AI's OpenAI-compatible endpoint instead."


def run_body(req: ChatRequest) -> JSON:
    body = cast(Mapping[str, Any], req.body)
    _reject_unsupported(body)
    out: JSON = {"messages": _messages(body["messages"])}
    for name in _NATIVE:
        if body.get(name) is not None:
            out[name] = body[name]
    limit = next((body[n] for n in ("max_completion_tokens", "max_tokens") if body.get(n) is not None), None)
    if limit is not None:
        out["max_tokens"] = limit
    tools, tool_choice = _tools(body.get("tools"), body.get("tool_choice"))
    if tools:
        out["tools"] = tools
        if tool_choice is not None:
            out["tool_choice"] = tool_choice
    response_format = _response_format(body.get("response_format"), req.stream)
    if response_format is not None:
        out["response_format"] = response_format
    if req.stream:
        out["stream"] = True
    return out


def _reject_unsupported(body: Mapping[str, Any]) -> None:
    for name in body:
        if name not in _HANDLED and name not in _DROPPED:
            raise UnsupportedParameterError(
                f"Workers AI's run endpoint does not support '{name}'. {_USE_V1}", param=name
            )
    if body.get("n") not in (None, 1):
        raise UnsupportedParameterError("Workers AI returns one choice per request; 'n' must be 1.", param="n")
    if body.get("logprobs"):
        raise UnsupportedParameterError(
            f"Workers AI's run endpoint returns no log probabilities. {_USE_V1}", param="logprobs"
        )


def _messages(messages: list[Any]) -> list[JSON]:
    names: dict[str, str] = {}  # tool_call id → function name, from the assistant messages seen so far
    out: list[JSON] = []
    for i, msg in enumerate(messages):
        where, role = f"messages[{i}]", msg["role"]
        if role in ("system", "developer"):
            out.append({"role": "system", "content": text_of(msg.get("content"), param=f"{where}.content")})
        elif role == "user":
            out.append({"role": "user", "content": _user_content(msg.get("content"), where)})
        elif role == "assistant":
            out.append(_assistant(msg, where, names))
        elif role == "tool":
            out.append(_tool_result(msg, where, names))
        else:
            raise UnsupportedParameterError(f"Workers AI has no '{role}' role.", param=f"{where}.role")
    return out


def _user_content(content: object, where: str) -> str | list[JSON]:
    if not isinstance(content, list) or all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return text_of(content, param=f"{where}.content")
    parts: list[JSON] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            parts.append({"type": "image_url", "image_url": {"url": _image_url(part, f"{where}.content[{j}]")}})
        else:
            raise UnsupportedParameterError(
                f"Workers AI takes text and image parts, not '{kind}'.", param=f"{where}.content[{j}]"
            )
    return parts


def _image_url(part: Mapping[str, Any], where: str) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or parse_data_url(url) is None:
        raise UnsupportedParameterError(
            "Workers AI takes images only as base64 data: URLs (its model schemas: 'HTTP URL will not be accepted').",
            param=f"{where}.image_url.url",
        )
    return url


def _assistant(msg: Mapping[str, Any], where: str, names: dict[str, str]) -> JSON:
    out: JSON = {"role": "assistant", "content": text_of(msg.get("content"), param=f"{where}.content")}
    calls = msg.get("tool_calls")
    if not calls:
        return out
    if not isinstance(calls, list):
        raise UnsupportedParameterError("'tool_calls' must be an array.", param=f"{where}.tool_calls")
    native = []
    for j, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or "id" not in call:
            raise UnsupportedParameterError(
                "A tool call needs an id and a function name.", param=f"{where}.tool_calls[{j}]"
            )
        names[str(call["id"])] = function["name"]
        arguments = arguments_text(function.get("arguments"))
        native.append(
            {"id": str(call["id"]), "type": "function", "function": {"name": function["name"], "arguments": arguments}}
        )
    out["tool_calls"] = native
    return out


def _tool_result(msg: Mapping[str, Any], where: str, names: Mapping[str, str]) -> JSON:
    call_id = msg.get("tool_call_id")
    if not isinstance(call_id, str):
        raise UnsupportedParameterError("A tool message needs a 'tool_call_id'.", param=f"{where}.tool_call_id")
    out: JSON = {
        "role": "tool",
        "content": text_of(msg.get("content"), param=f"{where}.content"),
        "tool_call_id": call_id,
    }
    if call_id in names:
        out["name"] = names[call_id]
    return out


def _tools(tools: object, tool_choice: object) -> tuple[list[JSON] | None, str | None]:
    if tools is None:
        if tool_choice not in (None, "none"):
            raise UnsupportedParameterError("'tool_choice' needs 'tools'.", param="tool_choice")
        return None, None
    if not isinstance(tools, list):
        raise UnsupportedParameterError("'tools' must be an array.", param="tools")
    if not tools:
        return _tools(None, tool_choice)
    native = [_tool(tool, i) for i, tool in enumerate(tools)]
    if tool_choice is None or tool_choice in ("auto", "none", "required"):
        return native, tool_choice
    function = tool_choice.get("function") if isinstance(tool_choice, dict) else None
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function" and isinstance(function, dict):
        chosen = [tool for tool in native if tool["function"]["name"] == function.get("name")]
        if chosen:
            return chosen, "required"
    raise UnsupportedParameterError(
        "'tool_choice' must be 'auto', 'none', 'required' or a function named in 'tools'.", param="tool_choice"
    )


def _tool(tool: object, index: int) -> JSON:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
        raise UnsupportedParameterError("Workers AI takes function tools only.", param=f"tools[{index}]")
    if not isinstance(function.get("name"), str) or not function["name"]:
        raise UnsupportedParameterError("A function tool needs a name.", param=f"tools[{index}].function.name")
    kept = {key: function[key] for key in ("name", "description", "parameters") if key in function}
    return {"type": "function", "function": kept}


def _response_format(response_format: object, stream: bool) -> JSON | None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if response_format is None or kind == "text":
        return None
    if kind not in ("json_object", "json_schema"):
        raise UnsupportedParameterError(
            "'response_format' must be text, json_object or json_schema.", param="response_format"
        )
    if stream:
        raise UnsupportedParameterError(
            "Workers AI's JSON mode does not stream (developers.cloudflare.com/workers-ai/features/json-mode); "
            "send the request without 'stream', or without 'response_format'.",
            param="response_format",
        )
    if kind == "json_object":
        return {"type": "json_object"}
    spec = cast(Mapping[str, Any], response_format).get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise UnsupportedParameterError(
            "'response_format.json_schema.schema' must be a JSON Schema object.", param="response_format.json_schema"
        )
    return {"type": "json_schema", "json_schema": schema}
