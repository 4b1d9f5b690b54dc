"""A provider type's default models (`ProviderSpec.default_models`) are listed and routed when the
provider has no model entries of its own; configured entries always win."""

from __future__ import annotations

from typing import Any

from llmrelay.config.load import validate
from llmrelay.pipeline.routing import Router
from llmrelay.providers.openai import OpenAIChat
from llmrelay.providers.registry import ProviderSpec

REGISTRY = {
    "openai": ProviderSpec(default_base_url="http://127.0.0.1:1/v1", chat=OpenAIChat()),
    "bito": ProviderSpec(default_base_url="http://127.0.0.1:2", chat=OpenAIChat(), default_models=("D1", "D2")),
}


def router(raw: dict[str, Any]) -> Router:
    return Router(validate(raw, "test.yaml"), REGISTRY)


def test_provider_without_entries_serves_its_default_models() -> None:
    r = router({"providers": {"b": {"type": "bito", "auth": "passthrough"}}})
    assert [(m.id, m.owned_by) for m in r.models()] == [("D1", "b"), ("D2", "b")]
    deployment = r.plan("D2").first
    assert (deployment.target.provider, deployment.target.model) == ("b", "D2")
    assert deployment.passthrough_auth
    assert r.model("D1").capabilities["chat"]


def test_provider_with_entries_lists_only_its_entries() -> None:
    r = router({"providers": {"b": {"type": "bito"}}, "models": [{"name": "mine", "provider": "b", "model": "D1"}]})
    assert [m.id for m in r.models()] == ["mine"]


def test_configured_name_is_not_taken_over_by_a_default() -> None:
    raw = {
        "providers": {"o": {"type": "openai", "api_key": "k"}, "b": {"type": "bito"}},
        "models": [{"name": "D1", "provider": "o", "model": "gpt-4o"}],
    }
    r = router(raw)
    assert [d.target.provider for d in r.plan("D1").deployments] == ["o"]
    assert r.plan("D2").first.target.provider == "b"


def test_types_without_defaults_add_nothing() -> None:
    assert router({"providers": {"o": {"type": "openai", "api_key": "k"}}}).models() == []
