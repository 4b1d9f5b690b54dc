"""Usage and cost at the end of a request: the upstream's usage, or an offline count when it gave none.

Prices come from the model's entry in config (`price:`), else a remote catalog's list for the models it
serves (read at every request: the list refreshes), else genai-prices (accounting/prices.py), looked
up once and kept. Token counts (accounting/tokens.py) fill in usage that an upstream did not report, e.g. a
stream from a provider that never sends usage.

    >>> accounting = Accounting({"up": "openai"})
    >>> accounting.cost(record)        # Decimal('0.0000123') or None when the price is unknown
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from llmrelay.accounting.prices import ModelPrice, cost, lookup
from llmrelay.accounting.tokens import count_chat, count_completion, count_text
from llmrelay.config.model import Config
from llmrelay.pipeline.context import RequestRecord
from llmrelay.providers.catalog import CatalogView
from llmrelay.schemas.chat import ChatRequest, Usage
from llmrelay.schemas.completions import CompletionRequest

_PRICE_PROVIDER = {"gemini": "google", "workers_ai": "cloudflare"}
"""Our provider types whose name differs in genai-prices."""
_MAX_CACHED_PRICES = 4096
"""Model names come from clients (match patterns pass any through): keep the cache bounded."""


class Accounting:
    """`configured` maps (provider name, upstream model id) to the price a model entry in config gives."""

    def __init__(
        self,
        provider_types: Mapping[str, str],
        catalogs: Sequence[CatalogView] = (),
        configured: Mapping[tuple[str, str], ModelPrice] | None = None,
    ) -> None:
        self._types = dict(provider_types)
        self._prices: dict[tuple[str, str], ModelPrice | None] = {}
        self._catalogs = {catalog.name: catalog for catalog in catalogs}
        self._configured = dict(configured or {})

    @classmethod
    def from_config(cls, config: Config, catalogs: Sequence[CatalogView] = ()) -> Accounting:
        configured = {(m.provider, m.upstream_model): ModelPrice(*m.price.per_mtok()) for m in config.models if m.price}
        return cls({name: p.type for name, p in config.providers.items()}, catalogs, configured)

    def price(self, provider: str, model: str) -> ModelPrice | None:
        """The config's price for this deployment, else the catalog's, else genai-prices'."""
        if (configured := self._configured.get((provider, model))) is not None:
            return configured
        catalog = self._catalogs.get(provider)
        if catalog is not None and (listed := _catalog_price(catalog, model)) is not None:
            return listed
        kind = self._types.get(provider, "")
        key = (model, kind)
        if key not in self._prices:
            if len(self._prices) >= _MAX_CACHED_PRICES:
                self._prices.clear()
            self._prices[key] = lookup(model, provider=_PRICE_PROVIDER.get(kind, kind) or None)
        return self._prices[key]

    def cost(self, record: RequestRecord) -> Decimal | None:
        usage = record.usage
        if usage is None or record.provider is None or record.upstream_model is None:
            return None
        price = self.price(record.provider, record.upstream_model)
        if price is None:
            return None
        details = usage.get("prompt_tokens_details") or {}
        cached = int(details.get("cached_tokens") or 0)
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        return cost(price, prompt, completion, min(cached, prompt))


def _catalog_price(catalog: CatalogView, model: str) -> ModelPrice | None:
    """The list's `prompt_price_1k` / `completion_price_1k` (USD per 1,000 tokens) for `model`, if it has one."""
    entry = catalog.listing.find_upstream(model)
    if entry is None or entry.prompt_price_1k is None:
        return None
    completion = entry.completion_price_1k if entry.completion_price_1k is not None else 0
    return ModelPrice.per_1k(entry.prompt_price_1k, completion)


def estimate_chat_usage(req: ChatRequest, model: str, completion_text: str) -> Usage:
    """OpenAI's way of counting, offline: exact for OpenAI models, a cl100k_base estimate for others."""
    prompt = count_chat(req.body.get("messages", []), model, req.body.get("tools"))
    completion = count_completion(completion_text, model)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def estimate_completion_usage(req: CompletionRequest, model: str, completion_text: str) -> Usage:
    """A legacy completion's usage, offline: the prompt's text (or token arrays) and the generated text."""
    prompt_value = req.body.get("prompt", "")
    prompts: list[object] = [prompt_value] if isinstance(prompt_value, str) else list(prompt_value)
    prompt = 0
    for part in prompts:
        if isinstance(part, str):
            prompt += count_text(part, model)
        else:  # a token id, or an array of them
            prompt += len(part) if isinstance(part, list) else 1
    completion = count_completion(completion_text, model)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
