"""Prices and context windows: configured overrides, the genai-prices database, cost arithmetic, no network."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from llmrelay.accounting.prices import ModelPrice, cost, lookup

# genai-prices 0.2.3's data; these prices have not changed since the models came out.
KNOWN = {
    "gpt-4o-mini": ModelPrice(Decimal("0.15"), Decimal("0.6"), Decimal("0.075"), 128_000),
    "claude-sonnet-4-5": ModelPrice(Decimal("3"), Decimal("15"), Decimal("0.3"), 200_000),
    "gemini-2.5-flash": ModelPrice(Decimal("0.3"), Decimal("2.5"), Decimal("0.03"), 1_048_576),
}


@pytest.mark.parametrize(("model", "price"), KNOWN.items())
def test_lookup_known_models(model: str, price: ModelPrice) -> None:
    assert lookup(model) == price


@pytest.mark.parametrize("model", [*KNOWN, "gpt-4.1", "o3-mini", "gpt-5", "command-r-plus", "deepseek-chat"])
def test_cost_agrees_with_genai_prices_own_calculation(model: str) -> None:
    price = lookup(model)
    assert price is not None
    expected = calc_price(Usage(input_tokens=1234, output_tokens=567), model).total_price
    assert cost(price, prompt_tokens=1234, completion_tokens=567) == expected


@pytest.mark.parametrize(
    ("model", "provider", "same_as"),
    [
        ("openai/gpt-4o-mini", None, "gpt-4o-mini"),
        ("anthropic/claude-sonnet-4-5", None, "claude-sonnet-4-5"),
        ("google/gemini-2.5-flash", None, "gemini-2.5-flash"),
        ("gpt-4o-mini-2024-07-18", None, "gpt-4o-mini"),
        ("gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        ("gpt-4o-mini", "my-configured-name", "gpt-4o-mini"),  # not a name genai-prices knows: ignored
    ],
)
def test_lookup_tolerates_prefixes_and_provider_names(model: str, provider: str | None, same_as: str) -> None:
    assert lookup(model, provider) == lookup(same_as) is not None


@pytest.mark.parametrize(
    ("model", "provider"),
    [("no-such-model-xyz", None), ("", None), ("gpt-4o-mini", "anthropic"), ("openai/no-such-model", None)],
)
def test_unknown_model_is_none(model: str, provider: str | None) -> None:
    assert lookup(model, provider) is None


def test_provider_finds_what_the_model_name_alone_does_not() -> None:
    embedding = ModelPrice(Decimal("0.02"), Decimal("0"), None, 8192)
    assert lookup("text-embedding-3-small") is None
    assert lookup("text-embedding-3-small", "openai") == embedding
    assert lookup("openai/text-embedding-3-small") == embedding


def test_overrides_win_over_the_database() -> None:
    mine = ModelPrice.per_1k("0.001", "0.002", context_window=4096)
    overrides = {"gpt-4o-mini": mine, "house-model": mine}
    assert lookup("gpt-4o-mini", overrides=overrides) is mine
    assert lookup("openai/gpt-4o-mini", overrides=overrides) is mine
    assert lookup("house-model", overrides=overrides) is mine
    assert lookup("claude-sonnet-4-5", overrides=overrides) == KNOWN["claude-sonnet-4-5"]
    assert lookup("other-house-model", overrides=overrides) is None


def test_per_1k_converts_to_per_million() -> None:
    price = ModelPrice.per_1k("0.0015", 0.002, cached_prompt=Decimal("0.00075"), context_window=16_385)
    assert price == ModelPrice(Decimal("1.5"), Decimal("2"), Decimal("0.75"), 16_385)
    assert ModelPrice.per_1k(0.1, 0.3).input_per_mtok == Decimal("100")  # no binary-float residue
    assert ModelPrice.per_1k(1, 2).output_per_mtok == Decimal("2000")


@pytest.mark.parametrize(
    "build",
    [
        lambda: ModelPrice.per_1k("cheap", "1"),
        lambda: ModelPrice(Decimal("-1"), Decimal("1")),
        lambda: ModelPrice(Decimal("NaN"), Decimal("1")),
        lambda: ModelPrice(Decimal("1"), Decimal("1"), context_window=0),
    ],
)
def test_bad_prices_are_rejected(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"price|must be"):
        build()


def test_cost_arithmetic_is_exact() -> None:
    price = ModelPrice(Decimal("0.15"), Decimal("0.6"), cached_input_per_mtok=Decimal("0.075"))
    # 600 uncached × 0.15 + 400 cached × 0.075 + 500 × 0.6 = 420 micro-dollars
    assert cost(price, prompt_tokens=1000, completion_tokens=500, cached_tokens=400) == Decimal("0.00042")
    no_cache_price = ModelPrice(Decimal("0.15"), Decimal("0.6"))
    assert cost(no_cache_price, 1000, 500, cached_tokens=400) == Decimal("0.00045")
    assert cost(price, 0, 0) == 0
    assert cost(ModelPrice.per_1k("0.0015", "0.002"), 1000, 500) == Decimal("0.0025")


@pytest.mark.parametrize(("prompt", "completion", "cached"), [(-1, 0, 0), (0, -1, 0), (10, 0, 11), (10, 0, -1)])
def test_cost_rejects_impossible_counts(prompt: int, completion: int, cached: int) -> None:
    with pytest.raises(ValueError, match="bad token counts"):
        cost(KNOWN["gpt-4o-mini"], prompt, completion, cached)


def test_first_lookup_needs_no_network() -> None:
    """A fresh interpreter with every socket refused imports genai-prices and looks prices up."""
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network access attempted")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.getaddrinfo = refuse
        socket.create_connection = refuse

        from llmrelay.accounting import prices

        prices.preload()
        assert prices.lookup("gpt-4o-mini").context_window == 128000
        assert prices.lookup("openai/no-such-model") is None
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
