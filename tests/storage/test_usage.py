"""UsageStore over SQLite and PostgreSQL: batch insert, filters, totals and grouping."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from llmrelay.storage.db import Database
from llmrelay.storage.usage import UsageFilter, UsageRecord, UsageStore

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DAY1 = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 0, 15, tzinfo=UTC)


async def _postgres_database() -> str:
    name = f"llmrelay_t_{uuid.uuid4().hex}"
    conn = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UsageStore]:
    """A migrated, empty database of each kind (a PostgreSQL server that is down fails the test)."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'usage.db'}"
    else:
        name = await _postgres_database()
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    db = Database(url)
    try:
        await db.upgrade()
        yield UsageStore(db.engine)
    finally:
        await db.close()
        if name is not None:
            await _drop_postgres_database(name)


def _record(n: int, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "created_at": DAY1,
        "request_id": f"req_{n}",
        "status": 200,
        "latency_ms": 10.5,
        "path": "/v1/chat/completions",
        "key_id": "key_a",
        "model": "fast",
        "provider": "up",
        "deployment": "gpt-4o-mini",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost_usd": Decimal("0.000001500"),
    }
    values.update(fields)
    return UsageRecord(**values)  # type: ignore[arg-type]


async def test_insert_then_read_back_every_field(store: UsageStore) -> None:
    record = _record(
        1,
        created_at=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
        cached_tokens=3,
        reasoning_tokens=2,
        tokens_estimated=True,
        ttft_ms=3.25,
        streamed=True,
        status=499,
    )
    await store.insert([record])
    (back,) = await store.records()
    assert back == UsageRecord(**{**_fields(record), "created_at": record.created_at.astimezone(UTC)})
    assert back.created_at.tzinfo is not None and back.created_at == record.created_at


def _fields(record: UsageRecord) -> dict[str, object]:
    return record._asdict()


async def test_a_batch_is_one_insert_and_empty_batches_are_free(store: UsageStore) -> None:
    await store.insert([])
    await store.insert([_record(n) for n in range(500)])
    assert [r.request_id for r in await store.records(limit=1000)] == [f"req_{n}" for n in range(500)]


async def test_totals_filters_and_grouping(store: UsageStore) -> None:
    await store.insert(
        [
            _record(1),
            _record(2, created_at=DAY2, key_id="key_b", cost_usd=Decimal("0.25")),
            _record(3, created_at=DAY2, model="other", provider="p2", prompt_tokens=None, cost_usd=None),
            _record(4, key_id=None, status=401, prompt_tokens=None, completion_tokens=None, cost_usd=None),
        ]
    )
    (everything,) = await store.totals()
    assert (everything.requests, everything.prompt_tokens, everything.completion_tokens) == (4, 20, 15)
    assert everything.total_tokens == 35 and everything.cost_usd == Decimal("0.2500015")
    (only_a,) = await store.totals(UsageFilter(key_id="key_a"))
    assert only_a.requests == 2 and only_a.cost_usd == Decimal("0.0000015")
    assert [t.requests for t in await store.totals(UsageFilter(model="other"))] == [1]
    assert [t.requests for t in await store.totals(UsageFilter(provider="p2"))] == [1]
    assert await store.totals(UsageFilter(key_id="nobody")) == []

    by_day = await store.totals(group_by="day")
    assert [(t.group, t.requests) for t in by_day] == [("2026-03-01", 2), ("2026-03-02", 2)]
    by_key = await store.totals(group_by="key")
    assert [(t.group, t.requests) for t in by_key] == [("", 1), ("key_a", 2), ("key_b", 1)]
    by_model = await store.totals(UsageFilter(since=DAY2), group_by="model")
    assert [(t.group, t.requests, t.prompt_tokens) for t in by_model] == [("fast", 1, 10), ("other", 1, 0)]


async def test_time_range_is_since_inclusive_until_exclusive(store: UsageStore) -> None:
    await store.insert([_record(1), _record(2, created_at=DAY2)])
    assert [t.requests for t in await store.totals(UsageFilter(since=DAY2))] == [1]
    assert [t.requests for t in await store.totals(UsageFilter(until=DAY2))] == [1]
    assert await store.totals(UsageFilter(since=DAY2, until=DAY2)) == []
    naive_local = datetime(2026, 3, 2, 0, 15)  # naive: taken as UTC
    assert [t.requests for t in await store.totals(UsageFilter(since=naive_local))] == [1]
    berlin = DAY2.astimezone(timezone(timedelta(hours=1)))
    assert [r.request_id for r in await store.records(UsageFilter(since=berlin))] == ["req_2"]


async def test_rows_are_written_as_sqlalchemy_would_write_them(tmp_path: Path) -> None:
    """The insert bypasses SQLAlchemy's per-row work; the stored text must still be its own format,
    so that filters and totals written through SQLAlchemy compare it correctly."""
    import sqlite3

    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from llmrelay.storage.tables import usage_records

    db = Database(f"sqlite:///{tmp_path / 'usage.db'}")
    await db.upgrade()
    moment = datetime(2026, 11, 21, 9, 30, 0, tzinfo=UTC)  # no microseconds: isoformat would drop them
    offset = datetime(2026, 11, 21, 10, 30, 0, 250, tzinfo=timezone(timedelta(hours=1)))
    await UsageStore(db.engine).insert([_record(1, created_at=moment), _record(2, created_at=offset)])
    await db.close()
    with sqlite3.connect(tmp_path / "usage.db") as conn:
        rows = conn.execute("SELECT created_at FROM usage_records ORDER BY id").fetchall()
    dialect = sqlite_dialect.dialect()
    process = usage_records.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert [row[0] for row in rows] == [process(moment.replace(tzinfo=None)), "2026-11-21 09:30:00.000250"]
