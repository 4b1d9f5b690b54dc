r"""The template language: a provider folder's three files → one checked `Template`. Pure.

config/templates.py reads the folder and expands `${VAR}`; this module says what the contents mean,
and `TemplateError(file, where, problem)` says what is wrong with them. The adapter receives the same
contents as `Target.options["template"]` (canonical JSON) and `load_template` compiles them once.

Placeholders are `{{name}}` (spaces inside allowed) in header.txt and in payload.json string values.
A JSON string that is exactly one placeholder becomes the value itself (a number, a boolean, null);
placeholders inside longer text are replaced by their text (URL-encoded in the request line).

| placeholder                  | value                                                                  |
|------------------------------|------------------------------------------------------------------------|
| `model`                      | the upstream model id                                                  |
| `api_key`                    | the provider's `api_key` (or, with `auth: passthrough`, the client's)  |
| `timestamp`, `timestamp_ms`  | when the gateway received the request (Unix s / ms); inside a message, |
|                              | that message's time: earlier messages `timestamp_gap_seconds` apart    |
| `uuid`                       | a new UUID at each occurrence (derived from the request id)            |
| `request_id`                 | the gateway's request id                                               |
| `stream`                     | whether the client asked to stream (true/false)                        |
| `origin`                     | `scheme://host` of the upstream (for Origin/Referer headers)           |
| a name under `params`        | the client's body field of that name, else the default                 |
| `role`, `content`, `index`   | only inside the messages array: one message's role, text and position  |

The messages array is the one array in payload.json whose single element uses `{{content}}`; that
element is the shape of one message and is repeated for each.

metadata.json keys: `host` (required; `${VAR:-default}` lets tests point it elsewhere), `scheme`
(`https`), `models` (listed by /v1/models when the provider has no model entries), `description`,
`history` (`messages`: one element per OpenAI message; `fold`: one user message carrying the system
prompt and history as text, for upstreams that keep history server-side), `roles` (renames of
`system`/`user`/`assistant`), `timestamp_gap_seconds` (1), `params` (name → default; null or "" means
the client must send it) and `response` (where the reply's text, phase, finish marker and usage are:
`RESPONSE_DEFAULTS` reads OpenAI-style chunks).

    >>> load_template(options["template"]).base_url
    'https://chat.qwen.ai'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast, get_args

import orjson

from llmrelay.schemas.chat import FinishReason

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
Path: TypeAlias = tuple[str | int, ...]
Kind = Literal["content", "reasoning", "drop"]
Scalar: TypeAlias = "str | int | float | bool | None"

BUILTINS = frozenset({"model", "api_key", "timestamp", "timestamp_ms", "uuid", "request_id", "stream", "origin"})
MESSAGE_FIELDS = frozenset({"role", "content", "index"})
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<target>(?:\{\{[^{}]*\}\}|\S)+?)(?: HTTP/\d(?:\.\d)?)?")
_HEADER_LINE = re.compile(r"(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(?P<value>.*?)[ \t]*")
_LINE_END = re.compile(r"\r\n|\r|\n")
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_DROPPED_HEADERS = frozenset({"host", "content-length"})
"""The transport writes these from the URL and the body; a raw capture's copies are ignored."""
_RESERVED_PARAMS = frozenset({"model", "messages", "stream", "provider"})
_METADATA_KEYS = frozenset(
    {"description", "scheme", "host", "models", "history", "roles", "timestamp_gap_seconds", "params", "response"}
)
_ROLES = ("system", "user", "assistant")
_KINDS: tuple[Kind, ...] = ("content", "reasoning", "drop")
_FINISH_REASONS = frozenset(get_args(FinishReason))

RESPONSE_DEFAULTS: Mapping[str, object] = {
    "text": "choices.0.delta.content",
    "message_text": "choices.0.message.content",
    "phase": None,
    "phases": {},
    "finish": "choices.0.finish_reason",
    "finish_values": {"stop": "stop", "length": "length", "content_filter": "content_filter"},
    "prompt_tokens": "usage.prompt_tokens",
    "completion_tokens": "usage.completion_tokens",
    "error_statuses": {},
    "done": "[DONE]",
}
"""metadata.json `response`: dotted paths into each reply object (`choices.0.delta.content`)."""


