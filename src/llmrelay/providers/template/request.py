r"""OpenAI chat request + `Template` → the upstream request the template's files describe. Pure.

OpenAI field → what happens:

| OpenAI field                            | what happens                                                        |
|-----------------------------------------|---------------------------------------------------------------------|
| `model`                                 | the target's upstream model → `{{model}}`                           |
| `messages`                              | the payload's messages array: one element per message, timestamps   |
|                                         | `timestamp_gap_seconds` apart and the last at the request's time    |
|                                         | (`history: messages`), or one user message whose text folds in the  |
|                                         | system prompt and history (`history: fold`, Qwen2API's envelope)    |
| `messages[].content`                    | strings and text parts; image/audio/file parts → 400 naming them    |
| `system` / `developer` messages         | the template's system role (`roles.system`)                         |
| `tool`/`function` messages, `tool_calls`| 400 naming them: a template has no tool calling                     |
| `stream`                                | `{{stream}}`; an upstream that always streams writes `true` in      |
|                                         | payload.json, and a non-stream client gets the stream assembled     |
| a field named under metadata `params`   | its placeholder; absent or null → the default; required params      |
|                                         | (default null or "") missing → 400 naming it                        |
| `stream_options`, `user`, `metadata`,   | dropped: they change nothing the upstream does                      |
| `store`, `service_tier`, `provider`,    |                                                                     |
| `parallel_tool_calls`,                  |                                                                     |
| `prompt_cache_key`, `safety_identifier` |                                                                     |
| anything else (`temperature`, `tools`…) | 400 naming it (unless it asks for nothing: `n: 1`, `tools: []`…):   |
|                                         | the template has no place for it                                    |

    >>> build(ChatRequest.parse(raw, created=1767225600, request_id="r1"), target, template).url
    'https://chat.qwen.ai/api/v2/chat/completions?chat_id=3f0e7c1a-…'
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote

import orjson

from llmrelay.errors import AuthenticationError, InvalidRequestError, UnsupportedParameterError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.common import ASKS_NOTHING, text_of
from llmrelay.providers.template.spec import PLACEHOLDER, JSONValue, Path, Scalar, Template
from llmrelay.schemas.chat import ChatMessage, ChatRequest

_WHOLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_UUIDS = uuid.UUID("5b0d7c8e-3f1a-4c2b-9e6d-7a8b9c0d1e2f")
"""Namespace of the `{{uuid}}` values: uuid5(namespace, "<request id>/<n>") is unique per request and
occurrence, and the same for the same request, so adapters stay pure and fixtures stay exact."""
_DROPPED = frozenset(
    {
        "stream_options",
        "user",
        "metadata",
        "store",
        "service_tier",
        "provider",
        "parallel_tool_calls",
        "prompt_cache_key",
        "safety_identifier",
    }
)
_SYSTEM_ROLES = frozenset({"system", "developer"})
_LINE_BREAKS = re.compile(r"[\r\n\x00]")
# Qwen2API's envelope for a history the upstream does not keep (src/utils/chat-helpers.js parserMessages):
# earlier turns as JSONL under one heading, the newest under another; a lone message goes as it is.
_HISTORY, _CURRENT = "# Conversation history (JSONL)", "# Current message"


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    text: str


def build(req: ChatRequest, target: Target, template: Template) -> UpstreamRequest:
    """The upstream request; raises a 400 naming the field the template cannot take, 401 without a key."""
    body: Mapping[str, object] = req.body
    check_fields(body, template, target.provider)
    params = resolve_params(body, template)
    values = _Values(req, target, params)
    url_target = PLACEHOLDER.sub(lambda m: quote(values.text(m[1].strip()), safe=""), template.target)
    headers = {name: PLACEHOLDER.sub(lambda m: values.text(m[1].strip()), value) for name, value in template.headers}
    headers.update({k.lower(): v for k, v in target.headers.items()})
    headers.setdefault("content-type", "application/json")
    messages = convert_messages(req.body["messages"], template)
    payload = _Renderer(values, template, messages, req.created).render(template.payload, ())
    return UpstreamRequest(template.method, f"{target.base_url}{url_target}", headers, orjson.dumps(payload))


def check_fields(body: Mapping[str, object], template: Template, provider: str) -> None:
    """400 for the first field the template has no place for (see the module table)."""
    for name, value in body.items():
        if name in ("model", "messages", "stream") or name in _DROPPED or name in template.params or value is None:
            continue
        if value in ASKS_NOTHING.get(name, ()):
            continue
        raise UnsupportedParameterError(
            f"The template provider '{provider}' does not support '{name}': its template has no place for it "
            "(a template takes a field it names under `params` in metadata.json).",
            param=name,
        )


def resolve_params(body: Mapping[str, object], template: Template) -> dict[str, Scalar]:
    """Each declared param: the client's value, else the template's default; required ones must be sent."""
    out: dict[str, Scalar] = {}
    for name, default in template.params.items():
        value = body.get(name)
        if value is None:
            value = default
        if value is None or value == "":
            raise InvalidRequestError(
                f"Missing required parameter: '{name}' (this provider's template needs it in the request body).",
                param=name,
                code="missing_required_parameter",
            )
        if not _same_kind(value, default):
            raise InvalidRequestError(
                f"Invalid type for '{name}': expected {_kind(default)}.", param=name, code="invalid_type"
            )
        if isinstance(value, str) and _LINE_BREAKS.search(value):
            raise InvalidRequestError(
                f"Invalid '{name}': line breaks are not allowed.", param=name, code="invalid_value"
            )
        out[name] = cast(Scalar, value)  # _same_kind proved it is a JSON scalar
    return out


def convert_messages(messages: Sequence[ChatMessage], template: Template) -> list[Message]:
    """OpenAI messages → (role, text) in the template's roles; `fold` makes them one user message."""
    plain: list[Message] = []
    for i, msg in enumerate(messages):
        role = msg["role"]
        if role in _SYSTEM_ROLES:
            role = "system"
        elif role not in ("user", "assistant"):
            raise UnsupportedParameterError(
                f"A template provider has no '{role}' messages: it takes system, developer, user and assistant.",
                param=f"messages[{i}].role",
            )
        for name in ("tool_calls", "function_call"):
            if msg.get(name):
                raise UnsupportedParameterError(
                    "A template provider has no tool calling.", param=f"messages[{i}].{name}"
                )
        plain.append(Message(role, text_of(msg.get("content"), param=f"messages[{i}].content")))
    if template.history == "fold":
        return [Message(template.roles["user"], fold(plain))]
    return [Message(template.roles[m.role], m.text) for m in plain]


