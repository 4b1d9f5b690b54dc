"""Session fixtures: the fake OpenAI upstream, the gateway on a real port, and SDK clients."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import openai
import pytest
import redis.asyncio as aioredis

from llmrelay.app import create_app
from llmrelay.config.load import validate
from llmrelay.observability.logging import configure
from llmrelay.providers.registry import PROVIDERS, ProviderSpec
from llmrelay.storage.db import Database
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server, serve_in_thread

UPSTREAM_KEY = "sk-upstream-test"
MASTER_KEY = "sk-master-test-0123456789"
VENDOR_EXTRAS = frozenset({"top_k", "repetition_penalty", "min_p"})

# In-process gateways log errors only; the CLI tests read the real request logs of real processes.
configure("ERROR")


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[tuple[FakeOpenAI, Server]]:
    fake = FakeOpenAI(api_key=UPSTREAM_KEY, extra_fields=VENDOR_EXTRAS)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def fake(upstream_server: tuple[FakeOpenAI, Server]) -> FakeOpenAI:
    upstream_server[0].reset()
    return upstream_server[0]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def gateway_config(upstream_url: str, **overrides: Any) -> dict[str, Any]:
    """The standard test config: one fake upstream under several names, plus broken ones.

    Each config gets its own SQLite file, so no gateway sees another's keys or usage records.
    """
    config: dict[str, Any] = {
        "database": f"sqlite:///{tempfile.mkdtemp(prefix='llmrelay-test-')}/llmrelay.db",
        "providers": {
            "up": {"type": "openai", "base_url": f"{upstream_url}/v1", "api_key": UPSTREAM_KEY},
            "slow": {"type": "openai", "base_url": f"{upstream_url}/v1", "api_key": UPSTREAM_KEY, "timeout": 0.5},
            "down": {"type": "openai", "base_url": f"http://127.0.0.1:{closed_port()}/v1", "api_key": "sk-x"},
            "relay": {"type": "openai", "base_url": f"{upstream_url}/v1", "auth": "passthrough"},
            "hdr": {
                "type": "openai",
                "base_url": f"{upstream_url}/v1",
                "api_key": UPSTREAM_KEY,
                "headers": {"OpenAI-Organization": "org-test", "X-Team": "ml"},
            },
        },
        "models": [
            {"name": "fast", "provider": "up", "model": "gpt-4o-mini"},
            {"name": "accounts/fireworks/models/x", "provider": "up", "model": "gpt-4o"},
            {"name": "gpt-4o", "provider": "up"},
            {"name": "slow-model", "provider": "slow", "model": "gpt-4o-mini"},
            {"name": "down-model", "provider": "down", "model": "gpt-4o-mini"},
            {"name": "byok", "provider": "relay", "model": "gpt-4o-mini"},
            {"name": "with-headers", "provider": "hdr", "model": "gpt-4o-mini"},
            {"name": "embed", "provider": "up", "model": "text-embedding-3-small"},
            {"name": "instruct", "provider": "up", "model": "gpt-3.5-turbo-instruct"},
        ],
    }
    config.update(overrides)
    return config


def single_attempt(config: Mapping[str, Any]) -> dict[str, Any]:
    """`config` with one try per request and no cooldowns, unless it sets them itself: the tests of
    error mapping see each planned fault as it came (tests/integration/test_resilience.py covers retries)."""
    providers = {
        name: {"max_retries": 0, **provider} if isinstance(provider, dict) else provider
        for name, provider in config.get("providers", {}).items()
    }
    return {"cooldown": {"enabled": False}, **config, "providers": providers}


@contextlib.contextmanager
def run_gateway(config: Mapping[str, Any], registry: Mapping[str, ProviderSpec] = PROVIDERS) -> Iterator[Server]:
    # A config without its own `database` gets a temp SQLite file, never ./llmrelay.db in the working directory.
    config = {"database": f"sqlite:///{tempfile.mkdtemp(prefix='llmrelay-test-')}/llmrelay.db", **config}
    app = create_app(validate(single_attempt(config), "test.yaml"), registry)
    with serve_in_thread(app, lifespan="on") as server:
        yield server


@pytest.fixture(scope="session")
def gateway(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    """An open-mode gateway in front of the fake."""
    with run_gateway(gateway_config(upstream_server[1].base_url, server={"max_request_bytes": 64 * 1024})) as server:
        yield server


@pytest.fixture(scope="session")
def locked_gateway(upstream_server: tuple[FakeOpenAI, Server]) -> Iterator[Server]:
    """A gateway that requires the master key."""
    with run_gateway(gateway_config(upstream_server[1].base_url, auth={"master_key": MASTER_KEY})) as server:
        yield server


def sdk(server: Server, api_key: str = "anything") -> openai.OpenAI:
    """An official SDK client for a gateway; close it (use `with`) so no socket outlives the test."""
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=api_key, max_retries=0, timeout=10)


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


POSTGRES = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL server, dropped afterwards (fails if the server is down)."""
    name = f"llmrelay_t_{uuid.uuid4().hex}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def pg_admin(sql: str) -> None:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def migrated_database(kind: str, sqlite_file: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: SQLite at ``sqlite_file`` (``kind == "sqlite"``), else a PostgreSQL
    database of its own, dropped afterwards (fails if the server is down)."""
    name = None
    if kind == "sqlite":
        url = f"sqlite:///{sqlite_file}"
    else:
        name = f"llmrelay_t_{uuid.uuid4().hex}"
        await pg_admin(f'CREATE DATABASE "{name}"')
        url = f"{POSTGRES}/{name}"
    database = Database(url)
    try:
        await database.upgrade()
        yield database
    finally:
        await database.close()
        if name is not None:
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


REDIS_URL = "redis://127.0.0.1:6379/0"


async def delete_redis_prefix(prefix: str) -> None:
    """Delete every key under ``prefix`` in the machine's Redis (what a test wrote under its own prefix)."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