class TemplateError(ValueError):
    """A broken template: which file, where in it, and what is wrong."""

    def __init__(self, file: str, where: str, problem: str) -> None:
        self.file, self.where, self.problem = file, where, problem
        super().__init__(f"{file}: {where}: {problem}" if where else f"{file}: {problem}")


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """Where the reply's parts are; `phases` sends each phase's text to content, reasoning, or nowhere."""

    text: Path
    message_text: Path
    phase: Path | None
    phases: Mapping[str, Kind]
    finish: Path
    finish_values: Mapping[str, FinishReason]
    prompt_tokens: Path
    completion_tokens: Path
    error_statuses: Mapping[str, int]
    done: str


@dataclass(frozen=True, slots=True)
class Template:
    scheme: str
    host: str
    models: tuple[str, ...]
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    """Lower-cased names, values with placeholders, in header.txt's order."""
    payload: JSONValue
    messages_at: Path
    history: Literal["messages", "fold"]
    roles: Mapping[str, str]
    gap_seconds: int
    params: Mapping[str, Scalar]
    response: ResponseSpec

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"


@functools.lru_cache(maxsize=64)
def load_template(text: str) -> Template:
    """The compiled template of a `Target.options["template"]` document (parsed once per distinct text)."""
    files = orjson.loads(text)
    return compile_template(files["metadata"], files["header"], files["payload"])


def canonical(metadata: JSONValue, header: str, payload: JSONValue) -> str:
    """The one-string form of a template folder that travels in `Target.options["template"]`. Keys keep
    the files' order, so the body goes out in the order payload.json gives."""
    return orjson.dumps({"metadata": metadata, "header": header, "payload": payload}).decode()


def compile_template(metadata: JSONValue, header: str, payload: JSONValue) -> Template:
    """Check the three files' contents and compile them; raises TemplateError naming file and problem."""
    meta = _object(metadata, "metadata.json", "")
    unknown = sorted(set(meta) - _METADATA_KEYS)
    if unknown:
        raise TemplateError("metadata.json", unknown[0], f"unknown key (known: {', '.join(sorted(_METADATA_KEYS))})")
    params = _params(meta.get("params"))
    names = BUILTINS | set(params)
    method, target, headers = parse_header(header, names)
    return Template(
        scheme=_scheme(meta.get("scheme", "https")),
        host=_host(meta.get("host")),
        models=_models(meta.get("models", [])),
        method=method,
        target=target,
        headers=headers,
        payload=payload,
        messages_at=messages_path(payload, names),
        history=_history(meta.get("history", "messages")),
        roles=_roles(meta.get("roles", {})),
        gap_seconds=_gap(meta.get("timestamp_gap_seconds", 1)),
        params=params,
        response=_response(meta.get("response", {})),
    )


