"""Checks of the Assistants API's request fields, each a 400 naming its `param` as OpenAI words it.

>>> metadata({"team": "ml"})        # at most 16 pairs, keys ≤ 64 and values ≤ 512 characters
>>> page(request.query_params)      # limit 1..100 (20), order asc|desc (desc), after, before
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, gateway_of
from llmrelay.errors import InvalidRequestError, NotFoundError, ServerError
from llmrelay.pipeline.auth import Authenticator
from llmrelay.pipeline.context import Principal
from llmrelay.pipeline.run_objects import text_part
from llmrelay.pipeline.runs import Runner
from llmrelay.schemas.chat import parse_json_object
from llmrelay.storage.assistants import JSONObject, Kind, Page
from llmrelay.storage.threads import ThreadStore

TOOL_TYPES = ("function", "file_search", "code_interpreter")
_FORMATS = ("text", "json_object", "json_schema")
_CHOICES = ("none", "auto", "required")


def bad(message: str, param: str | None, code: str | None = "invalid_value") -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code=code)


def reply(body: JSONObject, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


def not_found(what: str, object_id: str) -> NotFoundError:
    return NotFoundError(f"No {what} found with id '{object_id}'.")


async def json_body(request: Request) -> JSONObject:
    return parse_json_object(await request.body())


def store_of(request: Request) -> ThreadStore:
    store = gateway_of(request).threads
    if store is None:
        raise ServerError("The Assistants API is not available: the gateway has no database.")
    return store


def runner_of(request: Request) -> Runner:
    runner = gateway_of(request).runner
    if runner is None:
        raise ServerError("The Assistants API is not available: the gateway has no database.")
    return runner


async def owned(
    request: Request, kind: Kind, object_id: str, key_id: str | None, what: str, **where: str
) -> JSONObject:
    """The object if `key_id` owns it (and it matches `where`); else 404 naming it `what`."""
    found = await store_of(request).get(kind, object_id, key_id, **where)
    if found is None:
        raise not_found(what, object_id)
    return found


async def listed(request: Request, kind: Kind, key_id: str | None, what: str, **where: str) -> Response:
    """A list route's answer: one page (from the query) of OpenAI's cursor list; 400 for a stray cursor."""
    found = await store_of(request).list(kind, key_id, page(request.query_params), **where)
    if found is None:
        raise bad(f"The 'after' or 'before' cursor names no {what} of this list.", "after")
    return reply(found.body())


async def modify_metadata(
    request: Request, kind: Kind, current: JSONObject, headers: Mapping[str, str] | None = None
) -> Response:
    """A modify route that changes only `metadata` (messages, runs): `current` when the body has none."""
    body = await json_body(request)
    if "metadata" not in body:
        return reply(current, headers)
    changes = {"metadata": metadata(body["metadata"])}
    return reply(await store_of(request).update(kind, current["id"], changes) or current, headers)


def page(query: Mapping[str, str]) -> Page:
    limit_text = query.get("limit", "20")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
        raise bad("Invalid 'limit': expected an integer between 1 and 100.", "limit")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise bad("Invalid 'order': expected 'asc' or 'desc'.", "order")
    return Page(int(limit_text), "asc" if order == "asc" else "desc", query.get("after"), query.get("before"))


def metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad(f"Invalid '{param}': expected an object.", param, "invalid_type")
    if len(value) > 16:
        raise bad(f"Invalid '{param}': at most 16 key-value pairs, got {len(value)}.", param)
    for key, item in value.items():
        if len(key) > 64:
            raise bad(f"Invalid '{param}': key '{key[:20]}…' is longer than 64 characters.", param)
        if not isinstance(item, str) or len(item) > 512:
            raise bad(f"Invalid '{param}.{key}': expected a string of at most 512 characters.", f"{param}.{key}")
    return dict(value)


def text(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise bad(f"Invalid '{name}': expected a string of at most {limit} characters.", name)
    return value


def number(body: Mapping[str, Any], name: str, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise bad(f"Invalid '{name}': expected a number between 0 and {high:g}.", name)
    return float(value)


def boolean(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise bad(f"Invalid '{name}': expected a boolean.", name, "invalid_type")
    return value


def count(body: Mapping[str, Any], name: str, low: int = 1) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise bad(f"Invalid '{name}': expected an integer of at least {low}.", name)
    return value


def tools(value: Any, param: str = "tools") -> list[JSONObject]:
    """Function tools (run on the client's side) and the hosted ones, which are stored, not run."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 128:
        raise bad(f"Invalid '{param}': expected an array of at most 128 tools.", param)
    for index, tool in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(tool, dict) or tool.get("type") not in TOOL_TYPES:
            raise bad(f"Invalid '{where}.type': expected one of {', '.join(TOOL_TYPES)}.", f"{where}.type")
        function = tool.get("function")
        if tool["type"] == "function" and (not isinstance(function, dict) or not _function_name(function.get("name"))):
            raise bad(
                f"Invalid '{where}.function.name': expected a-z, A-Z, 0-9, _ or -, at most 64.",
                f"{where}.function.name",
            )
    return value


def _function_name(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= 64 and all(c.isalnum() or c in "_-" for c in name)


def response_format(value: Any) -> str | JSONObject | None:
    if value is None or value == "auto":
        return "auto" if value else None
    if not isinstance(value, dict) or value.get("type") not in _FORMATS:
        raise bad(
            "Invalid 'response_format': expected 'auto' or {type: text | json_object | json_schema}.", "response_format"
        )
    return value


def tool_choice(value: Any) -> str | JSONObject | None:
    if value is None or value in _CHOICES:
        return str(value) if value else None
    function = value.get("function") if isinstance(value, dict) else None
    if isinstance(value, dict) and value.get("type") in ("file_search", "code_interpreter"):
        return value
    if (
        isinstance(value, dict)
        and value.get("type") == "function"
        and isinstance(function, dict)
        and function.get("name")
    ):
        return value
    raise bad(
        "Invalid 'tool_choice': expected none, auto, required or {type: function, function: {name}}.", "tool_choice"
    )


def truncation(value: Any) -> JSONObject | None:
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "auto":
        return {"type": "auto", "last_messages": None}
    last = value.get("last_messages") if isinstance(value, dict) else None
    if kind != "last_messages" or isinstance(last, bool) or not isinstance(last, int) or last < 1:
        raise bad("Invalid 'truncation_strategy': expected {type: auto} or {type: last_messages, last_messages: N ≥ 1}.",
                  "truncation_strategy")  # fmt: skip
    return {"type": "last_messages", "last_messages": last}


def tool_resources(value: Any) -> JSONObject | None:
    if value is not None and not isinstance(value, dict):
        raise bad("Invalid 'tool_resources': expected an object.", "tool_resources", "invalid_type")
    return value


def check_model(gateway: Gateway, principal: Principal, model: Any) -> str:
    """A model the gateway serves and the key may use: 404 model_not_found, 403 model_not_allowed."""
    if not isinstance(model, str) or not model:
        raise bad("Invalid 'model': expected a non-empty string.", "model", "invalid_type")
    Authenticator.authorize(principal, gateway.router.plan(model))
    return model


def content(value: Any, param: str = "content") -> list[JSONObject]:
    """A message's content: a string, or parts of type text, image_url and image_file."""
    if isinstance(value, str):
        return [text_part(value)]
    if not isinstance(value, list) or not value:
        raise bad(f"Invalid '{param}': expected a string or a non-empty array of content parts.", param)
    parts: list[JSONObject] = []
    for index, part in enumerate(value):
        parts.append(_part(part, f"{param}[{index}]"))
    return parts


def _part(part: Any, where: str) -> JSONObject:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text" and isinstance(part.get("text"), str):
        return text_part(part["text"])
    if (
        kind == "image_url"
        and isinstance(part.get("image_url"), dict)
        and isinstance(part["image_url"].get("url"), str)
    ):
        return {"type": "image_url", "image_url": {"detail": "auto", **part["image_url"]}}
    if (
        kind == "image_file"
        and isinstance(part.get("image_file"), dict)
        and isinstance(part["image_file"].get("file_id"), str)
    ):
        return {"type": "image_file", "image_file": {"detail": "auto", **part["image_file"]}}
    raise bad(f"Invalid '{where}': expected a text, image_url or image_file content part.", where)


def message_fields(
    body: Mapping[str, Any], param: str = ""
) -> tuple[str, list[JSONObject], list[JSONObject], dict[str, str]]:
    """role, content, attachments and metadata of a new message."""
    role = body.get("role")
    if role not in ("user", "assistant"):
        raise bad(f"Invalid '{param}role': expected 'user' or 'assistant'.", f"{param}role")
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list):
        raise bad(f"Invalid '{param}attachments': expected an array.", f"{param}attachments")
    return (
        role,
        content(body.get("content"), f"{param}content"),
        attachments,
        metadata(body.get("metadata"), f"{param}metadata"),
    )
