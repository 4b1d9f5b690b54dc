"""Offline token counting: exact counts, OpenAI's chat and tools rules, images, and no network at first use."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap

import pytest

from llmrelay.accounting import images, tokens

# From OpenAI's cookbook "How to count tokens with tiktoken" (§6 and §7), where each count is checked
# against the prompt_tokens the API reported.
COOKBOOK_CHAT = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]
COOKBOOK_TOOLS_CHAT = [
    {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]
COOKBOOK_TOOLS: list[dict[str, object]] = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]


@pytest.mark.parametrize(
    ("text", "cl100k", "o200k"),
    [
        # The cookbook's published examples…
        ("tiktoken is great!", 6, 6),
        ("antidisestablishmentarianism", 6, 6),
        ("2 + 2 = 4", 7, 7),
        ("お誕生日おめでとう", 9, 8),
        # …and counts from tiktoken 0.14 (encode_ordinary) with OpenAI's vocabulary files.
        ("hello world", 2, 2),
        ("", 0, 0),
        ("<|endoftext|>", 7, 7),
        ("def add(a, b):\n    return a + b\n", 12, 12),
        (" " * 100, 2, 2),
        ("👨\u200d👩\u200d👧\u200d👦", 18, 11),
        ("Привет, мир! Как дела?", 12, 8),
        ("a\ud800b", 3, 3),  # a lone surrogate becomes U+FFFD, as in tiktoken
    ],
)
def test_count_text_is_exact(text: str, cl100k: int, o200k: int) -> None:
    assert tokens.count_text(text, "gpt-4") == cl100k
    assert tokens.count_text(text, "gpt-4o") == o200k
    assert tokens.count_completion(text, "gpt-4o") == o200k


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("ft:gpt-4o-mini:org::abc", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5.1-codex", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("gpt-oss-120b", "o200k_base"),
        ("openai/gpt-4o-mini", "o200k_base"),
        ("GPT-4O", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("claude-sonnet-4-5", "cl100k_base"),
        ("gemini-2.5-flash", "cl100k_base"),
        ("omni-moderation-latest", "cl100k_base"),
    ],
)
def test_encoding_follows_the_model_family(model: str, encoding: str) -> None:
    assert tokens.encoding_for(model) == encoding


@pytest.mark.parametrize(("model", "expected"), [("gpt-3.5-turbo", 129), ("gpt-4", 129), ("gpt-4o", 124)])
def test_count_chat_matches_the_api_on_the_cookbook_example(model: str, expected: int) -> None:
    assert tokens.count_chat(COOKBOOK_CHAT, model) == expected


@pytest.mark.parametrize(("model", "expected"), [("gpt-4", 105), ("gpt-4o-mini", 101)])
def test_count_chat_with_tools_matches_the_api_on_the_cookbook_example(model: str, expected: int) -> None:
    assert tokens.count_chat(COOKBOOK_TOOLS_CHAT, model, tools=COOKBOOK_TOOLS) == expected


def test_count_chat_message_overheads() -> None:
    hi = tokens.count_chat([{"role": "user", "content": "hi"}], "gpt-4o")
    assert hi == 3 + 1 + 1 + 3  # message, "user", "hi", reply priming
    named = tokens.count_chat([{"role": "user", "name": "bob", "content": "hi"}], "gpt-4o")
    assert named == hi + tokens.count_text("bob", "gpt-4o") + 1
    parts = [{"type": "text", "text": "hi"}, {"type": "input_audio", "input_audio": {"data": "AAAA"}}]
    assert tokens.count_chat([{"role": "user", "content": parts}], "gpt-4o") == hi
    assert tokens.count_chat([], "gpt-4o") == 3


def test_count_chat_counts_tool_calls_by_name_and_arguments() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    bare = tokens.count_chat([{"role": "assistant", "content": None}], "gpt-4o")
    with_call = tokens.count_chat([{"role": "assistant", "content": None, "tool_calls": [call]}], "gpt-4o")
    name, arguments = tokens.count_text("get_weather", "gpt-4o"), tokens.count_text('{"city":"Paris"}', "gpt-4o")
    assert with_call == bare + name + arguments


def test_count_chat_tolerates_tools_beyond_the_cookbook_rule() -> None:
    nested: list[dict[str, object]] = [
        {"type": "function", "function": {"name": "f", "parameters": {"properties": {"xs": {"type": "array"}}}}},
        {
            "type": "function",
            "function": {"name": "g", "parameters": {"properties": {"xs": {"items": {"type": "int"}}}}},
        },
        {"type": "custom", "custom": {"name": "grammar"}},
    ]
    base = tokens.count_chat(COOKBOOK_TOOLS_CHAT, "gpt-4o")
    assert tokens.count_chat(COOKBOOK_TOOLS_CHAT, "gpt-4o", tools=nested) > base + tokens.FUNC_END


def _data_url(kind: str, header: bytes) -> str:
    return f"data:image/{kind};base64," + base64.b64encode(header + b"\0" * 64).decode()


PNG_1024 = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (1024).to_bytes(4, "big") + (1024).to_bytes(4, "big")
GIF_300X200 = b"GIF89a" + (300).to_bytes(2, "little") + (200).to_bytes(2, "little")
WEBP_2048X4096 = b"RIFF\0\0\0\0WEBPVP8X" + b"\0" * 8 + (2047).to_bytes(3, "little") + (4095).to_bytes(3, "little")
JPEG_1920X1080 = (
    b"\xff\xd8"
    + b"\xff\xe0\x00\x10JFIF\x00"
    + b"\0" * 9  # an APP0 segment to skip
    + b"\xff\xc0\x00\x11\x08"
    + (1080).to_bytes(2, "big")
    + (1920).to_bytes(2, "big")
)


@pytest.mark.parametrize(
    ("url", "size"),
    [
        (_data_url("png", PNG_1024), (1024, 1024)),
        (_data_url("gif", GIF_300X200), (300, 200)),
        (_data_url("webp", WEBP_2048X4096), (2048, 4096)),
        (_data_url("jpeg", JPEG_1920X1080), (1920, 1080)),
        (_data_url("png", b"not an image"), None),
        ("data:image/png;base64,@@@@", None),
        ("https://example.com/cat.png", None),
    ],
)
def test_image_size_from_a_data_url(url: str, size: tuple[int, int] | None) -> None:
    assert images.image_size(url) == size


@pytest.mark.parametrize(
    ("width", "height", "tiles"),
    [(1024, 1024, 4), (2048, 4096, 6), (512, 512, 1), (513, 513, 4), (128, 64, 1), (1920, 1080, 6)],
)
def test_tile_rule(width: int, height: int, tiles: int) -> None:
    # 1024×1024 → 765 tokens and 2048×4096 → 1105 tokens are the worked examples of OpenAI's vision guide.
    assert images.tile_count(width, height) == tiles


def test_image_parts_in_a_chat() -> None:
    def chat(image_url: dict[str, str], model: str = "gpt-4o") -> int:
        content = [{"type": "image_url", "image_url": image_url}]
        return tokens.count_chat([{"role": "user", "content": content}], model) - 3 - 1 - 3

    assert chat({"url": "https://example.com/a.png", "detail": "low"}) == 85
    assert chat({"url": "https://example.com/a.png", "detail": "low"}, "gpt-4o-mini") == 2833
    assert chat({"url": _data_url("png", PNG_1024), "detail": "high"}) == 765
    assert chat({"url": _data_url("webp", WEBP_2048X4096)}) == 1105
    assert chat({"url": "https://example.com/a.png"}) == 85 + 170 * images.UNKNOWN_SIZE_TILES


def test_first_use_needs_no_network() -> None:
    """A fresh interpreter with every socket refused loads both encodings and counts."""
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network access attempted")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.getaddrinfo = refuse
        socket.create_connection = refuse

        from llmrelay.accounting import tokens

        assert tokens.count_text("hello world", "gpt-4o") == 2
        assert tokens.count_text("お誕生日おめでとう", "gpt-4") == 9
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
