"""`tools`, `tool_choice`, `parallel_tool_calls` and `response_format` → Anthropic tools (reference §2.2).

Function tools become `{name, description, input_schema}` (`parameters`, or an empty object schema).
`tool_choice` none / auto / required / a named function become `{"type": "none" | "auto" | "any" |
"tool"}`; `parallel_tool_calls: false` becomes `disable_parallel_tool_use: true`.

JSON mode has no field in Anthropic's 2023-06-01 API, so it is emulated as LiteLLM does: a tool
`json_tool_call` whose `input_schema` is the requested schema, which the model must call; the reply
translators turn its input back into `message.content` with `finish_reason: "stop"`. With client
tools and `tool_choice` auto, the model must call one of them or the JSON tool (`any`); with
`tool_choice` none it must call the JSON tool; `required` or a named function force a client tool,
so the JSON tool is not added.

    >>> tools, choice = translate_tools({"tools": [WEATHER], "tool_choice": "required"})
    >>> choice
    {'type': 'any'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.anthropic.wire import JSON_TOOL, ToolChoice, ToolParam

_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_JSON_TYPES = frozenset({"json_object", "json_schema"})


def json_mode(body: Mapping[str, Any]) -> bool:
    """Whether `response_format` asks for JSON, i.e. whether the JSON tool's input is the answer."""
    response_format = body.get("response_format")
    return isinstance(response_format, dict) and response_format.get("type") in _JSON_TYPES


def translate_tools(body: Mapping[str, Any]) -> tuple[list[ToolParam], ToolChoice | None]:
    """The Anthropic `tools` (maybe empty) and `tool_choice` (None: leave it out) for a request body."""
    tools = [_tool(tool, k) for k, tool in enumerate(_list(body.get("tools"), "tools"))]
    names = {tool["name"] for tool in tools}
    choice = _choice(body.get("tool_choice"), names)
    json_tool = _json_tool(body.get("response_format"))
    if json_tool is not None:
        if JSON_TOOL in names:
            raise UnsupportedParameterError(
                f"The tool name '{JSON_TOOL}' is reserved here: it emulates response_format.", param="tools"
            )
        tools, choice = _with_json_tool(tools, choice, json_tool)
    if tools and body.get("parallel_tool_calls") is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    return tools, choice if tools else None


def _list(value: object, param: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnsupportedParameterError(f"'{param}' must be an array.", param=param)
    return value


def _tool(tool: object, k: int) -> ToolParam:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind != "function":
        raise UnsupportedParameterError(
            f"Tools of type '{kind}' are not supported by this upstream; use function tools.", param=f"tools[{k}].type"
        )
    function = tool.get("function") if isinstance(tool, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(function, dict) or not isinstance(name, str) or not name:
        raise UnsupportedParameterError("A function tool needs a 'name'.", param=f"tools[{k}].function.name")
    out: ToolParam = {"name": name, "input_schema": function.get("parameters") or _EMPTY_SCHEMA}
    if function.get("description"):
        out["description"] = str(function["description"])
    return out


def _choice(choice: object, names: set[str]) -> ToolChoice | None:
    if choice is None or (choice in ("auto", "none") and not names):
        return None
    if choice in ("auto", "none"):
        return {"type": "auto" if choice == "auto" else "none"}
    if not names:
        raise UnsupportedParameterError("'tool_choice' needs 'tools'.", param="tool_choice")
    if choice == "required":
        return {"type": "any"}
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if isinstance(choice, dict) and choice.get("type") == "function" and name in names:
        return {"type": "tool", "name": str(name)}
    raise UnsupportedParameterError(
        "'tool_choice' must be 'none', 'auto', 'required' or a function named in 'tools'.", param="tool_choice"
    )


def _json_tool(response_format: object) -> ToolParam | None:
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"name": JSON_TOOL, "description": "Respond with a JSON object.", "input_schema": {"type": "object"}}
    spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
    if kind != "json_schema" or not isinstance(spec, dict):
        raise UnsupportedParameterError(
            "'response_format' must be text, json_object, or json_schema with a 'json_schema' object.",
            param="response_format",
        )
    schema = spec.get("schema") or {"type": "object"}
    if not isinstance(schema, dict) or schema.get("type") != "object":
        # Anthropic's `input_schema` must describe an object (tool_param.py `InputSchemaTyped`).
        raise UnsupportedParameterError(
            "This upstream needs a JSON schema whose root is an object.", param="response_format.json_schema.schema"
        )
    description = spec.get("description") or f"Respond with JSON that matches the schema '{spec.get('name')}'."
    return {"name": JSON_TOOL, "description": str(description), "input_schema": schema}


def _with_json_tool(
    tools: list[ToolParam], choice: ToolChoice | None, json_tool: ToolParam
) -> tuple[list[ToolParam], ToolChoice | None]:
    if choice is not None and choice["type"] in ("any", "tool"):
        return tools, choice
    if tools and (choice is None or choice["type"] == "auto"):
        return [*tools, json_tool], {"type": "any"}
    return [*tools, json_tool], {"type": "tool", "name": JSON_TOOL}
