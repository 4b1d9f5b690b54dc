"""OpenAI `messages` → Anthropic `system` + alternating `messages` (reference §2.2).

- `system` and `developer` messages, wherever they stand, become the top-level `system`, in order
  (one string, or one text block per message when there are several).
- `user` text and content parts become blocks: `text`; `image_url` as a data URL → a base64 `image`,
  as an http(s) URL → a `url` image; a `file` part holding a PDF data URL → a `document`. Audio,
  `file_id` references and any other part are a 400 naming the part. Empty text parts carry nothing
  and are left out.
- `assistant` messages become the LiteLLM-style `thinking_blocks` they carry (echoed first, unchanged,
  as the API requires when a tool loop continues with thinking on), a text block, then one
  `tool_use` block per `tool_calls` entry (`input` = the parsed `arguments`).
- `tool` messages become `tool_result` blocks in a user turn; the results of a parallel batch and any
  user message after them land in that one turn, results first.
- Consecutive turns of one role are merged: the API combines them anyway (`MessageCreateParamsBase`
  docstring), and a merged turn keeps every `tool_result` right after its `tool_use`.
- Dropped, having no Anthropic equivalent: a message's `name`, an image's `detail`, an assistant
  message's `refusal` and `audio`.

    >>> system, turns = to_anthropic([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}])
    >>> system, turns
    ('Be terse.', [{'role': 'user', 'content': 'Hi'}])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import orjson

from llmrelay.errors import UnsupportedParameterError
from llmrelay.providers.anthropic.wire import (
    Base64Source,
    Block,
    DocumentBlock,
    ImageBlock,
    MessageParam,
    RedactedThinkingBlock,
    Role,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    URLSource,
)
from llmrelay.providers.common import parse_data_url, text_of
from llmrelay.schemas.chat import ChatMessage

_SYSTEM_ROLES = frozenset({"system", "developer"})


def to_anthropic(messages: Sequence[ChatMessage]) -> tuple[str | list[TextBlock] | None, list[MessageParam]]:
    """The top-level `system` (None when there is none) and the alternating turns."""
    system: list[str] = []
    turns: list[tuple[Role, list[Block]]] = []
    for i, message in enumerate(messages):
        role = message["role"]
        if role in _SYSTEM_ROLES:
            text = text_of(message.get("content"), param=f"messages[{i}].content")
            if text:
                system.append(text)
            continue
        target, blocks = _blocks(message, i)
        if turns and turns[-1][0] == target:
            turns[-1][1].extend(blocks)
        else:
            turns.append((target, blocks))
    return _system(system), [_turn(role, blocks) for role, blocks in turns]


def _blocks(message: ChatMessage, i: int) -> tuple[Role, list[Block]]:
    role = message["role"]
    if role == "user":
        return "user", _user_blocks(message.get("content"), i)
    if role == "assistant":
        return "assistant", _assistant_blocks(message, i)
    if role == "tool":
        return "user", [_tool_result(message, i)]
    raise UnsupportedParameterError(
        f"Messages with role '{role}' are not supported by this upstream; use 'tool' messages with 'tool_calls'.",
        param=f"messages[{i}].role",
    )


def _system(texts: list[str]) -> str | list[TextBlock] | None:
    if not texts:
        return None
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": text} for text in texts]


def _turn(role: Role, blocks: list[Block]) -> MessageParam:
    """One turn; a lone text block is sent as the plain string the API also accepts."""
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return {"role": role, "content": blocks[0]["text"]}
    return {"role": role, "content": blocks}


def _text(text: str) -> list[Block]:
    return [{"type": "text", "text": text}] if text else []


def _user_blocks(content: object, i: int) -> list[Block]:
    if content is None:
        return []
    if isinstance(content, str):
        return _text(content)
    if not isinstance(content, list):
        raise UnsupportedParameterError(
            "Message content must be a string or an array of parts.", param=f"messages[{i}].content"
        )
    blocks: list[Block] = []
    for j, part in enumerate(content):
        blocks.extend(_part(part, f"messages[{i}].content[{j}]"))
    return blocks


def _part(part: object, param: str) -> list[Block]:
    kind = part.get("type") if isinstance(part, dict) else None
    if isinstance(part, dict) and kind == "text":
        return _text(str(part.get("text") or ""))
    if isinstance(part, dict) and kind == "image_url":
        return [_image(part.get("image_url"), param)]
    if isinstance(part, dict) and kind == "file":
        return [_document(part.get("file"), param)]
    raise UnsupportedParameterError(f"Content parts of type '{kind}' are not supported by this upstream.", param=param)


def _image(image: object, param: str) -> ImageBlock:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise UnsupportedParameterError("An image_url part needs a string 'url'.", param=f"{param}.image_url.url")
    data = parse_data_url(url)
    if data is not None:
        return {"type": "image", "source": _base64(*data)}
    if url.startswith(("https://", "http://")):
        source: URLSource = {"type": "url", "url": url}
        return {"type": "image", "source": source}
    raise UnsupportedParameterError(
        "Image URLs must be http(s) URLs or base64 data URLs.", param=f"{param}.image_url.url"
    )


def _document(file: object, param: str) -> DocumentBlock:
    data = file.get("file_data") if isinstance(file, dict) else None
    parsed = parse_data_url(data) if isinstance(data, str) else None
    if parsed is None or parsed[0] != "application/pdf":
        raise UnsupportedParameterError(
            "File parts must carry a PDF as a base64 data URL in 'file_data'; file ids are not supported here.",
            param=f"{param}.file",
        )
    return {"type": "document", "source": _base64(*parsed)}


def _base64(media_type: str, data: str) -> Base64Source:
    return {"type": "base64", "media_type": media_type, "data": data}


def _assistant_blocks(message: ChatMessage, i: int) -> list[Block]:
    raw: dict[str, Any] = cast(dict[str, Any], message)
    blocks: list[Block] = _thinking_blocks(raw.get("thinking_blocks"), i)
    blocks.extend(_text(text_of(message.get("content"), param=f"messages[{i}].content")))
    for j, call in enumerate(message.get("tool_calls") or []):
        blocks.append(_tool_use(call, f"messages[{i}].tool_calls[{j}]"))
    return blocks


def _thinking_blocks(given: object, i: int) -> list[Block]:
    if given is None:
        return []
    param = f"messages[{i}].thinking_blocks"
    if not isinstance(given, list):
        raise UnsupportedParameterError("'thinking_blocks' must be an array.", param=param)
    blocks: list[Block] = []
    for block in given:
        kind = block.get("type") if isinstance(block, dict) else None
        if isinstance(block, dict) and kind == "thinking":
            thinking: ThinkingBlock = {
                "type": "thinking",
                "thinking": str(block.get("thinking", "")),
                "signature": str(block.get("signature", "")),
            }
            blocks.append(thinking)
        elif isinstance(block, dict) and kind == "redacted_thinking":
            redacted: RedactedThinkingBlock = {"type": "redacted_thinking", "data": str(block.get("data", ""))}
            blocks.append(redacted)
        else:
            raise UnsupportedParameterError(f"Unknown thinking block type '{kind}'.", param=param)
    return blocks


def _tool_use(call: object, param: str) -> ToolUseBlock:
    call_id = call.get("id") if isinstance(call, dict) else None
    function = call.get("function") if isinstance(call, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(call_id, str) or not isinstance(function, dict) or not isinstance(name, str):
        raise UnsupportedParameterError("A tool call needs an 'id' and a 'function' with a 'name'.", param=param)
    try:
        parsed = orjson.loads(function.get("arguments") or "{}")
    except (orjson.JSONDecodeError, TypeError):
        parsed = None
    if not isinstance(parsed, dict):
        raise UnsupportedParameterError(
            "Tool call arguments must be a JSON object: Anthropic takes tool input as an object.",
            param=f"{param}.function.arguments",
        )
    return {"type": "tool_use", "id": call_id, "name": name, "input": parsed}


def _tool_result(message: ChatMessage, i: int) -> ToolResultBlock:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise UnsupportedParameterError(
            "A 'tool' message needs the 'tool_call_id' it answers.", param=f"messages[{i}].tool_call_id"
        )
    result: ToolResultBlock = {"type": "tool_result", "tool_use_id": call_id}
    text = text_of(message.get("content"), param=f"messages[{i}].content")
    if text:
        result["content"] = text
    return result
