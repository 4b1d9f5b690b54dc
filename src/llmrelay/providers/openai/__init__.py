"""OpenAI and every OpenAI-compatible server: the passthrough adapter."""

from llmrelay.providers.openai.chat import OpenAIChat

__all__ = ["OpenAIChat"]
