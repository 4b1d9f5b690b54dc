"""OpenAI's stream framing (reference §0.1), for every producer of chunks: translated upstreams and
the local model alike.

    >>> framing = Framing(include_usage=True)
    >>> framing.encode(chunk) + framing.end(usage)    # data: {...,"usage":null}, usage chunk, [DONE]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"


def encode_event(obj: object) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def named_event(name: str, data: object) -> bytes:
    """An event with an `event:` line naming it (Anthropic's Messages, OpenAI's Responses and Assistants
    streams), then its `data:`."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class Framing:
    """OpenAI's stream rules (reference §0.1): `usage: null` per chunk and a usage chunk, if asked; [DONE]."""

    __slots__ = ("_include_usage", "_last")

    def __init__(self, include_usage: bool) -> None:
        self._include_usage = include_usage
        self._last: Mapping[str, Any] | None = None

    def encode(self, chunk: Mapping[str, Any]) -> bytes:
        """The chunk as an SSE event; with include_usage, `"usage": null` is added (in place)."""
        self._last = chunk
        if self._include_usage:
            chunk["usage"] = None  # type: ignore[index]
        return encode_event(chunk)

    def end(self, usage: Mapping[str, Any] | None) -> bytes:
        if not self._include_usage or usage is None or self._last is None:
            return DONE
        last: Mapping[str, object] = self._last
        final = {key: last[key] for key in _FINAL_KEYS if key in last}
        final["choices"] = []
        final["usage"] = usage
        return encode_event(final) + DONE


_FINAL_KEYS = ("id", "object", "created", "model", "system_fingerprint", "service_tier")
