"""The native Google Gemini API (`generativelanguage.googleapis.com`): chat and embeddings."""

from llmrelay.providers.gemini.chat import GeminiChat
from llmrelay.providers.gemini.embeddings import GeminiEmbeddings

__all__ = ["GeminiChat", "GeminiEmbeddings"]
