"""The Responses API (`POST /v1/responses`) as a Chat Completions request: the request half of the
translation the gateway does for providers that have no Responses API of their own. The reply half is
`responses_reply.py`, streams are `responses_stream.py` (shapes: openai-python `types/responses/`).

| Responses | Chat Completions |
|---|---|
| `instructions` | a first `system` message (not carried over by `previous_response_id`, as OpenAI does) |
| `input`: a string | one `user` message |
| `input`: `message` items (role user / system / developer / assistant; string or parts) | messages of that role; `input_text` / `output_text` → text, `input_image` (URL or data URL) → `image_url` |
| `function_call` items | `tool_calls` of one assistant message (with the assistant text right before them) |
| `function_call_output` items | `tool` messages (`tool_call_id` = `call_id`) |
| `reasoning` items | dropped (a chat upstream cannot take them back) |
| `tools`: `{type: function, name, description, parameters, strict}` | `{type: function, function: {...}}`; any other tool type → 400 `tools` |
| `tool_choice` | `none` / `auto` / `required` as they are; `{type: function, name}` → `{type: function, function: {name}}` |
| `text.format` | `response_format`: `json_object`; `json_schema` → `{json_schema: {name, schema, description, strict}}`; `text`: nothing |
| `max_output_tokens` | `max_completion_tokens` |
| `reasoning.effort` | `reasoning_effort` |
| `temperature`, `top_p`, `parallel_tool_calls`, `user`, `safety_identifier`, `prompt_cache_key`, `text.verbosity` | the same field |
| `store`, `metadata`, `previous_response_id`, `include`, `truncation`, `service_tier`, `stream_options` | the gateway's own business (stored responses) or nothing to ask of a chat upstream: not sent |
| `background: true`, `conversation`, `prompt`, `top_logprobs` > 0, `input_file`, `file_id` images, `item_reference` | 400 naming the field: not available on a translated provider |

    >>> req = ResponsesRequest.parse(b'{"model": "m", "input": "hi"}')
    >>> to_chat(req, input_items(req.input, ItemIds("0f")), [])["messages"]
    [{'role': 'user', 'content': 'hi'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.schemas.chat import parse_json_object

JSON = dict[str, Any]

_BOOLEANS = ("stream", "store", "background", "parallel_tool_calls")
_STRINGS = ("previous_response_id", "provider", "user")
_COPIED = ("temperature", "top_p", "parallel_tool_calls", "user", "safety_identifier", "prompt_cache_key")
_MESSAGE_ROLES = frozenset({"user", "assistant", "system", "developer"})
_TOOL_CHOICE_WORDS = frozenset({"none", "auto", "required"})


class ItemIds:
    """Ids of one response and its items: `resp_<token>`, then `msg_<token><n>`, `fc_<token><n>`...
    numbered in the order asked. The caller draws `token` (random hex); this stays deterministic.

        >>> ids = ItemIds("ab12"); ids.response, ids.next("msg"), ids.next("fc")
        ('resp_ab12', 'msg_ab120001', 'fc_ab120002')
    """

    __slots__ = ("_count", "token")

    def __init__(self, token: str) -> None:
        self.token = token
        self._count = 0

    @property
    def response(self) -> str:
        return f"resp_{self.token}"

    def next(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self.token}{self._count:04x}"


class ResponsesRequest:
    """A validated `POST /v1/responses` body: the raw bytes, the parsed body, and what the gateway needs."""

    __slots__ = ("body", "input", "model", "previous_response_id", "raw", "store", "stream")

    def __init__(self, raw: bytes, body: JSON) -> None:
        self.raw = raw
        self.body = body
        self.model: str = body["model"]
        self.stream = bool(body.get("stream"))
        self.store = body.get("store") is not False
        """OpenAI's default: a response is stored unless the request says `store: false`."""
        self.previous_response_id: str | None = body.get("previous_response_id")
        value = body.get("input")
        self.input: str | list[JSON] = value if isinstance(value, str | list) else []

    @classmethod
    def parse(cls, raw: bytes) -> ResponsesRequest:
        """Parse and check the fields the gateway relies on; raises InvalidRequestError naming `param`."""
        body = parse_json_object(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _bad_type("model", model, "a non-empty string")
        value = body.get("input")
        if value is not None and not isinstance(value, str | list):
            raise _bad_type("input", value, "a string or an array of input items")
        for i, item in enumerate(value if isinstance(value, list) else ()):
            if not isinstance(item, dict):
                raise InvalidRequestError(f"Invalid 'input[{i}]': expected an object.", param=f"input[{i}]")
        for name in _BOOLEANS:
            _check(body, name, bool, "a boolean")
        for name in _STRINGS:
            _check(body, name, str, "a string")
        _check(body, "instructions", str, "a string")
        _check(body, "tools", list, "an array")
        _check(body, "metadata", dict, "an object")
        _check(body, "text", dict, "an object")
        _check(body, "max_output_tokens", int, "an integer")
        return cls(raw, body)


def input_items(value: str | Sequence[JSON], ids: ItemIds) -> list[JSON]:
    """The request's `input` as items in the shape OpenAI lists them (`GET .../input_items`): a string
    becomes a user message; every message gets `type`, `id`, `status` and content parts; function
    calls and their outputs get an `id` if they have none."""
    if isinstance(value, str):
        return [_message("user", [{"type": "input_text", "text": value}], ids.next("msg"))]
    items: list[JSON] = []
    for i, item in enumerate(value):
        kind = item.get("type", "message")
        where = f"input[{i}]"
        if kind == "message":
            items.append(_input_message(item, where, ids))
        elif kind == "function_call":
            _need_strings(item, where, ("call_id", "name", "arguments"))
            items.append({"id": ids.next("fc"), "status": "completed", **item})
        elif kind == "function_call_output":
            _need_strings(item, where, ("call_id",))
            if not isinstance(item.get("output"), str | list):
                raise InvalidRequestError(f"Missing required parameter: '{where}.output'.", param=f"{where}.output")
            items.append({"id": ids.next("fco"), "status": "completed", **item})
        elif kind == "reasoning":
            items.append(dict(item))
        else:
            raise UnsupportedParameterError(
                f"Input items of type '{kind}' are not supported for this model.", param=f"{where}.type"
            )
    return items


def _input_message(item: Mapping[str, Any], where: str, ids: ItemIds) -> JSON:
    role = item.get("role")
    if role not in _MESSAGE_ROLES:
        raise InvalidRequestError(
            f"Invalid value for '{where}.role': expected one of user, assistant, system or developer.",
            param=f"{where}.role",
            code="invalid_value",
        )
    content = item.get("content")
    if isinstance(content, str):
        kind = "output_text" if role == "assistant" else "input_text"
        parts: list[JSON] = [{"type": kind, "text": content, **({"annotations": []} if role == "assistant" else {})}]
    elif isinstance(content, list) and all(isinstance(p, dict) for p in content):
        parts = [dict(p) for p in content]
    else:
        raise InvalidRequestError(
            f"Invalid '{where}.content': expected a string or an array of content parts.", param=f"{where}.content"
        )
    message = _message(str(role), parts, str(item.get("id") or ids.next("msg")))
    if item.get("status") is not None:
        message["status"] = item["status"]
    return message


def _message(role: str, content: list[JSON], item_id: str) -> JSON:
    return {"id": item_id, "type": "message", "status": "completed", "role": role, "content": content}


def upstream_input(items: Sequence[JSON]) -> list[JSON]:
    """Stored items to send to an OpenAI Responses upstream that has never seen them: without the ids
    the gateway gave them (the upstream would look those ids up) and without `status`."""
    return [{k: v for k, v in item.items() if k not in ("id", "status")} for item in items]


def to_chat(req: ResponsesRequest, items: Sequence[JSON], history: Sequence[JSON]) -> JSON:
    """The Chat Completions body for `req`: `history` (the stored conversation `previous_response_id`
    names, input and output items) then this request's `items`, after the instructions."""
    body = req.body
    _refuse_unsupported(body)
    messages: list[JSON] = []
    instructions = body.get("instructions")
    if instructions:
        messages.append({"role": "system", "content": instructions})
    _chat_messages([*history, *items], messages, offset=len(history))
    if not any(m["role"] != "system" for m in messages):
        raise InvalidRequestError(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    chat: JSON = {"model": req.model, "messages": messages}
    for name in _COPIED:
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    _tools(body, chat)
    _text(body.get("text"), chat)
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        chat["reasoning_effort"] = reasoning["effort"]
    if body.get("provider") is not None:
        chat["provider"] = body["provider"]
    if req.stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _refuse_unsupported(body: Mapping[str, Any]) -> None:
    if body.get("background") is True:
        raise _unsupported("background", "Background responses are not supported for this model.")
    for name in ("conversation", "prompt"):
        if body.get(name) is not None:
            raise _unsupported(name, f"'{name}' is not supported for this model.")
    top = body.get("top_logprobs")
    if isinstance(top, int) and top > 0:
        raise _unsupported("top_logprobs", "Log probabilities are not supported for this model.")


def _chat_messages(items: Sequence[Mapping[str, Any]], out: list[JSON], offset: int) -> None:
    """Append the chat messages of `items` to `out`; the request's own items start at `offset`."""
    for i, item in enumerate(items):
        kind = item.get("type", "message")
        where = f"input[{i - offset}]"
        if kind == "message":
            role = item["role"]
            text_only = role != "user"
            out.append({"role": role, "content": _chat_content(item["content"], f"{where}.content", text_only)})
        elif kind == "function_call":
            function = {"name": item["name"], "arguments": item["arguments"]}
            call = {"id": item["call_id"], "type": "function", "function": function}
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant" and i > 0 and _joins(items[i - 1]):
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item["output"]
            content = output if isinstance(output, str) else _chat_content(output, f"{where}.output", True)
            out.append({"role": "tool", "tool_call_id": item["call_id"], "content": content})


def _joins(previous: Mapping[str, Any]) -> bool:
    """Whether a function call right after `previous` belongs to the same assistant turn."""
    kind = previous.get("type", "message")
    return kind == "function_call" or (kind == "message" and previous.get("role") == "assistant")


def _chat_content(parts: object, where: str, text_only: bool) -> str | list[JSON]:
    """Content parts as chat content: one string when they are all text, else chat parts (user only)."""
    if isinstance(parts, str):
        return parts
    chat: list[JSON] = []
    for j, part in enumerate(cast(list[JSON], parts)):
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            chat.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "refusal":
            chat.append({"type": "text", "text": str(part.get("refusal", ""))})
        elif kind == "input_image" and not text_only:
            chat.append(_image(part, f"{where}[{j}]"))
        else:
            raise UnsupportedParameterError(
                f"Content parts of type '{kind}' are not supported here for this model.", param=f"{where}[{j}].type"
            )
    if all(p["type"] == "text" for p in chat):
        return "".join(p["text"] for p in chat)
    return chat


def _image(part: Mapping[str, Any], where: str) -> JSON:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        raise UnsupportedParameterError(
            "Only images given by 'image_url' (an http(s) or data URL) are supported for this model.",
            param=f"{where}.image_url",
        )
    image: JSON = {"url": url}
    if part.get("detail") is not None:
        image["detail"] = part["detail"]
    return {"type": "image_url", "image_url": image}


def _tools(body: Mapping[str, Any], chat: JSON) -> None:
    tools = body.get("tools")
    if tools:
        chat["tools"] = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(cast(list[object], tools))]
    choice = body.get("tool_choice")
    if choice is None:
        return
    if isinstance(choice, str) and choice in _TOOL_CHOICE_WORDS:
        chat["tool_choice"] = choice
    elif isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        kind = choice.get("type") if isinstance(choice, dict) else choice
        raise UnsupportedParameterError(
            f"tool_choice '{kind}' is not supported for this model: use none, auto, required or a function.",
            param="tool_choice",
        )


def _tool(tool: object, where: str) -> JSON:
    if not isinstance(tool, dict):
        raise InvalidRequestError(f"Invalid '{where}': expected an object.", param=where)
    kind = tool.get("type")
    if kind != "function":
        raise UnsupportedParameterError(
            f"Tools of type '{kind}' are not supported for this model: only function tools are.", param="tools"
        )
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise InvalidRequestError(f"Missing required parameter: '{where}.name'.", param=f"{where}.name")
    function: JSON = {"name": tool["name"]}
    for name in ("description", "parameters", "strict"):
        if tool.get(name) is not None:
            function[name] = tool[name]
    return {"type": "function", "function": function}


def _text(text: object, chat: JSON) -> None:
    if not isinstance(text, dict):
        return
    if text.get("verbosity") is not None:
        chat["verbosity"] = text["verbosity"]
    fmt = text.get("format")
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return
    if kind == "json_object":
        chat["response_format"] = {"type": "json_object"}
        return
    if kind == "json_schema" and isinstance(fmt, dict):
        if not isinstance(fmt.get("name"), str) or not isinstance(fmt.get("schema"), dict):
            raise InvalidRequestError(
                "A json_schema text format needs a 'name' and a 'schema' object.", param="text.format"
            )
        schema: JSON = {"name": fmt["name"], "schema": fmt["schema"]}
        for name in ("description", "strict"):
            if fmt.get(name) is not None:
                schema[name] = fmt[name]
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}
        return
    raise InvalidRequestError(
        "Invalid value for 'text.format.type': expected one of text, json_object or json_schema.",
        param="text.format.type",
        code="invalid_value",
    )


def _need_strings(item: Mapping[str, Any], where: str, names: Sequence[str]) -> None:
    for name in names:
        if not isinstance(item.get(name), str):
            raise InvalidRequestError(f"Missing required parameter: '{where}.{name}'.", param=f"{where}.{name}")


def _unsupported(param: str, message: str) -> UnsupportedParameterError:
    return UnsupportedParameterError(message, param=param)


def _check(body: Mapping[str, Any], name: str, kind: type, expected: str) -> None:
    value = body.get(name)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise _bad_type(name, value, expected)


def _bad_type(param: str, value: object, expected: str) -> InvalidRequestError:
    if value is None:
        return InvalidRequestError(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    return InvalidRequestError(f"Invalid type for '{param}': expected {expected}.", param=param, code="invalid_type")
