"""PROVIDERS: the one table from a provider type name to its adapters. Nothing else branches on a name.

Adding a provider is a module, its fixtures and one line here. A capability an adapter lacks is
`None`, and the relay turns a call for it into one clear 400 before any I/O.

    >>> PROVIDERS["openai"].capabilities()
    {'chat': True, 'completions': True, 'embeddings': True}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llmrelay.providers.base import ChatAdapter, CompletionsAdapter, EmbeddingsAdapter
from llmrelay.providers.openai import OpenAIChat, OpenAICompletions, OpenAIEmbeddings


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    default_base_url: str
    chat: ChatAdapter | None = None
    embeddings: EmbeddingsAdapter | None = None
    completions: CompletionsAdapter | None = None

    def capabilities(self) -> dict[str, bool]:
        return {
            "chat": self.chat is not None,
            "completions": self.completions is not None,
            "embeddings": self.embeddings is not None,
        }


PROVIDERS: Mapping[str, ProviderSpec] = {
    "openai": ProviderSpec(
        default_base_url="https://api.openai.com/v1",
        chat=OpenAIChat(),
        embeddings=OpenAIEmbeddings(),
        completions=OpenAICompletions(),
    ),
    # The keyless local model: the OpenAI adapter in front of transport/local.py's in-process server.
    "local": ProviderSpec(default_base_url="local://smollm2", chat=OpenAIChat(), completions=OpenAICompletions()),
    # one entry per provider type, in the order they were added
}
