"""The catalog client against the fake catalog host: fetch, keep the last good list, back off, report.

Refreshes are driven with `refresh_now()` (the background timer is 300 s here), so nothing waits on a clock.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import closed_port
from tests.fakes.catalog import TOKEN, FakeCatalog
from tests.fakes.server import Server, serve_in_thread

from llmrelay.transport.catalog import Catalog, link, retry_delay

MODELS = [
    {"model_version": "gpt-4o-mini", "model_family": "gpt-4", "handle": "/openai/v1/chat/completions"},
    {"model_version": "claude-x", "handle": "/anthropic/v1/messages"},
]


@pytest.fixture(scope="module")
def host_server() -> Iterator[tuple[FakeCatalog, Server]]:
    fake = FakeCatalog(MODELS)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def host(host_server: tuple[FakeCatalog, Server]) -> tuple[FakeCatalog, Server]:
    fake = host_server[0]
    fake.set_models(MODELS)
    fake.outage = fake.bare_list = False
    return host_server


def catalog(server: Server, token: str | None = TOKEN) -> Catalog:
    return Catalog("eliza", f"{server.base_url}/models", token=token)


def test_retry_delay_doubles_up_to_the_period() -> None:
    assert [retry_delay(n, 300) for n in range(0, 11)] == [300, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert retry_delay(3, 0.05) == 0.05
    assert retry_delay(10_000, 300) == 300


async def test_start_loads_the_list_and_reports_it(host: tuple[FakeCatalog, Server]) -> None:
    eliza = catalog(host[1])
    await eliza.start()
    try:
        assert [m.id for m in eliza.listing.models] == ["gpt-4o-mini", "claude-x"]
        status = eliza.status()
        assert status["state"] == "ok" and status["models"] == 2 and status["last_error"] is None
        assert isinstance(status["age_seconds"], float) and status["next_refresh_in_seconds"] is not None
        assert eliza.headers == {"authorization": f"OAuth {TOKEN}"}
        assert eliza.upstream_spec().base_url == host[1].base_url
    finally:
        await eliza.stop()


async def test_a_failed_refresh_keeps_the_last_good_list(host: tuple[FakeCatalog, Server]) -> None:
    fake, server = host
    eliza = catalog(server)
    await eliza.start()
    try:
        fake.outage = True
        assert await eliza.refresh_now() is False
        status = eliza.status()
        assert status["state"] == "stale" and status["last_error"] == "HTTP 503" and status["models"] == 2
        assert status["consecutive_failures"] == 1 and status["last_error_at"] is not None
        fake.outage = False
        fake.set_models([*MODELS, {"model_version": "new", "handle": "/x/chat/completions"}])
        assert await eliza.refresh_now() is True
        assert eliza.status()["state"] == "ok" and eliza.listing.get("new") is not None
    finally:
        await eliza.stop()


async def test_the_list_needs_the_token(host: tuple[FakeCatalog, Server]) -> None:
    for token in (None, "wrong"):
        eliza = catalog(host[1], token=token)
        await eliza.start()
        try:
            status = eliza.status()
            assert status["state"] == "unavailable" and status["last_error"] == "HTTP 401"
            assert status["age_seconds"] is None and eliza.listing.models == ()
            assert "wrong" not in repr(status)
        finally:
            await eliza.stop()


async def test_an_unreachable_or_garbled_catalog(host: tuple[FakeCatalog, Server]) -> None:
    down = Catalog("down", f"http://127.0.0.1:{closed_port()}/models", token=TOKEN)
    await down.start()
    try:
        assert down.status()["last_error"] == "the request failed (ClientConnectorError)"
        assert down.status()["next_refresh_in_seconds"] is not None
    finally:
        await down.stop()
    garbled = Catalog("g", f"{host[1].base_url}/nowhere", token=TOKEN)
    await garbled.start()
    try:
        assert garbled.status()["last_error"] == "HTTP 404"
    finally:
        await garbled.stop()


async def test_a_bare_list_and_a_list_that_is_no_list(host: tuple[FakeCatalog, Server]) -> None:
    fake, server = host
    fake.bare_list = True
    eliza = catalog(server)
    await eliza.start()
    try:
        assert len(eliza.listing.models) == 2
        fake.set_models([])
        fake.bare_list = False
        assert await eliza.refresh_now() is True and eliza.listing.models == ()
    finally:
        await eliza.stop()


async def test_ids_two_catalogs_list_are_reported_on_the_later_one(host: tuple[FakeCatalog, Server]) -> None:
    first, second = catalog(host[1]), Catalog("second", f"{host[1].base_url}/models", token=TOKEN)
    link([first, second])
    await second.start()
    await first.start()
    try:
        assert second.status()["shadowed"] == ["claude-x", "gpt-4o-mini"]
        assert first.status()["shadowed"] == []
    finally:
        await first.stop()
        await second.stop()


async def test_refresh_before_start_fails_cleanly(host: tuple[FakeCatalog, Server]) -> None:
    eliza = catalog(host[1])
    assert await eliza.refresh_now() is False
    assert eliza.status()["state"] == "unavailable" and eliza.status()["last_error"] == "the catalog is not started"
    await eliza.stop()
