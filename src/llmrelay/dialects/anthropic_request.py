"""An Anthropic Messages request (`POST /v1/messages`, `/v1/messages/count_tokens`) → an OpenAI chat body.

`check_request` is what every Messages request must pass, whichever upstream serves it (an Anthropic
upstream gets the body untouched, so it stays lenient about block types); `to_chat` translates for
every other upstream and refuses, with a 400 naming the field, what chat cannot carry. Field names
and shapes follow anthropic-sdk-python `types/message_create_params.py` and the `*_param.py` blocks.

| Messages field | chat field |
|---|---|
| `model` | `model` (the relay routes it) |
| `max_tokens` | `max_completion_tokens` (OpenAI's current name; every adapter of ours reads both) |
| `system` (string or text blocks) | one leading `system` message (blocks joined with a blank line) |
| user text / image (base64, url) / document (base64 PDF, plain text) blocks | `text` / `image_url` / `file` / `text` parts |
| `tool_result` blocks | `tool` messages, before the rest of their turn; text joined; `is_error` → content prefixed `Error: `; images → parts of a user message after them |
| assistant text / `tool_use` blocks | `content` / `tool_calls` (`arguments` = the input as JSON) |
| `thinking`, `redacted_thinking` blocks, `cache_control` | dropped: chat has no field for them |
| `tools` (custom: `name`, `description`, `input_schema`) | function tools (`parameters` = `input_schema`); server tools: 400 |
| `tool_choice` auto / any / tool / none | `auto` / `required` / the named function / `none` |
| `tool_choice.disable_parallel_tool_use` | `parallel_tool_calls: false` |
| `temperature`, `top_p` | the same |
| `top_k` | `top_k` (an extra field: vLLM-style servers take it; OpenAI itself refuses it) |
| `stop_sequences` | `stop` |
| `stream` | `stream` + `stream_options.include_usage` (so the final usage is real) |
| `metadata.user_id` | `user` |
| `output_config.format` (`json_schema`) | `response_format: {type: json_schema, json_schema: {name: "output", schema}}` |
| `thinking`, `output_config.effort` | dropped: `reasoning_effort` would make non-reasoning models refuse the request |
| `service_tier`, `speed`, `cache_control`, `context_management`, `diagnostics` | dropped: hints about Anthropic's own serving and caching |
| `provider` | llmrelay's routing pin, as on every route |
| anything else (`container`, `mcp_servers`, …) | 400 `<field>: Extra inputs are not permitted` |

    >>> to_chat({"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "Hi"}]})["messages"]
    [{'role': 'user', 'content': 'Hi'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError

JSON = dict[str, Any]

_ROLES = frozenset({"user", "assistant"})
_FIELDS = frozenset(
    {
        "model", "max_tokens", "messages", "system", "temperature", "top_p", "top_k", "stop_sequences",
        "stream", "tools", "tool_choice", "metadata", "output_config", "provider",
    }
)  # fmt: skip
_DROPPED = frozenset({"thinking", "service_tier", "context_management", "cache_control", "diagnostics", "speed"})
_BLOCKS = frozenset({"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"})
_COUNT_FIELDS = frozenset({"model", "messages", "system", "tools", "tool_choice", "output_config", "provider"})
_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def bad(message: str, param: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


def check_request(body: Mapping[str, Any], *, count: bool = False) -> None:
    """What every Messages request needs (`count`: a count_tokens request, which has no `max_tokens`)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad("model: Field required" if model is None else "model: Input should be a valid string", "model")
    if not count:
        limit = body.get("max_tokens")
        if limit is None:
            raise bad("max_tokens: Field required", "max_tokens")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise bad("max_tokens: Input should be an integer greater than or equal to 1", "max_tokens")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise bad("stream: Input should be a valid boolean", "stream")
    if "provider" in body and not isinstance(body["provider"], str):
        raise bad("provider: Input should be a valid string", "provider")
    messages = body.get("messages")
    if messages is None:
        raise bad("messages: Field required", "messages")
    if not isinstance(messages, list) or not messages:
        raise bad("messages: at least one message is required", "messages")
    for i, message in enumerate(messages):
        _check_message(message, i)


def _check_message(message: object, i: int) -> None:
    if not isinstance(message, dict):
        raise bad(f"messages.{i}: Input should be a valid dictionary", f"messages.{i}")
    if message.get("role") not in _ROLES:
        raise bad(f"messages.{i}.role: Input should be 'user' or 'assistant'", f"messages.{i}.role")
    content = message.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise bad(f"messages.{i}.content: Input should be a valid string or list of blocks", f"messages.{i}.content")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise bad(f"messages.{i}.content.{j}: each block needs a string 'type'", f"messages.{i}.content.{j}")


