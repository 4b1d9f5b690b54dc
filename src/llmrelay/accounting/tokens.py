"""Offline token counts in OpenAI's tokenizers: a text, a Chat Completions prompt, a completion.

The gateway counts tokens itself when an upstream reports no usage, and to check a prompt against a
context window. It needs no network: toktok has cl100k_base and o200k_base compiled into its binary,
where stock tiktoken downloads them at first use. Its counts equal tiktoken's: the same token ids on
656 varied texts (Python source, random Unicode from every plane, emoji, whitespace runs), and its
vocabularies, written out, have the sha256 that tiktoken pins for OpenAI's published files.

toktok loads each encoding once and keeps it, so this module holds no state. The first count in an
encoding pays for the load (o200k_base ~0.4 s and ~47 MB, cl100k_base ~0.1 s and ~31 MB): call
`preload()` off the event loop at start-up, or let the first count that needs it load it.

    >>> count_text("hello world", "gpt-4o")
    2
    >>> count_chat([{"role": "user", "content": "hi"}], "gpt-4o-mini")
    8
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal

import toktok  # type: ignore[import-untyped]

from llmrelay.accounting.images import image_tokens

Encoding = Literal["cl100k_base", "o200k_base"]

# The chat format rule of OpenAI's cookbook, "How to count tokens with tiktoken" §6, which checks it
# against the API's usage (github.com/openai/openai-cookbook, examples/How_to_count_tokens_with_tiktoken.ipynb):
TOKENS_PER_MESSAGE = 3  # <|start|>{role/name}\n{content}<|end|>\n
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>

# …and its §7 rule for `tools`, fitted by OpenAI on flat function schemas (per function, property, enum).
FUNC_INIT: Mapping[Encoding, int] = MappingProxyType({"o200k_base": 7, "cl100k_base": 10})
PROP_INIT = 3
PROP_KEY = 3
ENUM_INIT = -3
ENUM_ITEM = 3
FUNC_END = 12

# tiktoken's MODEL_TO_ENCODING families on o200k_base (tiktoken/model.py). gpt-oss uses o200k_harmony,
# which has o200k_base's ranks and differs only in special tokens, so ordinary text counts the same.
_O200K = re.compile(r"(?:ft:)?(?:chatgpt-4o|gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o\d+)(?:[-.:]|$)")
# toktok.truncate() returns the whole input's count and, under its limit, counts in one pass on the
# calling thread (0.4 µs for "hello world"). batch_count() costs ~30 µs per call whatever the batch size.
_NO_LIMIT = 2**62


def encoding_for(model: str) -> Encoding:
    """The encoding a model's tokens are counted in; a `provider/` prefix is ignored.

    o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5, gpt-oss and the o-series. cl100k_base for gpt-4,
    gpt-3.5 and text-embedding-3, and for every other model, where the count is only an estimate.
    """
    name = model.lower().rsplit("/", 1)[-1]
    return "o200k_base" if _O200K.match(name) else "cl100k_base"


def count_text(text: str, model: str) -> int:
    """Tokens of `text` in `model`'s encoding, special-token strings counted as plain text.

    Exact for OpenAI models. For other models (Claude, Gemini, Llama…) it is a cl100k_base estimate:
    their tokenizers are not public or not bundled, and their counts usually differ by 10 to 30%.
    """
    return _count(text, encoding_for(model))


def count_completion(text: str, model: str) -> int:
    """Completion tokens of generated `text`. Hidden reasoning tokens cannot be seen, so they are not counted."""
    return _count(text, encoding_for(model))


def count_chat(
    messages: Sequence[Mapping[str, object]],
    model: str,
    tools: Sequence[Mapping[str, object]] | None = None,
) -> int:
    """Prompt tokens of a Chat Completions request, counted the way OpenAI's cookbook does.

    Each message costs 3 tokens plus the tokens of every string field (role, content, name…), a
    name 1 more, and the reply priming 3. This matches the API's usage for the cookbook's examples
    (129 tokens on gpt-4, 124 on gpt-4o). What the cookbook does not cover is approximated:
    - content parts: text and refusal parts are counted as text, image parts by the tile rule in
      `llmrelay.accounting.images`, and audio and file parts not at all;
    - an assistant's `tool_calls` (and legacy `function_call`): the function name and arguments;
    - `tools`: the cookbook's per-function rule (exact on its example: 101 tokens on gpt-4o, 105
      on gpt-4). Nested schemas (items, properties) add their JSON text, and a tool that is not a
      function adds all of its JSON.
    For models other than OpenAI's the whole count is an estimate (see `count_text`).
    """
    encoding = encoding_for(model)
    total = REPLY_PRIMING + sum(_message_tokens(message, model, encoding) for message in messages)
    if tools:
        total += _tools_tokens(tools, encoding)
    return total


def preload(encodings: Iterable[Encoding] = ("o200k_base", "cl100k_base")) -> None:
    """Load the encodings now, so no request pays for it: run it off the event loop at start-up."""
    for encoding in encodings:
        _count("", encoding)


def _count(text: str, encoding: Encoding) -> int:
    try:
        _, total = toktok.truncate(text, _NO_LIMIT, encoding)
    except UnicodeEncodeError:
        # A lone surrogate (JSON "\ud800") is not UTF-8: replace it with U+FFFD as tiktoken's encode() does.
        valid = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        _, total = toktok.truncate(valid, _NO_LIMIT, encoding)
    return int(total)


def _message_tokens(message: Mapping[str, object], model: str, encoding: Encoding) -> int:
    total = TOKENS_PER_MESSAGE
    for key, value in message.items():
        if isinstance(value, str):
            total += _count(value, encoding) + (TOKENS_PER_NAME if key == "name" else 0)
        elif key == "content" and isinstance(value, list):
            total += sum(_part_tokens(part, model, encoding) for part in value)
        elif key == "tool_calls" and isinstance(value, list):
            total += sum(_call_tokens(call.get("function"), encoding) for call in value if isinstance(call, Mapping))
        elif key == "function_call":
            total += _call_tokens(value, encoding)
    return total


def _part_tokens(part: object, model: str, encoding: Encoding) -> int:
    if isinstance(part, str):
        return _count(part, encoding)
    if not isinstance(part, Mapping):
        return 0
    kind = part.get("type")
    if kind == "image_url":
        image = part.get("image_url")
        return image_tokens(image if isinstance(image, Mapping | str) else "", model)
    text = part.get(kind) if kind in ("text", "refusal") else None
    return _count(text, encoding) if isinstance(text, str) else 0


def _call_tokens(function: object, encoding: Encoding) -> int:
    if not isinstance(function, Mapping):
        return 0
    return sum(_count(value, encoding) for key in ("name", "arguments") if isinstance(value := function.get(key), str))


def _tools_tokens(tools: Sequence[Mapping[str, object]], encoding: Encoding) -> int:
    total = FUNC_END
    for tool in tools:
        function = tool.get("function")
        if isinstance(function, Mapping):
            total += FUNC_INIT[encoding] + _function_tokens(function, encoding)
        else:
            total += _count(_json(tool), encoding)
    return total


def _function_tokens(function: Mapping[str, object], encoding: Encoding) -> int:
    name, description = function.get("name", ""), _without_dot(function.get("description", ""))
    total = _count(f"{name}:{description}", encoding)
    parameters = function.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, Mapping) else None
    if isinstance(properties, Mapping) and properties:
        total += PROP_INIT
        for key, schema in properties.items():
            total += PROP_KEY + _property_tokens(str(key), schema, encoding)
    return total


def _property_tokens(key: str, schema: object, encoding: Encoding) -> int:
    if not isinstance(schema, Mapping):
        return _count(key, encoding)
    kind, description = schema.get("type", ""), _without_dot(schema.get("description", ""))
    total = _count(f"{key}:{kind}:{description}", encoding)
    enum = schema.get("enum")
    if isinstance(enum, list):
        total += ENUM_INIT + sum(ENUM_ITEM + _count(str(item), encoding) for item in enum)
    rest = {k: v for k, v in schema.items() if k not in ("type", "description", "enum")}
    return total + (_count(_json(rest), encoding) if rest else 0)


def _without_dot(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return text.removesuffix(".")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
