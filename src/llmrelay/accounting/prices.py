"""Model prices and context windows: configured prices first, then the genai-prices database, and cost.

genai-prices (the pydantic team's price database) ships its data inside the package. It reads no
file and opens no socket when it is imported or asked, and it fetches prices only if a caller starts
its `UpdatePrices`. Its import costs ~70 to 170 ms and ~27 MB, so it is imported at the first lookup
and not with this module: call `preload()` off the event loop at start-up.

    >>> price = ModelPrice.per_1k("0.0015", "0.002")
    >>> cost(price, prompt_tokens=1000, completion_tokens=500)
    Decimal('0.0025')
    >>> lookup("gpt-4o-mini").input_per_mtok
    Decimal('0.15')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, TieredPrices

PER_MTOK = Decimal(1_000_000)
_THOUSAND = Decimal(1000)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens, and the context window in tokens when known.

        >>> mini = ModelPrice(Decimal("0.15"), Decimal("0.6"), cached_input_per_mtok=Decimal("0.075"))
        >>> mini == ModelPrice.per_1k("0.00015", "0.0006", cached_prompt="0.000075")  # the catalog's unit
        True

    `cached_input_per_mtok` is the price of prompt tokens read from the provider's cache; None means
    they cost the same as other prompt tokens.
    """

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None
    context_window: int | None = None

    def __post_init__(self) -> None:
        for name in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, Decimal) and value.is_finite() and value >= 0):
                raise ValueError(f"{name} must be a finite, non-negative Decimal, not {value!r}")
        if self.context_window is not None and self.context_window <= 0:
            raise ValueError(f"context_window must be positive, not {self.context_window!r}")

    @classmethod
    def per_1k(
        cls,
        prompt: Decimal | int | float | str,
        completion: Decimal | int | float | str,
        *,
        cached_prompt: Decimal | int | float | str | None = None,
        context_window: int | None = None,
    ) -> ModelPrice:
        """A price quoted in USD per 1,000 tokens. A float is read by its shortest repr (0.0015 stays 0.0015)."""
        cached = None if cached_prompt is None else _decimal(cached_prompt) * _THOUSAND
        return cls(_decimal(prompt) * _THOUSAND, _decimal(completion) * _THOUSAND, cached, context_window)


def cost(price: ModelPrice, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Decimal:
    """USD for one request. As in OpenAI's usage, `cached_tokens` is the part of `prompt_tokens` read from cache."""
    if min(prompt_tokens, completion_tokens, cached_tokens) < 0 or cached_tokens > prompt_tokens:
        raise ValueError(f"bad token counts: {prompt_tokens=} {completion_tokens=} {cached_tokens=}")
    cached_rate = price.input_per_mtok if price.cached_input_per_mtok is None else price.cached_input_per_mtok
    micro_usd = (
        (prompt_tokens - cached_tokens) * price.input_per_mtok
        + cached_tokens * cached_rate
        + completion_tokens * price.output_per_mtok
    )
    return micro_usd / PER_MTOK


def lookup(
    model: str,
    provider: str | None = None,
    *,
    overrides: Mapping[str, ModelPrice] | None = None,
    at: datetime | None = None,
) -> ModelPrice | None:
    """The price of `model` as a client names it ("gpt-4o-mini", "openai/gpt-4o-mini"); None if unknown.

    `overrides` (configured or catalog prices, keyed by model id) win over the database; a key matches
    the model as sent or without its `provider/` prefix. `provider` narrows the database search when
    genai-prices knows the name (openai, anthropic, google or gemini, groq, cloudflare…); an unknown
    name, such as a provider's configured name, is ignored and the provider is inferred from the model.
    Pass it when known: genai-prices infers the provider only from model names it has rules for, so
    "text-embedding-3-small" is found with provider "openai" (or as "openai/text-embedding-3-small") only.
    `at` picks the price in force then (default: now), for prices that change on a date.

    From the database, a tiered price (Claude and Gemini charge more past 200k prompt tokens) is
    taken at its base tier, and a model priced by something other than tokens gives None.
    """
    if overrides:
        for ref in _refs(model):
            if (price := overrides.get(ref)) is not None:
                return price
    info = _find(model, provider)
    return None if info is None else _from_database(info, at or datetime.now(tz=UTC))


def preload() -> None:
    """Import genai-prices and build its lookup tables now, so no request pays for it."""
    from genai_prices import data_snapshot

    data_snapshot.get_snapshot()


def _refs(model: str) -> Iterator[str]:
    yield model
    head, slash, tail = model.partition("/")
    if slash and head and tail:
        yield tail


def _find(model: str, provider: str | None) -> ModelInfo | None:
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()  # the bundled data, or newer data if someone ran UpdatePrices
    if provider is not None and data_snapshot.find_provider_by_id(snapshot.providers, provider) is None:
        provider = None
    head, slash, tail = model.partition("/")
    attempts = [(model, provider)]
    if slash and tail:
        if provider is None and data_snapshot.find_provider_by_id(snapshot.providers, head) is not None:
            attempts.append((tail, head))
        attempts.append((tail, provider))
    for ref, provider_id in attempts:
        try:
            return snapshot.find_provider_model(ref, None, provider_id, None)[1]
        except LookupError:
            continue
    return None


def _from_database(info: ModelInfo, at: datetime) -> ModelPrice | None:
    from genai_prices.types import ModelPrice as DatabasePrice

    if not isinstance(info.prices, DatabasePrice) and not info.prices:
        return None
    prices = info.get_prices(at)
    input_price = _base(prices.input_mtok)
    if input_price is None:
        return None
    output_price = _base(prices.output_mtok)
    return ModelPrice(
        input_per_mtok=input_price,
        output_per_mtok=Decimal(0) if output_price is None else output_price,
        cached_input_per_mtok=_base(prices.cache_read_mtok),
        context_window=info.context_window,
    )


def _base(price: Decimal | TieredPrices | None) -> Decimal | None:
    return price if price is None or isinstance(price, Decimal) else price.base


def _decimal(value: Decimal | int | float | str) -> Decimal:
    try:
        return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise ValueError(f"not a price: {value!r}") from None