def parse_header(text: str, names: frozenset[str] | set[str]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """header.txt → (method, request target, headers): a raw HTTP request line, header lines, then nothing."""
    lines = _LINE_END.split(text)
    number = next((i for i, line in enumerate(lines) if line.strip()), None)
    if number is None:
        raise TemplateError("header.txt", "", "empty: it must start with a request line like 'POST /api/chat HTTP/1.1'")
    request = _REQUEST_LINE.fullmatch(lines[number].strip())
    if request is None:
        raise TemplateError("header.txt", f"line {number + 1}", "not a request line like 'POST /api/chat HTTP/1.1'")
    target = request["target"]
    if not target.startswith("/"):
        raise TemplateError(
            "header.txt",
            f"line {number + 1}",
            "the request target must be a path starting with '/' (the host is metadata.json's)",
        )
    check_placeholders(target, names, "header.txt", f"line {number + 1}")
    return request["method"], target, _header_lines(lines, number + 1, names)


def _header_lines(lines: list[str], start: int, names: frozenset[str] | set[str]) -> tuple[tuple[str, str], ...]:
    headers: dict[str, str] = {}
    for i in range(start, len(lines)):
        line, where = lines[i], f"line {i + 1}"
        if not line.strip():
            extra = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
            if extra is not None:
                raise TemplateError(
                    "header.txt", f"line {extra + 1}", "text after the blank line: the body belongs in payload.json"
                )
            break
        match = _HEADER_LINE.fullmatch(line)
        if match is None or line[0] in " \t":
            raise TemplateError("header.txt", where, "not a header line 'Name: value' (folded lines are not allowed)")
        name = match["name"].lower()
        if name in headers:
            raise TemplateError("header.txt", where, f"header {match['name']!r} is given twice")
        check_placeholders(match["value"], names, "header.txt", where)
        headers[name] = match["value"]
    return tuple((k, v) for k, v in headers.items() if k not in _DROPPED_HEADERS)


def check_placeholders(text: str, names: frozenset[str] | set[str], file: str, where: str) -> None:
    for match in PLACEHOLDER.finditer(text):
        name = match[1].strip()
        if not _NAME.fullmatch(name):
            raise TemplateError(file, where, f"{match[0]!r} is not a placeholder name")
        if name not in names:
            if name in MESSAGE_FIELDS:
                problem = f"{{{{{name}}}}} belongs inside the messages array (the array whose one element uses {{{{content}}}})"
            else:
                problem = f"unknown placeholder {{{{{name}}}}} (known here: {', '.join(sorted(names))})"
            raise TemplateError(file, where, problem)


def messages_path(payload: JSONValue, names: frozenset[str] | set[str]) -> Path:
    """Where the messages go in payload.json (checking every placeholder on the way)."""
    if not isinstance(payload, dict):
        raise TemplateError("payload.json", "", "the body template must be a JSON object")
    found: list[Path] = []
    _scan(payload, (), frozenset(names), found)
    if not found:
        raise TemplateError(
            "payload.json", "", "no place for the messages: add an array whose one element uses {{content}}"
        )
    if len(found) > 1:
        raise TemplateError(
            "payload.json", dotted(found[1]), f"a second messages array (the first is at {dotted(found[0])})"
        )
    return found[0]


def _scan(node: JSONValue, path: Path, names: frozenset[str], found: list[Path]) -> None:
    if isinstance(node, str):
        check_placeholders(node, names, "payload.json", dotted(path))
    elif isinstance(node, list):
        if len(node) == 1 and _mentions(node[0], MESSAGE_FIELDS) and MESSAGE_FIELDS.isdisjoint(names):
            if not _mentions(node[0], frozenset({"content"})):
                raise TemplateError("payload.json", dotted(path), "the message element never uses {{content}}")
            found.append(path)
            _scan(node[0], (*path, 0), names | MESSAGE_FIELDS, found)
            return
        for i, item in enumerate(node):
            _scan(item, (*path, i), names, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if "{{" in key:
                raise TemplateError("payload.json", dotted((*path, key)), "placeholders go in values, not in keys")
            _scan(value, (*path, key), names, found)


def _mentions(node: JSONValue, fields: frozenset[str]) -> bool:
    if isinstance(node, str):
        return any(m[1].strip() in fields for m in PLACEHOLDER.finditer(node))
    if isinstance(node, list):
        return any(_mentions(item, fields) for item in node)
    if isinstance(node, dict):
        return any(_mentions(value, fields) for value in node.values())
    return False


def dotted(path: Path) -> str:
    """("messages", 0, "content") → "messages[0].content"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def parse_path(text: object, where: str) -> Path:
    """A dotted reply path, "choices.0.delta.content" → ("choices", 0, "delta", "content")."""
    if not isinstance(text, str) or not text or any(not part for part in text.split(".")):
        raise TemplateError("metadata.json", where, "must be a dotted path like 'choices.0.delta.content'")
    return tuple(int(part) if part.isdigit() else part for part in text.split("."))


def _object(value: JSONValue, file: str, where: str) -> dict[str, JSONValue]:
    if not isinstance(value, dict):
        raise TemplateError(file, where, "must be a JSON object")
    return value


def _scheme(value: JSONValue) -> str:
    if value not in ("http", "https"):
        raise TemplateError("metadata.json", "scheme", "must be 'http' or 'https'")
    return value


def _host(value: JSONValue) -> str:
    if value is None:
        raise TemplateError("metadata.json", "host", "required: the upstream's host name, e.g. 'chat.qwen.ai'")
    if not isinstance(value, str) or not _HOST.fullmatch(value):
        raise TemplateError("metadata.json", "host", f"not a host name (no scheme, no path): {value!r}")
    return value


def _models(value: JSONValue) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise TemplateError("metadata.json", "models", "must be a list of model names")
    return tuple(cast(list[str], value))


def _history(value: JSONValue) -> Literal["messages", "fold"]:
    if value not in ("messages", "fold"):
        raise TemplateError("metadata.json", "history", "must be 'messages' or 'fold'")
    return cast(Literal["messages", "fold"], value)


def _roles(value: JSONValue) -> Mapping[str, str]:
    roles = _object(value, "metadata.json", "roles")
    for role, name in roles.items():
        if role not in _ROLES or not isinstance(name, str) or not name:
            raise TemplateError(
                "metadata.json", f"roles.{role}", "renames system, user or assistant to a non-empty name"
            )
    return {role: cast(str, roles.get(role, role)) for role in _ROLES}


def _gap(value: JSONValue) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TemplateError("metadata.json", "timestamp_gap_seconds", "must be a whole number of seconds ≥ 0")
    return value


def _params(value: JSONValue) -> Mapping[str, Scalar]:
    params = _object(value if value is not None else {}, "metadata.json", "params")
    for name, default in params.items():
        if not _NAME.fullmatch(name) or name in BUILTINS or name in MESSAGE_FIELDS or name in _RESERVED_PARAMS:
            raise TemplateError("metadata.json", f"params.{name}", "not a usable name (it is reserved or not a name)")
        if isinstance(default, list | dict):
            raise TemplateError("metadata.json", f"params.{name}", "a default is a string, number, boolean or null")
    return cast(Mapping[str, Scalar], params)


def _response(value: JSONValue) -> ResponseSpec:
    given = _object(value, "metadata.json", "response")
    unknown = sorted(set(given) - set(RESPONSE_DEFAULTS))
    if unknown:
        raise TemplateError(
            "metadata.json", f"response.{unknown[0]}", f"unknown key (known: {', '.join(RESPONSE_DEFAULTS)})"
        )
    merged: dict[str, Any] = {**RESPONSE_DEFAULTS, **given}
    phase = merged["phase"]
    return ResponseSpec(
        text=parse_path(merged["text"], "response.text"),
        message_text=parse_path(merged["message_text"], "response.message_text"),
        phase=None if phase is None else parse_path(phase, "response.phase"),
        phases=_mapping(merged["phases"], "response.phases", lambda v: v in _KINDS, "content, reasoning or drop"),
        finish=parse_path(merged["finish"], "response.finish"),
        finish_values=_mapping(
            merged["finish_values"], "response.finish_values", lambda v: v in _FINISH_REASONS, "an OpenAI finish_reason"
        ),
        prompt_tokens=parse_path(merged["prompt_tokens"], "response.prompt_tokens"),
        completion_tokens=parse_path(merged["completion_tokens"], "response.completion_tokens"),
        error_statuses=_mapping(
            merged["error_statuses"],
            "response.error_statuses",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and 400 <= v <= 599,
            "an HTTP status from 400 to 599",
        ),
        done=_done(merged["done"]),
    )


def _mapping(value: object, where: str, ok: Callable[[object], bool], expected: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TemplateError("metadata.json", where, "must be a JSON object")
    for key, item in value.items():
        if not ok(item):
            raise TemplateError("metadata.json", f"{where}.{key}", f"must be {expected}")
    return dict(value)


def _done(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TemplateError("metadata.json", "response.done", "must be the end-of-stream sentinel, e.g. '[DONE]'")
    return value
