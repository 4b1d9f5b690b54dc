"""Cohere (Chat API v2 and Embed v2): a translating adapter (reference §4)."""

from llmrelay.providers.cohere.chat import CohereChat
from llmrelay.providers.cohere.embeddings import CohereEmbeddings

__all__ = ["CohereChat", "CohereEmbeddings"]
