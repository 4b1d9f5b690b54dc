"""Anthropic's Messages API as an OpenAI chat upstream: a pure translating adapter (reference §2).

    request.py   OpenAI body → Messages body (the table of what each OpenAI field becomes)
    messages.py  messages → system + alternating turns      tools.py  tools, tool_choice, JSON mode
    response.py  Message → chat.completion                   stream.py  events → chunks
    errors.py    error bodies and error events → our errors  wire.py   Anthropic shapes, constants

Anthropic has no embeddings API, so the registry lists chat only.
"""

from llmrelay.providers.anthropic.chat import AnthropicChat

__all__ = ["AnthropicChat"]
