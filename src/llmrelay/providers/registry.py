"""PROVIDERS: the one table from a provider type name to its adapters. Nothing else branches on a name.

Adding a provider is a module, its fixtures and one line here. A capability an adapter lacks is
`None`, and the relay turns a call for it into one clear 400 before any I/O.

    >>> PROVIDERS["openai"].capabilities()
    {'chat': True, 'completions': False, 'embeddings': False}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmrelay.providers.base import ChatAdapter
from llmrelay.providers.openai import OpenAIChat


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    default_base_url: str
    owned_by: str
    chat: ChatAdapter | None = None

    def capabilities(self) -> dict[str, bool]:
        return {"chat": self.chat is not None, "completions": False, "embeddings": False}


PROVIDERS: Mapping[str, ProviderSpec] = {
    "openai": ProviderSpec(default_base_url="https://api.openai.com/v1", owned_by="openai", chat=OpenAIChat()),
}
