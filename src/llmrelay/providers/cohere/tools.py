"""OpenAI `tools`, `tool_choice` and `response_format` → their Cohere Chat v2 fields.

    >>> tool_fields({"tools": [weather], "tool_choice": "required"})
    {'tools': [weather], 'tool_choice': 'REQUIRED'}

Cohere v2 tools have OpenAI's shape minus `strict` (cohere-python `types/tool_v2function.py`:
`name`, `description`, `parameters`); strictness is one request-wide `strict_tools` flag.
`tool_choice` is only `REQUIRED` or `NONE` (cohere-python `v2/types/v2chat_request_tool_choice.py`),
so a named function is emulated: only that tool is sent, with `REQUIRED`, which leaves the model
exactly one tool it must call, as OpenAI's named choice does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay.errors import UnsupportedParameterError

JSONObject = dict[str, Any]

_NO_PARAMETERS: JSONObject = {"type": "object", "properties": {}}


def tool_fields(body: Mapping[str, Any]) -> JSONObject:
    """`tools`, `strict_tools` and `tool_choice` for the Cohere body (empty when no tools were sent)."""
    raw = body.get("tools")
    choice = body.get("tool_choice")
    if raw is None or raw == []:
        if choice not in (None, "none", "auto"):
            raise UnsupportedParameterError("'tool_choice' needs 'tools'.", param="tool_choice")
        return {}
    if not isinstance(raw, list):
        raise UnsupportedParameterError("'tools' must be an array of function tools.", param="tools")
    tools = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(raw)]
    out: JSONObject = {"tools": [cohere for cohere, _ in tools]}
    strict = {is_strict for _, is_strict in tools}
    if strict == {True}:
        out["strict_tools"] = True
    elif len(strict) > 1:
        raise UnsupportedParameterError(
            "Cohere applies 'strict' to all tools or none; set it the same on every tool.", param="tools"
        )
    return _with_choice(out, choice)


def _tool(tool: object, where: str) -> tuple[JSONObject, bool]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise UnsupportedParameterError(f"Tools of type '{kind}' are not supported by Cohere.", param=f"{where}.type")
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(function, dict) or not isinstance(name, str) or not name:
        raise UnsupportedParameterError("A function tool needs a 'function.name'.", param=f"{where}.function.name")
    parameters = function.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise UnsupportedParameterError(
            "'parameters' must be a JSON schema object.", param=f"{where}.function.parameters"
        )
    # Cohere requires `parameters`; OpenAI lets a function without arguments omit it.
    out: JSONObject = {"type": "function", "function": {"name": name, "parameters": parameters or _NO_PARAMETERS}}
    if function.get("description") is not None:
        out["function"]["description"] = function["description"]
    return out, bool(function.get("strict"))


def _with_choice(fields: JSONObject, choice: object) -> JSONObject:
    if choice is None or choice == "auto":
        return fields
    if choice == "none":
        return {**fields, "tool_choice": "NONE"}
    if choice == "required":
        return {**fields, "tool_choice": "REQUIRED"}
    function = choice.get("function") if isinstance(choice, dict) and choice.get("type") == "function" else None
    wanted = function.get("name") if isinstance(function, dict) else None
    if not isinstance(wanted, str):
        raise UnsupportedParameterError(
            "Cohere supports tool_choice 'auto', 'none', 'required' and a named function.", param="tool_choice"
        )
    chosen = [tool for tool in fields["tools"] if tool["function"]["name"] == wanted]
    if not chosen:
        raise UnsupportedParameterError(f"tool_choice names '{wanted}', which is not in 'tools'.", param="tool_choice")
    return {**fields, "tools": chosen, "tool_choice": "REQUIRED"}


def response_format(value: object) -> JSONObject | None:
    """Cohere's `response_format` (cohere-python `types/response_format_v2.py`), or None for plain text."""
    kind = value.get("type") if isinstance(value, dict) else None
    if value is None or kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = value.get("json_schema") if isinstance(value, dict) else None
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or (schema is not None and not isinstance(schema, dict)):
            raise UnsupportedParameterError(
                "'json_schema' must be an object whose 'schema' is a JSON schema.", param="response_format.json_schema"
            )
        return {"type": "json_object", "json_schema": schema} if schema else {"type": "json_object"}
    raise UnsupportedParameterError(
        f"response_format type '{kind}' is not supported by Cohere (text, json_object and json_schema are).",
        param="response_format",
    )
