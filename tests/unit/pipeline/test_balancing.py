"""Load balancing: each strategy's order over many seeded draws, and the LoadStats that feed them."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import get_args

import pytest

from llmrelay.pipeline.balancing import (
    STRATEGIES,
    ByMeasure,
    LoadStats,
    StrategyName,
    WeightedRandom,
    deployment_key,
    make_strategy,
)
from llmrelay.pipeline.routing import Deployment
from llmrelay.providers.base import Target
from llmrelay.providers.registry import PROVIDERS

DRAWS = 20_000


def deployment(provider: str, weight: int = 1, model: str = "m") -> Deployment:
    target = Target(provider, f"http://{provider}.test/v1", model)
    return Deployment(public_name="m", target=target, spec=PROVIDERS["openai"], weight=weight)


def firsts(order: Sequence[Deployment], picks: list[tuple[Deployment, ...]]) -> dict[str, float]:
    counts = Counter(p[0].target.provider for p in picks)
    return {d.target.provider: counts[d.target.provider] / len(picks) for d in order}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_deployment_key_is_provider_and_upstream_model() -> None:
    assert deployment_key(deployment("openai", model="gpt-4o-mini")) == "openai/gpt-4o-mini"


def test_weighted_random_draws_the_first_by_weight() -> None:
    group = [deployment("a", 5), deployment("b", 3), deployment("c", 2)]
    strategy = WeightedRandom(random.Random(1))
    shares = firsts(group, [strategy.order(group) for _ in range(DRAWS)])
    assert shares == pytest.approx({"a": 0.5, "b": 0.3, "c": 0.2}, abs=0.015)


def test_weighted_random_orders_the_rest_by_weight_too() -> None:
    group = [deployment("a", 1), deployment("b", 1), deployment("c", 8)]
    strategy = WeightedRandom(random.Random(2))
    orders = [strategy.order(group) for _ in range(DRAWS)]
    assert all(sorted(d.target.provider for d in o) == ["a", "b", "c"] for o in orders)
    # P(c second) = P(a first)·8/9 + P(b first)·8/9 = 0.2·8/9 ≈ 0.178
    second_c = sum(o[1].target.provider == "c" for o in orders) / DRAWS
    assert second_c == pytest.approx(0.2 * 8 / 9, abs=0.015)


def test_weight_zero_is_never_first_but_stays_last() -> None:
    group = [deployment("standby", 0), deployment("a", 1), deployment("b", 1)]
    strategy = WeightedRandom(random.Random(3))
    orders = [strategy.order(group) for _ in range(2000)]
    assert all(o[-1].target.provider == "standby" for o in orders)


def test_all_weights_zero_is_uniform() -> None:
    group = [deployment("a", 0), deployment("b", 0)]
    strategy = WeightedRandom(random.Random(4))
    shares = firsts(group, [strategy.order(group) for _ in range(DRAWS)])
    assert shares == pytest.approx({"a": 0.5, "b": 0.5}, abs=0.015)


def test_a_group_of_one_or_none() -> None:
    one = deployment("a")
    assert WeightedRandom().order([one]) == (one,)
    assert WeightedRandom().order([]) == ()


def test_same_seed_same_orders() -> None:
    group = [deployment("a", 2), deployment("b", 1), deployment("c", 1)]
    one, two = WeightedRandom(random.Random(9)), WeightedRandom(random.Random(9))
    assert [one.order(group) for _ in range(50)] == [two.order(group) for _ in range(50)]


def test_least_in_flight_prefers_the_idle_and_splits_ties_by_weight() -> None:
    group = [deployment("a", 3), deployment("b", 1), deployment("c", 1)]
    stats = LoadStats()
    strategy = make_strategy("least_in_flight", stats, random.Random(5))
    stats.started("a/m")
    stats.started("a/m")
    stats.started("b/m")
    assert [d.target.provider for d in strategy.order(group)] == ["c", "b", "a"]
    stats.finished("a/m")
    stats.finished("a/m")
    stats.finished("b/m")
    shares = firsts(group, [strategy.order(group) for _ in range(DRAWS)])
    assert shares == pytest.approx({"a": 0.6, "b": 0.2, "c": 0.2}, abs=0.015)


def test_in_flight_never_goes_below_zero() -> None:
    stats = LoadStats()
    stats.finished("a/m")
    stats.started("a/m")
    assert stats.in_flight("a/m") == 1


def test_lowest_latency_uses_an_ewma_of_time_to_first_byte() -> None:
    stats = LoadStats(alpha=0.5)
    stats.started("a/m")
    stats.finished("a/m", ttfb_s=1.0)
    stats.finished("a/m", ttfb_s=0.2)
    assert stats.latency("a/m") == pytest.approx(0.6)
    stats.finished("a/m", ttfb_s=None)  # a failure with nothing to measure leaves it
    assert stats.latency("a/m") == pytest.approx(0.6)
    assert stats.latency("b/m") is None


def test_lowest_latency_tries_the_unmeasured_then_the_fastest() -> None:
    group = [deployment("slow"), deployment("fast"), deployment("new")]
    stats = LoadStats()
    strategy = make_strategy("lowest_latency", stats, random.Random(6))
    stats.finished("slow/m", ttfb_s=0.9)
    stats.finished("fast/m", ttfb_s=0.1)
    assert [d.target.provider for d in strategy.order(group)] == ["new", "fast", "slow"]
    stats.finished("new/m", ttfb_s=0.5)
    assert [d.target.provider for d in strategy.order(group)] == ["fast", "new", "slow"]


def test_usage_based_prefers_the_fewest_tokens_in_the_last_minute() -> None:
    clock = Clock()
    group = [deployment("a"), deployment("b")]
    stats = LoadStats(now=clock)
    strategy = make_strategy("usage_based", stats, random.Random(7))
    stats.finished("a/m", tokens=500)
    stats.finished("b/m", tokens=300)
    stats.finished("b/m", tokens=300)
    assert [d.target.provider for d in strategy.order(group)] == ["a", "b"]
    clock.now += 30
    stats.finished("a/m", tokens=200)
    assert (stats.tokens("a/m"), stats.tokens("b/m")) == (700, 600)
    assert [d.target.provider for d in strategy.order(group)] == ["b", "a"]
    clock.now += 30  # the first three are a minute old now
    assert (stats.tokens("a/m"), stats.tokens("b/m")) == (200, 0)
    assert [d.target.provider for d in strategy.order(group)] == ["b", "a"]


def test_token_buckets_stay_bounded() -> None:
    clock = Clock()
    stats = LoadStats(now=clock)
    for _ in range(10_000):
        clock.now += 0.05
        stats.finished("a/m", tokens=1)
    assert stats.tokens("a/m") == 1200  # 20 a second for 60 seconds
    assert len(stats._loads["a/m"].seconds) <= 61


def test_snapshot_for_health() -> None:
    stats = LoadStats()
    stats.started("a/m")
    stats.started("b/m")
    stats.finished("b/m", ttfb_s=0.25, tokens=40)
    assert stats.snapshot() == {
        "a/m": {"in_flight": 1, "ttfb_ewma_s": None, "tokens_last_minute": 0},
        "b/m": {"in_flight": 0, "ttfb_ewma_s": 0.25, "tokens_last_minute": 40},
    }


def test_every_config_name_has_a_strategy() -> None:
    assert set(STRATEGIES) == set(get_args(StrategyName))
    stats = LoadStats()
    assert isinstance(make_strategy("weighted_random", stats), WeightedRandom)
    for name in ("least_in_flight", "lowest_latency", "usage_based"):
        assert isinstance(make_strategy(name, stats), ByMeasure)


def test_nonsense_alpha_is_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        LoadStats(alpha=0)
