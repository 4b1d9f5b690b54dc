"""The list body → served models: both shapes, hidden and malformed entries, aliases, prices, owners."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.catalog import CatalogList, parse_list
from llmrelay.providers.catalog.listing import public_ids, shadowed

ORIGIN = "https://llm.example"
ENTRIES: list[Any] = [
    {"model_version": "gpt-4o-mini-2024-07-18", "model_family": "gpt-4", "vendor": "openai",
     "handle": "/openai/v1/chat/completions", "prompt_price_1k": 0.00015, "completion_price_1k": 0.0006,
     "description": "…", "specific_versions": ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", 7]},
    {"model_version": "claude-3-7-sonnet-20250219", "model_family": "claude-3", "handle": "/anthropic/v1/messages",
     "prompt_price_1k": "0.003", "completion_price_1k": 0.015},
    {"model_version": "accounts/fireworks/models/llama-v3p1-405b-instruct", "handle": "/fireworks/chat/completions"},
    {"model_version": "gemini-2.5-flash-001", "vendor": "google",
     "handle": "/google/v1beta/models/gemini-2.5-flash:generateContent"},
    {"model_version": "tts-1", "handle": "/raw/openai/v1/audio/speech", "prompt_price_1k": -1},
    {"model_version": "retired-x", "model_family": "x", "handle": "unavailable"},
    {"model_version": "probe", "handle": "/test"},
    {"model_version": "", "handle": "/openai/v1/chat/completions"},
    {"handle": "/openai/v1/chat/completions"},
    {"model_version": "relative", "handle": "openai/v1/chat/completions"},
    {"model_version": "gpt-4o-mini-2024-07-18", "handle": "/other/chat/completions"},
    "not an object",
]  # fmt: skip


@pytest.fixture
def listing() -> CatalogList:
    return parse_list(orjson.dumps({"models": ENTRIES}), ORIGIN)


def test_served_hidden_and_invalid(listing: CatalogList) -> None:
    assert [m.id for m in listing.models] == [
        "gpt-4o-mini-2024-07-18",
        "claude-3-7-sonnet-20250219",
        "accounts/fireworks/models/llama-v3p1-405b-instruct",
        "gemini-2.5-flash-001",
        "tts-1",
    ]
    assert listing.hidden == 2
    assert listing.invalid == 5  # empty id, no id, relative handle, a repeated id, not an object


def test_a_bare_list_is_the_same(listing: CatalogList) -> None:
    assert parse_list(orjson.dumps(ENTRIES), ORIGIN) == listing


def test_aliases_and_routes(listing: CatalogList) -> None:
    mini = listing.get("gpt-4o-mini")
    assert mini is not None and mini.id == "gpt-4o-mini-2024-07-18"
    assert mini.aliases == ("gpt-4o-mini",)
    assert mini.route is not None and mini.route.base_url == f"{ORIGIN}/openai/v1"
    tts = listing.get("tts-1")
    assert tts is not None and tts.route is None
    assert set(listing.ids()) >= {"gpt-4o-mini", "gpt-4o-mini-2024-07-18"}


def test_prices(listing: CatalogList) -> None:
    mini, claude = listing.get("gpt-4o-mini-2024-07-18"), listing.get("claude-3-7-sonnet-20250219")
    assert mini is not None and claude is not None
    assert (mini.prompt_price_1k, mini.completion_price_1k) == (Decimal("0.00015"), Decimal("0.0006"))
    assert (claude.prompt_price_1k, claude.completion_price_1k) == (Decimal("0.003"), Decimal("0.015"))
    tts = listing.get("tts-1")
    assert tts is not None and tts.prompt_price_1k is None  # a negative price is no price


def test_owned_by(listing: CatalogList) -> None:
    owners = {m.id: m.owned_by for m in listing.models}
    assert owners == {
        "gpt-4o-mini-2024-07-18": "gpt-4",
        "claude-3-7-sonnet-20250219": "claude-3",
        "accounts/fireworks/models/llama-v3p1-405b-instruct": "fireworks",
        "gemini-2.5-flash-001": "google",
        "tts-1": "openai",
    }


def test_find_upstream_knows_the_model_a_handle_names(listing: CatalogList) -> None:
    gemini = listing.find_upstream("models/gemini-2.5-flash")
    assert gemini is not None and gemini.id == "gemini-2.5-flash-001"
    assert listing.find_upstream("gpt-4o-mini") is listing.get("gpt-4o-mini-2024-07-18")
    assert listing.find_upstream("nope") is None


@pytest.mark.parametrize("body", [b"<html>", b'{"data": []}', b'"models"', b'{"models": {}}'])
def test_not_a_list(body: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        parse_list(body, ORIGIN)


def test_shadowed_ids_go_to_the_earlier_catalog(listing: CatalogList) -> None:
    other = parse_list(b'[{"model_version": "gpt-4o-mini", "handle": "/x/chat/completions"},'
                       b' {"model_version": "own", "handle": "/x/chat/completions"}]', ORIGIN)  # fmt: skip
    assert shadowed(other, "", [(listing, "")]) == ["gpt-4o-mini"]
    assert shadowed(other, "b/", [(listing, "")]) == []
    assert sorted(public_ids(other, "b/")) == ["b/gpt-4o-mini", "b/own"]
