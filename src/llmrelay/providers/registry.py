"""PROVIDERS: the one table from a provider type name to its adapters. Nothing else branches on a name.

Adding a provider is a module, its fixtures and one line here. A capability an adapter lacks is
`None`, and the relay turns a call for it into one clear 400 before any I/O.

    >>> PROVIDERS["openai"].capabilities()
    {'chat': True, 'completions': True, 'embeddings': True, 'images': True}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from llmrelay.providers.anthropic import AnthropicChat
from llmrelay.providers.anthropic.chat import models_probe as anthropic_probe
from llmrelay.providers.anthropic.inbound import AnthropicMessages
from llmrelay.providers.base import (
    ChatAdapter,
    CompletionsAdapter,
    EmbeddingsAdapter,
    ImagesAdapter,
    Target,
    UpstreamRequest,
)
from llmrelay.providers.bito import DEFAULT_MODELS as BITO_MODELS
from llmrelay.providers.bito import BitoChat
from llmrelay.providers.cohere import CohereChat, CohereEmbeddings
from llmrelay.providers.gemini import GeminiChat, GeminiEmbeddings
from llmrelay.providers.ideogram import IdeogramImages
from llmrelay.providers.openai import OpenAIChat, OpenAICompletions, OpenAIEmbeddings, OpenAIImages
from llmrelay.providers.openai.chat import models_probe as openai_probe
from llmrelay.providers.openai.responses import OpenAIResponses, ResponsesAdapter
from llmrelay.providers.recraft import RecraftImages
from llmrelay.providers.template import TemplateChat
from llmrelay.providers.workers_ai import WorkersAIChat, WorkersAIEmbeddings


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    default_base_url: str
    chat: ChatAdapter | None = None
    embeddings: EmbeddingsAdapter | None = None
    completions: CompletionsAdapter | None = None
    images: ImagesAdapter | None = None
    default_models: tuple[str, ...] = ()
    """Model names the router lists for a provider of this type that has no model entries of its own."""
    probe: Callable[[Target], UpstreamRequest] | None = None
    """A cheap authenticated request whose 2xx shows the upstream is up and the key works
    (`GET /health?probe=1`); None: the type has no live check, /health shows its state instead."""
    messages: AnthropicMessages | None = None
    """Anthropic's Messages API spoken natively: `POST /v1/messages` passes through untouched (only the
    model id changes); None: the request is translated to chat (pipeline/messages.py)."""
    responses: ResponsesAdapter | None = None
    """OpenAI's Responses API spoken natively: `/v1/responses` passes through when the provider's config
    says the upstream has it (`responses_api`); otherwise it is translated to chat (pipeline/responses.py)."""

    def capabilities(self) -> dict[str, bool]:
        return {
            "chat": self.chat is not None,
            "completions": self.completions is not None or self.chat is not None,  # chat-only: via chat
            "embeddings": self.embeddings is not None,
            "images": self.images is not None,
        }


PROVIDERS: Mapping[str, ProviderSpec] = {
    "openai": ProviderSpec(
        default_base_url="https://api.openai.com/v1",
        chat=OpenAIChat(),
        embeddings=OpenAIEmbeddings(),
        completions=OpenAICompletions(),
        images=OpenAIImages(),
        probe=openai_probe,
        responses=OpenAIResponses(),
    ),
    "bito": ProviderSpec(
        default_base_url="https://bitoai.bito.ai",
        chat=BitoChat(),
        default_models=BITO_MODELS,
    ),
    # The keyless local model: the OpenAI adapter in front of transport/local.py's in-process server.
    "local": ProviderSpec(
        default_base_url="local://smollm2",
        chat=OpenAIChat(),
        embeddings=OpenAIEmbeddings(),
        completions=OpenAICompletions(),
    ),
    "anthropic": ProviderSpec(
        default_base_url="https://api.anthropic.com",
        chat=AnthropicChat(),
        probe=anthropic_probe,
        messages=AnthropicMessages(),
    ),
    "cohere": ProviderSpec(
        default_base_url="https://api.cohere.com",
        chat=CohereChat(),
        embeddings=CohereEmbeddings(),
    ),
    "gemini": ProviderSpec(
        default_base_url="https://generativelanguage.googleapis.com",
        chat=GeminiChat(),
        embeddings=GeminiEmbeddings(),
    ),
    "workers_ai": ProviderSpec(
        default_base_url="https://api.cloudflare.com/client/v4",
        chat=WorkersAIChat(),
        embeddings=WorkersAIEmbeddings(),
    ),
    "ideogram": ProviderSpec(default_base_url="https://api.ideogram.ai", images=IdeogramImages()),
    "recraft": ProviderSpec(default_base_url="https://external.api.recraft.ai/v1", images=RecraftImages()),
    # The base URL is the template's (metadata.json scheme + host), unless the provider sets `base_url`.
    "template": ProviderSpec(default_base_url="", chat=TemplateChat()),
    # one entry per provider type, in the order they were added
}
