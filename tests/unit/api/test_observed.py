"""The metrics' label sets follow what the gateway serves: config names, and catalog ids as lists change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from llmrelay.api.observed import allowed_labels
from llmrelay.config.load import validate
from llmrelay.observability.labels import LabelCap
from llmrelay.pipeline.routing import Router
from llmrelay.providers.catalog import EMPTY, CatalogList, CatalogModel, Route


@dataclass
class FakeCatalog:
    name: str = "cat"
    prefix: str = "cat/"
    headers: Mapping[str, str] = field(default_factory=dict)
    listing: CatalogList = EMPTY


def _model(model_id: str, upstream: str | None = None) -> CatalogModel:
    route = Route("openai", "chat", "https://llm.example/v1", model=upstream)
    return CatalogModel(id=model_id, handle="/openai/chat/completions", route=route)


def test_labels_follow_the_config_and_a_refreshed_catalog() -> None:
    config = validate(
        {
            "providers": {
                "up": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-upstream-0123456789"},
                "cat": {"type": "catalog", "url": "https://llm.example/models"},
            },
            "models": [{"name": "fast", "provider": "up", "model": "gpt-4o-mini"}],
        },
        "test.yaml",
    )
    catalog = FakeCatalog()
    cap = LabelCap(allowed_labels(config, Router(config, catalogs=[catalog]), [catalog]))
    assert (cap.model("fast"), cap.deployment("gpt-4o-mini"), cap.provider("cat")) == ("fast", "gpt-4o-mini", "cat")
    assert cap.model("cat/claude") == "other"  # not listed yet
    catalog.listing = CatalogList((_model("claude"), _model("gemini", upstream="models/gemini-2.0")))
    assert cap.model("cat/claude") == "cat/claude"
    assert cap.model("claude") == "other"  # a catalog id is public only under its prefix
    assert cap.deployment("claude") == "claude" and cap.deployment("models/gemini-2.0") == "models/gemini-2.0"
    assert cap.model("sk-proj-0123456789abcdef") == "other" and cap.provider("sk-upstream-0123456789") == "other"
