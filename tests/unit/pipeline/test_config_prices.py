"""A model entry's `price:` wins over the catalog and genai-prices, in either unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from llmrelay.config.model import Config
from llmrelay.pipeline.accounting import Accounting
from llmrelay.pipeline.context import RequestRecord


def _accounting(price: dict[str, object]) -> Accounting:
    config = Config.model_validate(
        {
            "providers": {"up": {"type": "openai"}},
            "models": [{"name": "mini", "provider": "up", "model": "gpt-4o-mini", "price": price}],
        }
    )
    return Accounting.from_config(config)


def _cost(accounting: Accounting, prompt: int, completion: int, cached: int = 0) -> Decimal | None:
    record = RequestRecord("r")
    record.provider, record.upstream_model = "up", "gpt-4o-mini"
    record.usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    return accounting.cost(record)


def test_config_price_wins_over_genai_prices() -> None:
    accounting = _accounting({"input_per_mtok": 1, "output_per_mtok": 2, "cached_input_per_mtok": 0.5})
    assert _cost(accounting, 1_000_000, 1_000_000, cached=1_000_000) == Decimal("2.5")
    assert _cost(Accounting({"up": "openai"}), 1_000_000, 0) == Decimal("0.15")  # genai-prices' gpt-4o-mini


def test_per_1k_prices_and_unit_mistakes() -> None:
    assert _cost(_accounting({"input_per_1k": 0.001, "output_per_1k": 0.002}), 1000, 1000) == Decimal("0.003")
    with pytest.raises(ValidationError, match="one of them"):
        _accounting({"input_per_mtok": 1, "output_per_1k": 2})
    with pytest.raises(ValidationError, match="input price"):
        _accounting({"output_per_mtok": 1})
    with pytest.raises(ValidationError):
        _accounting({"input_per_mtok": -1})
