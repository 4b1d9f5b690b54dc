"""Model name → plan: exact entries, weighted groups, provider pins, prefixes, match patterns, 404."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from llmrelay.config.load import ConfigError, validate
from llmrelay.errors import InvalidRequestError, ModelNotFoundError
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


def test_unknown_model_and_provider() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        router().plan("nope")
    assert caught.value.to_body()["error"]["code"] == "model_not_found"
    assert caught.value.param == "model"
    with pytest.raises(InvalidRequestError) as pinned:
        router().plan("m", "zzz")
    assert pinned.value.param == "provider"


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
