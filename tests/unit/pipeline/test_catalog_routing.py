"""Catalog models in the router: where they come in the resolution order, their targets and adapters,
several catalogs side by side, /v1/models, the config checks, and their prices in the accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import pytest

from llmrelay.config.load import ConfigError, validate
from llmrelay.errors import ModelNotFoundError, NotFoundError
from llmrelay.pipeline.accounting import Accounting
from llmrelay.pipeline.context import RequestRecord
from llmrelay.pipeline.routing import Router
from llmrelay.providers.catalog import EMPTY, CatalogList, UnwrappedChat, parse_list
from llmrelay.providers.openai import OpenAIChat

ORIGIN = "https://llm.example"
LIST: list[dict[str, Any]] = [
    {"model_version": "gpt-4o-mini", "model_family": "gpt-4", "handle": "/openai/v1/chat/completions",
     "prompt_price_1k": 0.00015, "completion_price_1k": 0.0006, "specific_versions": ["gpt-4o-mini-2024-07-18"]},
    {"model_version": "claude-x", "handle": "/anthropic/v1/messages", "prompt_price_1k": 0.003},
    {"model_version": "gpt-raw", "handle": "/raw/openai/v1/chat/completions"},
    {"model_version": "gemini-2.5-flash-001", "handle": "/google/v1beta/models/gemini-2.5-flash:generateContent",
     "prompt_price_1k": 0.0003, "completion_price_1k": 0.0025},
    {"model_version": "command-r", "model_family": "cohere", "handle": "/cohere/v2/chat"},
    {"model_version": "text-embedding-3-small", "handle": "/openai/v1/embeddings"},
    {"model_version": "fixed", "handle": "/openai/v1/chat/completions"},
]  # fmt: skip


@dataclass
class StubCatalog:
    """A CatalogView with a list set by the test (the running one is transport/catalog.py's Catalog)."""

    name: str
    prefix: str = ""
    listing: CatalogList = EMPTY
    headers: dict[str, str] = field(default_factory=lambda: {"authorization": "OAuth y0_t"})


def listing(entries: list[dict[str, Any]] = LIST) -> CatalogList:
    return parse_list(orjson.dumps({"models": entries}), ORIGIN)


def config(**catalogs: dict[str, Any]) -> dict[str, Any]:
    providers: dict[str, Any] = {
        "up": {"type": "openai", "base_url": "http://127.0.0.1:1/v1", "api_key": "k", "match": ["gpt-*", "claude-*"]},
    }
    providers.update({name: {"type": "catalog", "url": f"{ORIGIN}/models", **c} for name, c in catalogs.items()})
    return {"providers": providers, "models": [{"name": "fixed", "provider": "up", "model": "static"}]}


def router(*stubs: StubCatalog, raw: dict[str, Any] | None = None) -> Router:
    raw = raw or config(**{s.name: {"prefix": s.prefix} for s in stubs})
    return Router(validate(raw, "test.yaml"), catalogs=stubs)


def test_a_catalog_model_resolves_to_its_handle() -> None:
    plan = router(StubCatalog("eliza", listing=listing())).plan("gpt-4o-mini")
    target, spec = plan.first.target, plan.first.spec
    assert (target.provider, target.base_url, target.model) == ("eliza", f"{ORIGIN}/openai/v1", "gpt-4o-mini")
    assert target.api_key is None and target.headers == {"authorization": "OAuth y0_t"}
    assert isinstance(spec.chat, UnwrappedChat) and spec.chat.passthrough is False
    offered = spec.capabilities()
    assert offered["chat"] and not offered["embeddings"]
    assert spec.completions is None and offered["completions"]  # legacy completions go through chat
    assert not plan.first.passthrough_auth


def test_each_handle_gets_its_adapter() -> None:
    r = router(StubCatalog("eliza", listing=listing()))
    claude = r.plan("claude-x").first
    assert claude.target.base_url == f"{ORIGIN}/anthropic"
    assert type(claude.spec.chat).__name__ == "UnwrappedChat"
    raw = r.plan("gpt-raw").first.spec.chat
    assert isinstance(raw, OpenAIChat) and raw.passthrough  # a /raw handle is the vendor's body: passthrough
    gemini = r.plan("gemini-2.5-flash-001").first.target
    assert (gemini.base_url, gemini.model) == (f"{ORIGIN}/google", "models/gemini-2.5-flash")
    assert r.plan("command-r").first.target.base_url == f"{ORIGIN}/cohere"
    embed = r.plan("text-embedding-3-small").first.spec
    assert embed.chat is None and embed.embeddings is not None and not embed.embeddings.passthrough


def test_an_alias_goes_upstream_as_named() -> None:
    plan = router(StubCatalog("eliza", listing=listing())).plan("gpt-4o-mini-2024-07-18")
    assert plan.first.target.model == "gpt-4o-mini-2024-07-18"
    assert plan.first.target.base_url == f"{ORIGIN}/openai/v1"


def test_order_entries_then_catalogs_then_match_patterns() -> None:
    r = router(StubCatalog("eliza", listing=listing()))
    assert r.plan("fixed").first.target.model == "static"  # an exact model entry wins over the catalog
    assert r.plan("gpt-4o-mini").first.target.provider == "eliza"  # the catalog wins over `match: gpt-*`
    assert r.plan("gpt-4.1").first.target.provider == "up"  # not listed: the pattern still applies
    with pytest.raises(ModelNotFoundError):
        r.plan("nothing-like-it")


def test_the_list_is_read_at_every_request() -> None:
    stub = StubCatalog("eliza")
    r = router(stub)
    assert r.plan("command-r", "up").first.target.provider == "up"
    with pytest.raises(ModelNotFoundError):
        r.plan("command-r")
    stub.listing = listing()
    assert r.plan("command-r").first.target.provider == "eliza"
    assert "command-r" in {m.id for m in r.models()}


def test_prefixes_and_the_first_catalog_wins() -> None:
    a = StubCatalog("a", listing=listing())
    b = StubCatalog("b", prefix="b/", listing=listing([*LIST, {"model_version": "only-b", "handle": "/x/v2/chat"}]))
    c = StubCatalog("c", prefix="", listing=listing([{"model_version": "b/only-b", "handle": "/c/chat/completions"}]))
    with pytest.raises(ConfigError) as caught:
        router(a, b, c)  # a and c share the empty prefix
    assert caught.value.key == "providers.c.prefix"
    r = router(a, b)
    assert r.plan("gpt-4o-mini").first.target.provider == "a"
    assert r.plan("b/gpt-4o-mini").first.target.provider == "b"
    assert r.plan("b/gpt-4o-mini").first.target.model == "gpt-4o-mini"
    ids = [m.id for m in r.models()]
    assert len(ids) == len(set(ids)) and "b/only-b" in ids and "gpt-4o-mini" in ids


def test_an_id_two_catalogs_serve_goes_to_the_first() -> None:
    a = StubCatalog("a", prefix="x-", listing=listing([{"model_version": "m", "handle": "/a/chat/completions"}]))
    b = StubCatalog("b", listing=listing([{"model_version": "x-m", "handle": "/b/chat/completions"}]))
    r = router(a, b)
    assert r.plan("x-m").first.target.base_url == f"{ORIGIN}/a"
    assert [m.id for m in r.models()].count("x-m") == 1


def test_pinning_a_catalog() -> None:
    r = router(StubCatalog("eliza", listing=listing()))
    assert r.plan("gpt-4o-mini", "eliza").first.target.provider == "eliza"
    assert r.plan("gpt-4o-mini", "up").first.target.provider == "up"
    with pytest.raises(ModelNotFoundError) as caught:
        r.plan("gpt-4.1", "eliza")
    assert "catalog 'eliza' does not list" in caught.value.message
    with pytest.raises(NotFoundError) as unknown:
        r.plan("gpt-4o-mini", "nobody")
    assert unknown.value.code == "provider_not_found"


def test_models_and_model() -> None:
    r = router(StubCatalog("eliza", listing=listing()))
    entries = {m.id: m for m in r.models()}
    assert entries["fixed"].owned_by == "up"  # the model entry keeps its name
    assert entries["gpt-4o-mini"].owned_by == "gpt-4"
    assert entries["command-r"].owned_by == "cohere"
    assert entries["text-embedding-3-small"].capabilities["embeddings"] is True
    assert r.model("gpt-4o-mini-2024-07-18").owned_by == "gpt-4"
    with pytest.raises(ModelNotFoundError):
        r.model("nope")


def test_catalog_config_checks() -> None:
    with pytest.raises(ConfigError) as caught:
        Router(validate({"providers": {"c": {"type": "catalog", "url": "llm.example/models"}}}, "t.yaml"))
    assert caught.value.key == "providers.c.url"
    raw = {
        "providers": {"c": {"type": "catalog", "url": f"{ORIGIN}/models"}},
        "models": [{"name": "m", "provider": "c"}],
    }
    with pytest.raises(ConfigError) as caught:
        Router(validate(raw, "t.yaml"))
    assert caught.value.key == "models[0].provider"
    assert Router(validate(config(eliza={}), "t.yaml")).skipped == {}  # without a running catalog: no models, no error


def _record(provider: str, model: str, prompt: int, completion: int) -> RequestRecord:
    record = RequestRecord("req_1")
    record.provider, record.upstream_model = provider, model
    record.usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return record


def test_the_cost_uses_the_catalog_price() -> None:
    stub = StubCatalog("eliza", listing=listing())
    accounting = Accounting({"eliza": "catalog", "up": "openai"}, [stub])
    assert accounting.cost(_record("eliza", "gpt-4o-mini", 1000, 500)) == Decimal("0.00045")
    assert accounting.cost(_record("eliza", "gpt-4o-mini-2024-07-18", 2000, 0)) == Decimal("0.0003")
    assert accounting.cost(_record("eliza", "models/gemini-2.5-flash", 1000, 1000)) == Decimal("0.0028")
    assert accounting.cost(_record("eliza", "claude-x", 1000, 1000)) == Decimal("0.003")  # no completion price: 0
    stub.listing = listing([{**LIST[0], "prompt_price_1k": 0.001, "completion_price_1k": 0.002}])
    assert accounting.cost(_record("eliza", "gpt-4o-mini", 1000, 1000)) == Decimal("0.003")  # the list refreshed


def test_without_a_catalog_price_the_database_is_asked() -> None:
    accounting = Accounting({"eliza": "catalog"}, [StubCatalog("eliza", listing=listing())])
    price = accounting.price("eliza", "command-r")  # listed without prices
    database = Accounting({"up": "cohere"}).price("up", "command-r")
    assert price == database
