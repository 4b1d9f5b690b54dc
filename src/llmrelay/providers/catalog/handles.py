"""A catalog handle → the adapter that fits it and the base URL that adapter needs (reference §7.2).

The upstream URL of a catalog model is the catalog URL's scheme and host plus the model's handle. Each
adapter appends its own path to a base URL (DESIGN.md §2), so a handle is cut where that path begins:
`/anthropic/v1/messages` is the anthropic adapter (which appends `/v1/messages`) at base
`scheme://host/anthropic`, and the adapter's URL is then exactly scheme + host + handle.

    >>> resolve_handle("/anthropic/v1/messages", "https://llm.example")
    Route(provider_type='anthropic', capability='chat', base_url='https://llm.example/anthropic', model=None, wrapped=True)
    >>> resolve_handle("/openai/v1/audio/speech", "https://llm.example") is None    # no adapter fits
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Capability = Literal["chat", "embeddings", "images"]

RAW_PREFIX = "/raw"
"""A handle under `/raw` answers with the vendor's body as is, not wrapped (reference §7.3)."""

_SEGMENTS = r"(?P<base>(?:/[^/?#]+)*?)"
_RULES: tuple[tuple[re.Pattern[str], str, Capability], ...] = (
    # Gemini's adapter builds the whole path from the model: `/v1beta/models/M:generateContent`, and
    # `:streamGenerateContent?alt=sse` for streams (reference §7.2: ocp swaps the method the same way).
    (re.compile(_SEGMENTS + r"/v1beta/(?P<model>(?:models|tunedModels)/[^/:?#]+):(?:generateContent|streamGenerateContent)"),
     "gemini", "chat"),
    (re.compile(_SEGMENTS + r"/v1/messages"), "anthropic", "chat"),
    (re.compile(_SEGMENTS + r"/v2/chat"), "cohere", "chat"),
    (re.compile(_SEGMENTS + r"/chat/completions"), "openai", "chat"),
    (re.compile(_SEGMENTS + r"/embeddings"), "openai", "embeddings"),
    (re.compile(_SEGMENTS + r"/v1/ideogram-v3/generate"), "ideogram", "images"),
    # No Recraft handle is documented (reference §7.2): one under `/recraft` is taken to be Recraft's
    # OpenAI-like endpoint, whose adapter keeps Recraft's own values; any other images handle is OpenAI's.
    (re.compile(r"(?P<base>/recraft(?:/[^/?#]+)*?)/images/generations"), "recraft", "images"),
    (re.compile(_SEGMENTS + r"/images/generations"), "openai", "images"),
)  # fmt: skip
"""First match wins. Every pattern must match the whole handle; `base` is what the adapter is given."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a catalog model is served: an adapter type of the registry, its capability, its base URL."""

    provider_type: str
    capability: Capability
    base_url: str
    model: str | None = None
    """The upstream model when the handle names it (Gemini: `models/…`); otherwise the catalog's id."""
    wrapped: bool = True
    """Whether replies come wrapped as `{"response": …}` (every handle not under `/raw`)."""


def resolve_handle(handle: str, origin: str) -> Route | None:
    """The route of `handle` under `origin` (`scheme://host[:port]`), or None when no adapter fits it."""
    raw = handle.startswith(RAW_PREFIX + "/")
    path = handle[len(RAW_PREFIX) :] if raw else handle
    for pattern, provider_type, capability in _RULES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        base = f"{origin}{RAW_PREFIX if raw else ''}{match.group('base')}"
        return Route(provider_type, capability, base, match.groupdict().get("model"), wrapped=not raw)
    return None


def origin_of(url: str) -> str | None:
    """`https://host:8443/models?x=1` → `https://host:8443`; None unless the URL is http(s) with a host."""
    match = re.fullmatch(r"(?P<origin>https?://[^/?#@\s]+)(?:[/?#]\S*)?", url.strip(), re.IGNORECASE)
    return match.group("origin") if match else None
