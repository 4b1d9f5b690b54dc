"""Model name → plan: exact entries, weighted groups, provider pins, prefixes, match patterns, 404."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from llmrelay.config.load import ConfigError, validate
from llmrelay.errors import ModelNotFoundError, NotFoundError
from llmrelay.pipeline.routing import Router

BASE: dict[str, Any] = {
    "providers": {
        "a": {"type": "openai", "base_url": "http://127.0.0.1:1/v1/", "api_key": "ka", "match": ["gpt-*"]},
        "b": {"type": "openai", "base_url": "http://127.0.0.1:2/v1", "auth": "passthrough"},
    },
    "models": [
        {"name": "m", "provider": "a", "model": "up-m", "weight": 3},
        {"name": "m", "provider": "b", "weight": 1},
        {"name": "accounts/fireworks/models/x", "provider": "b"},
    ],
}


def router(raw: dict[str, Any] = BASE, source: str = "test.yaml") -> Router:
    return Router(validate(raw, source))


def test_exact_entry_resolves_target() -> None:
    plan = router().plan("accounts/fireworks/models/x")
    target = plan.first.target
    assert (target.provider, target.model, target.base_url) == (
        "b",
        "accounts/fireworks/models/x",
        "http://127.0.0.1:2/v1",
    )
    assert plan.first.passthrough_auth


def test_weighted_group_draws_by_weight_and_keeps_the_rest_for_fallback() -> None:
    r = router()
    firsts = Counter(r.plan("m").first.target.provider for _ in range(4000))
    assert 0.70 < firsts["a"] / 4000 < 0.80
    plan = r.plan("m")
    assert {d.target.provider for d in plan.deployments} == {"a", "b"}
    assert next(d for d in plan.deployments if d.target.provider == "a").target.model == "up-m"


def test_provider_pin_prefix_and_match() -> None:
    r = router()
    assert r.plan("m", "b").first.target.provider == "b"
    assert r.plan("anything", "a").first.target.model == "anything"
    assert r.plan("a/some-model").first.target.model == "some-model"
    assert r.plan("gpt-4.1-nano").first.target.provider == "a"


def test_unknown_model_says_what_was_tried() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        router().plan("x/nope")
    error = caught.value
    assert (error.status_code, error.code, error.param) == (404, "model_not_found", "model")
    assert "no model entry" in error.message
    assert "'x' is not a configured provider" in error.message
    assert "gpt-*" in error.message


def test_unknown_provider_pin_is_404_provider_not_found() -> None:
    with pytest.raises(NotFoundError) as pinned:
        router().plan("m", "zzz")
    assert (pinned.value.status_code, pinned.value.code, pinned.value.param) == (404, "provider_not_found", "provider")
    assert "a, b" in pinned.value.message


def test_selection_order_pin_then_exact_then_prefix_then_match() -> None:
    raw = {
        "providers": {
            "a": {"type": "openai", "base_url": "http://127.0.0.1:1/v1", "match": ["gpt-*", "b/*"]},
            "b": {"type": "openai", "base_url": "http://127.0.0.1:2/v1"},
        },
        "models": [{"name": "gpt-exact", "provider": "b", "model": "up-exact"}],
    }
    r = router(raw)
    assert r.plan("gpt-exact", "a").first.target.provider == "a"  # the body's provider field wins
    assert r.plan("gpt-exact").first.target.model == "up-exact"  # then an exact entry, before match
    assert r.plan("b/thing").first.target.provider == "b"  # then PROVIDER/MODEL, before match
    assert r.plan("gpt-other").first.target.provider == "a"  # then match patterns


def test_models_list_and_capabilities() -> None:
    entries = {e.id: e for e in router().models()}
    assert set(entries) == {"m", "accounts/fireworks/models/x"}
    assert entries["m"].owned_by == "a"
    assert entries["m"].capabilities["chat"] is True


def test_unserved_type_in_a_file_is_a_config_error() -> None:
    raw = {"providers": {"c": {"type": "cohere"}}}
    with pytest.raises(ConfigError) as caught:
        Router(validate(raw, "test.yaml"), registry={})  # a registry that does not serve the type
    assert caught.value.key == "providers.c.type"


def test_unserved_type_auto_detected_is_skipped() -> None:
    raw = {"providers": {"c": {"type": "cohere"}}}
    r = Router(validate(raw, "<embedded default>"), registry={})
    assert "c" in r.skipped and r.models() == []


def test_a_model_entry_narrows_its_capabilities() -> None:
    raw = {
        "providers": {"a": {"type": "openai", "base_url": "http://127.0.0.1:1/v1"}},
        "models": [{"name": "chat-only", "provider": "a", "capabilities": {"embeddings": False}}],
    }
    entry = router(raw).model("chat-only")
    assert entry.capabilities == {"chat": True, "completions": True, "embeddings": False, "images": True}
    assert router(raw).plan("chat-only").first.narrowed == {"embeddings": False}