def translatable_part(body: Mapping[str, Any], *, count: bool = False) -> JSON:
    """A checked body without what chat cannot carry (unknown fields, server tools, other block
    types): what a request that passes through to Anthropic is counted and reserved by."""
    out: JSON = {key: value for key, value in body.items() if key in (_COUNT_FIELDS if count else _FIELDS)}
    tools = body.get("tools")
    if isinstance(tools, list):
        out["tools"] = [t for t in tools if isinstance(t, dict) and t.get("type", "custom") == "custom"]
    turns: list[JSON] = []
    for turn in body["messages"]:
        content = turn["content"]
        if isinstance(content, list):
            content = [block for block in content if block["type"] in _BLOCKS and _plain(block)]
        turns.append({"role": turn["role"], "content": content})
    out["messages"] = turns
    return out


def _plain(block: JSON) -> bool:
    """A document chat cannot carry (a URL or a non-PDF file) is left out with the other blocks."""
    source = block.get("source")
    if block["type"] != "document" or not isinstance(source, dict):
        return True
    return source.get("type") == "text" or source.get("media_type") == "application/pdf"


def to_chat(body: Mapping[str, Any], *, count: bool = False) -> JSON:
    """The chat body for a checked Messages body; `count` builds the prompt of a count_tokens request."""
    _check_fields(body, _COUNT_FIELDS if count else _FIELDS)
    messages = _system(body.get("system"))
    turns: list[JSON] = body["messages"]
    _check_pairing(turns)
    for i, turn in enumerate(turns):
        messages.extend(_turn(turn, i))
    out: JSON = {"model": body["model"], "messages": messages}
    if "provider" in body:
        out["provider"] = body["provider"]
    tools = [_tool(tool, k) for k, tool in enumerate(_array(body.get("tools"), "tools"))]
    choice = _tool_choice(body.get("tool_choice"), {t["function"]["name"] for t in tools})
    if tools:  # chat refuses a tool_choice without tools; without tools none is possible anyway
        out["tools"] = tools
        out.update(choice)
    if count:
        return out
    out["max_completion_tokens"] = body["max_tokens"]
    _sampling(body, out)
    _output_format(body.get("output_config"), out)
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _check_fields(body: Mapping[str, Any], known: frozenset[str]) -> None:
    for name in body:
        if name not in known and name not in _DROPPED:
            raise UnsupportedParameterError(
                f"{name}: Extra inputs are not permitted (this model is not served by Anthropic, "
                "so the request is translated to chat, which has no such field)",
                param=name,
            )


def _array(value: object, param: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(f"{param}: Input should be a valid list", param)
    return value


def _system(system: object) -> list[JSON]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    texts = [_text_of(block, f"system.{k}") for k, block in enumerate(_array(system, "system"))]
    return [{"role": "system", "content": "\n\n".join(texts)}] if texts else []


def _text_of(block: object, param: str) -> str:
    if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
        raise bad(f"{param}: Input should be a text block", param)
    return str(block["text"])


def _check_pairing(turns: Sequence[JSON]) -> None:
    """The API's rule: every `tool_use` is answered by a `tool_result` in the very next turn, and a
    `tool_result` answers a `tool_use` of the turn just before it (chat upstreams need the same)."""
    asked: list[str] = []
    for i, turn in enumerate(turns):
        answered = _ids(turn, "tool_result", "tool_use_id")
        missing = [tool_id for tool_id in asked if tool_id not in answered]
        if missing:
            raise bad(
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
                "in the next message.",
                f"messages.{i}",
            )
        unexpected = [tool_id for tool_id in answered if tool_id not in asked]
        if unexpected:
            raise bad(
                f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {unexpected[0]}. "
                "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
                f"messages.{i}.content",
            )
        asked = _ids(turn, "tool_use", "id") if turn["role"] == "assistant" else []
    if asked:
        raise bad(
            f"messages.{len(turns) - 1}: `tool_use` ids were found without `tool_result` blocks immediately "
            f"after: {', '.join(asked)}. Each `tool_use` block must have a corresponding `tool_result` block "
            "in the next message.",
            f"messages.{len(turns) - 1}",
        )


def _ids(turn: JSON, kind: str, key: str) -> list[str]:
    content = turn["content"]
    return [str(b.get(key)) for b in content if b["type"] == kind] if isinstance(content, list) else []


def _turn(turn: JSON, i: int) -> list[JSON]:
    content = turn["content"]
    if isinstance(content, str):
        return [{"role": turn["role"], "content": content}]
    if turn["role"] == "assistant":
        return _assistant(content, i)
    return _user(content, i)


def _assistant(blocks: list[JSON], i: int) -> list[JSON]:
    texts: list[str] = []
    calls: list[JSON] = []
    for j, block in enumerate(blocks):
        kind, param = block["type"], f"messages.{i}.content.{j}"
        if kind == "text":
            texts.append(_text_of(block, param))
        elif kind == "tool_use":
            calls.append(_tool_call(block, param))
        elif kind not in ("thinking", "redacted_thinking"):
            raise _unsupported_block(kind, param)
    if not texts and not calls:
        return []  # only thinking: nothing chat can carry
    message: JSON = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    return [message]


def _tool_call(block: JSON, param: str) -> JSON:
    call_id, name, tool_input = block.get("id"), block.get("name"), block.get("input")
    if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(tool_input, dict):
        raise bad(f"{param}: a tool_use block needs a string 'id' and 'name' and an object 'input'", param)
    arguments = orjson.dumps(tool_input).decode()
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _user(blocks: list[JSON], i: int) -> list[JSON]:
    results: list[JSON] = []
    parts: list[JSON] = []
    for j, block in enumerate(blocks):
        param = f"messages.{i}.content.{j}"
        if block["type"] == "tool_result":
            results.append(_tool_result(block, param, parts))
        else:
            parts.append(_part(block, param))
    if not parts:
        return results
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*results, {"role": "user", "content": parts[0]["text"]}]
    return [*results, {"role": "user", "content": parts}]


