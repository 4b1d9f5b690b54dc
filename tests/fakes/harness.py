"""What the provider integration tests share: the function tools they send through the gateway to a fake.

    WEATHER = function_tool("get_weather", city="string")
    client.chat.completions.create(model="claude", messages=HELLO, tools=[WEATHER], tool_choice="required")

The fixtures that serve each fake and build its gateway stay in each test module: their names and
configs differ, and a fixture factory would hide which fixture a test depends on. The one pair several
modules share unchanged, ``claude_server`` / ``claude``, lives in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

from openai.types.chat import ChatCompletionFunctionToolParam


def function_tool(name: str, **properties: str) -> ChatCompletionFunctionToolParam:
    """A function tool whose parameters are the given properties (name → JSON type), all required."""
    schema: dict[str, object] = {
        "type": "object",
        "properties": {k: {"type": v} for k, v in properties.items()},
        "required": [*properties],
    }
    return {"type": "function", "function": {"name": name, "description": f"The {name} tool", "parameters": schema}}
