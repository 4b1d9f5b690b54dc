"""OpenAI and every OpenAI-compatible server: the passthrough adapter."""

from llmrelay.providers.openai.chat import OpenAIChat
from llmrelay.providers.openai.completions import OpenAICompletions
from llmrelay.providers.openai.embeddings import OpenAIEmbeddings
from llmrelay.providers.openai.images import OpenAIImages

__all__ = ["OpenAIChat", "OpenAICompletions", "OpenAIEmbeddings", "OpenAIImages"]