def _part(block: JSON, param: str) -> JSON:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": _text_of(block, param)}
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": _source_url(block.get("source"), f"{param}.source")}}
    if kind == "document":
        return _document(block.get("source"), f"{param}.source")
    raise _unsupported_block(kind, param)


def _source_url(source: object, param: str) -> str:
    kind = source.get("type") if isinstance(source, dict) else None
    if isinstance(source, dict) and kind == "base64":
        media, data = source.get("media_type"), source.get("data")
        if isinstance(media, str) and isinstance(data, str):
            return f"data:{media};base64,{data}"
    if isinstance(source, dict) and kind == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    raise bad(f"{param}: Input tag '{kind}' does not match the expected tags: 'base64', 'url'", param)


def _document(source: object, param: str) -> JSON:
    kind = source.get("type") if isinstance(source, dict) else None
    if isinstance(source, dict) and kind == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    if isinstance(source, dict) and kind == "base64" and source.get("media_type") == "application/pdf":
        url = _source_url(source, param)
        return {"type": "file", "file": {"filename": "document.pdf", "file_data": url}}
    raise UnsupportedParameterError(
        f"{param}: documents must be a base64 PDF or plain text when the model is not served by Anthropic", param=param
    )


def _tool_result(block: JSON, param: str, images: list[JSON]) -> JSON:
    """One `tool` message; images in the result join `images` (chat's tool messages hold text only)."""
    content = block.get("content")
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for k, item in enumerate(_array(content, f"{param}.content")):
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "image":
                images.append(_part(item, f"{param}.content.{k}"))
            else:
                texts.append(_text_of(item, f"{param}.content.{k}"))
    text = "\n".join(texts)
    if block.get("is_error"):
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id")), "content": text}


def _unsupported_block(kind: str, param: str) -> UnsupportedParameterError:
    return UnsupportedParameterError(
        f"{param}: '{kind}' blocks are not supported when the model is not served by Anthropic", param=param
    )


def _tool(tool: object, k: int) -> JSON:
    param = f"tools.{k}"
    if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
        raise bad(f"{param}.name: Field required", f"{param}.name")
    if tool.get("type", "custom") not in ("custom", None):
        raise UnsupportedParameterError(
            f"{param}: the server tool '{tool['type']}' is only available on models served by Anthropic", param=param
        )
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        raise bad(f"{param}.input_schema: Field required", f"{param}.input_schema")
    function: JSON = {"name": tool["name"], "parameters": schema}
    if isinstance(tool.get("description"), str):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _tool_choice(choice: object, names: set[str]) -> JSON:
    if choice is None:
        return {}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or kind not in ("auto", "any", "tool", "none"):
        raise bad("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'")
    out: JSON = {"tool_choice": _CHOICES.get(str(kind))}
    if kind == "tool":
        name = choice.get("name")
        if name not in names:
            raise bad(f"Tool '{name}' not found in provided tools", "tool_choice.name")
        out["tool_choice"] = {"type": "function", "function": {"name": name}}
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False
    return out


def _sampling(body: Mapping[str, Any], out: JSON) -> None:
    for name in ("temperature", "top_p", "top_k"):
        if body.get(name) is not None:
            out[name] = body[name]
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise bad("stop_sequences: Input should be a valid list of strings", "stop_sequences")
        if stops:
            out["stop"] = stops
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad("metadata: Input should be a valid dictionary", "metadata")
    if metadata and metadata.get("user_id"):
        out["user"] = str(metadata["user_id"])


def _output_format(config: object, out: JSON) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise bad("output_config: Input should be a valid dictionary", "output_config")
    spec = config.get("format")
    if spec is None:
        return
    if not isinstance(spec, dict) or spec.get("type") != "json_schema" or not isinstance(spec.get("schema"), dict):
        raise bad("output_config.format: Input should be a json_schema format with a 'schema' object", "output_config")
    out["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": spec["schema"]}}