def fold(messages: Sequence[Message]) -> str:
    """Qwen2API's envelope: one message → its text; more → JSONL history, then the current message."""
    if len(messages) == 1:
        return messages[0].text
    *history, last = messages
    lines = [_jsonl(m) for m in history if m.text.strip()]
    parts = [_HISTORY, *lines] if lines else []
    if last.text.strip():
        parts += [_CURRENT, _jsonl(last)]
    return "\n".join(parts)


def _jsonl(message: Message) -> str:
    # orjson writes what JavaScript's JSON.stringify writes here: compact, non-ASCII unescaped.
    return orjson.dumps({"role": message.role, "content": message.text}).decode()


class _Values:
    """What each placeholder stands for in one request."""

    def __init__(self, req: ChatRequest, target: Target, params: Mapping[str, Scalar]) -> None:
        self._target = target
        self._request_id = req.request_id
        scheme, _, rest = target.base_url.partition("://")
        self._common: dict[str, JSONValue] = {
            "model": target.model,
            "timestamp": req.created,
            "timestamp_ms": req.created * 1000,
            "request_id": req.request_id,
            "stream": req.stream,
            "origin": f"{scheme}://{rest.split('/', 1)[0]}",
            **params,
        }
        self._count = itertools.count()

    def get(self, name: str, local: Mapping[str, JSONValue] | None = None) -> JSONValue:
        if local is not None and name in local:
            return local[name]
        if name == "uuid":
            return str(uuid.uuid5(_UUIDS, f"{self._request_id}/{next(self._count)}"))
        if name == "api_key":
            return self._api_key()
        return self._common[name]

    def text(self, name: str, local: Mapping[str, JSONValue] | None = None) -> str:
        value = self.get(name, local)
        return value if isinstance(value, str) else orjson.dumps(value).decode()

    def _api_key(self) -> str:
        key = self._target.api_key
        if not key:
            raise AuthenticationError(
                f"The provider '{self._target.provider}' needs an API key: configure its `api_key`, or send yours "
                "as 'Authorization: Bearer <token>' to a provider with `auth: passthrough`.",
                code="missing_api_key",
            )
        if _LINE_BREAKS.search(key):
            raise AuthenticationError("The API key contains a line break.", code="invalid_api_key")
        return key


class _Renderer:
    """payload.json with its placeholders filled and its messages array repeated per message."""

    def __init__(self, values: _Values, template: Template, messages: Sequence[Message], created: int) -> None:
        self._values = values
        self._at = template.messages_at
        self._scopes = [
            _scope(m, i, created - template.gap_seconds * (len(messages) - 1 - i)) for i, m in enumerate(messages)
        ]

    def render(self, node: JSONValue, path: Path, local: Mapping[str, JSONValue] | None = None) -> JSONValue:
        if isinstance(node, str):
            whole = _WHOLE.fullmatch(node)
            if whole is not None:
                return self._values.get(whole[1], local)
            return PLACEHOLDER.sub(lambda m: self._values.text(m[1].strip(), local), node)
        if isinstance(node, list):
            if path == self._at:
                return [self.render(node[0], (*path, 0), scope) for scope in self._scopes]
            return [self.render(item, (*path, i), local) for i, item in enumerate(node)]
        if isinstance(node, dict):
            return {key: self.render(value, (*path, key), local) for key, value in node.items()}
        return node


def _scope(message: Message, index: int, timestamp: int) -> dict[str, JSONValue]:
    """The message placeholders of one element of the messages array."""
    return {
        "role": message.role,
        "content": message.text,
        "index": index,
        "timestamp": timestamp,
        "timestamp_ms": timestamp * 1000,
    }


def _same_kind(value: object, default: object) -> bool:
    if isinstance(value, list | dict):
        return False
    if default is None or default == "":
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, str)


def _kind(default: object) -> str:
    if isinstance(default, bool):
        return "a boolean"
    if isinstance(default, int | float):
        return "a number"
    return "a string" if isinstance(default, str) and default else "a string, number or boolean"
