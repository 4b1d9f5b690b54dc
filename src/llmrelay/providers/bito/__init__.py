"""BITO (reverse-engineered chat API of bito.ai, as "bito2ai"-style proxies use it; reference §6).

`request` holds the "OpenAI field → what happens" table; `response` the stream framing notes.
`DEFAULT_MODELS` are the names /v1/models lists for a bito provider without model entries.
"""

from llmrelay.providers.bito.chat import BitoChat
from llmrelay.providers.bito.request import MODEL_IDS

DEFAULT_MODELS: tuple[str, ...] = tuple(MODEL_IDS)

__all__ = ["DEFAULT_MODELS", "BitoChat"]
