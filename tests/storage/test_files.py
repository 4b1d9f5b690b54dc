"""FileStore over SQLite and PostgreSQL (contents in a local directory): ownership, listing and its
cursor, the size limit, expiry, deletion and the purge of old files. Time is passed in, never slept."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import migrated_database

from llmrelay.config.model import Config
from llmrelay.errors import RequestTooLargeError, StorageUnavailableError
from llmrelay.storage.blobs import LocalBlobs
from llmrelay.storage.db import Database
from llmrelay.storage.files import FileRow, FileStore, files, files_dir

T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind (a PostgreSQL server that is down fails the test)."""
    async with migrated_database(request.param, tmp_path / "files.db") as database:
        yield database


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(db: Database, tmp_path: Path, clock: Clock) -> FileStore:
    return FileStore(db.engine, LocalBlobs(tmp_path / "contents"), max_bytes=100_000, clock=clock)


async def chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def upload(store: FileStore, key: str | None, data: bytes = b"x", purpose: str = "assistants") -> FileRow:
    return await store.create(key, chunks(data), filename=f"{purpose}.bin", purpose=purpose)


async def content(store: FileStore, row: FileRow) -> bytes:
    return b"".join([c async for c in await store.open(row)])


def stored(tmp_path: Path) -> list[str]:
    root = tmp_path / "contents"
    return sorted(os.listdir(root)) if root.exists() else []


async def test_a_file_is_found_only_by_its_owner(store: FileStore) -> None:
    data = bytes(range(256)) * 10
    mine = await store.create("key_a", chunks(data), filename="é.bin", purpose="batch", content_type="image/png")
    assert mine.id.startswith("file-") and len(mine.id) == 29 and mine.bytes == len(data)
    assert mine.created_at == T0 and mine.storage == "local"
    found = await store.get(mine.id, "key_a")
    assert found == mine and found.filename == "é.bin" and found.content_type == "image/png"
    assert await content(store, found) == data
    assert await store.get(mine.id, "key_b") is None
    assert await store.get(mine.id, None) is None  # the master key's scope is its own, too
    shared = await upload(store, None)
    assert await store.get(shared.id, None) == shared and await store.get(shared.id, "key_a") is None
    assert not await store.delete(mine.id, "key_b")
    assert await store.get(mine.id, "key_a") == mine


async def test_list_orders_filters_and_pages_by_cursor(store: FileStore, clock: Clock) -> None:
    made = []
    for n in range(7):
        clock.now = T0 + timedelta(seconds=n)
        made.append(await upload(store, "key_a", purpose="batch" if n % 2 else "assistants"))
    await upload(store, "key_b")
    ids = [row.id for row in made]
    assert ids == sorted(ids)  # ids sort in upload order
    rows, more = await store.list("key_a")
    assert [r.id for r in rows] == ids[::-1] and not more
    rows, more = await store.list("key_a", order="asc", limit=3)
    assert [r.id for r in rows] == ids[:3] and more
    rows, more = await store.list("key_a", order="asc", limit=3, after=ids[2])
    assert [r.id for r in rows] == ids[3:6] and more
    rows, more = await store.list("key_a", order="asc", limit=3, after=ids[5])
    assert [r.id for r in rows] == ids[6:] and not more
    rows, _ = await store.list("key_a", limit=2, after=ids[3])
    assert [r.id for r in rows] == [ids[2], ids[1]]
    batch, _ = await store.list("key_a", purpose="batch")
    assert [r.id for r in batch] == [ids[5], ids[3], ids[1]]
    # A cursor that was deleted in between still places the next page.
    assert await store.delete(ids[3], "key_a")
    rows, _ = await store.list("key_a", order="asc", after=ids[3])
    assert [r.id for r in rows] == ids[4:]


async def test_delete_removes_row_and_content(store: FileStore, tmp_path: Path) -> None:
    row = await upload(store, "key_a", b"payload")
    assert stored(tmp_path) == [row.id]
    assert await store.delete(row.id, "key_a")
    assert await store.get(row.id, "key_a") is None and stored(tmp_path) == []
    assert not await store.delete(row.id, "key_a")


async def test_over_the_limit_is_413_and_keeps_nothing(store: FileStore, db: Database, tmp_path: Path) -> None:
    with pytest.raises(RequestTooLargeError, match="100000 bytes"):
        await upload(store, "key_a", b"y" * 100_001)
    row = await upload(store, "key_a", b"y" * 100_000)  # exactly the limit is fine
    assert row.bytes == 100_000 and stored(tmp_path) == [row.id]
    async with db.engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(files))).scalar_one() == 1


async def test_expired_files_are_hidden_then_purged(store: FileStore, clock: Clock, tmp_path: Path) -> None:
    expiring = await store.create("key_a", chunks(b"e"), filename="e", purpose="batch", expires_after=3600)
    kept = await upload(store, "key_a")
    assert expiring.expires_at == T0 + timedelta(hours=1)
    clock.now = T0 + timedelta(seconds=3599)
    assert await store.get(expiring.id, "key_a") == expiring
    clock.now = T0 + timedelta(hours=1)
    assert await store.get(expiring.id, "key_a") is None
    assert [r.id for r in (await store.list("key_a"))[0]] == [kept.id]
    assert not await store.delete(expiring.id, "key_a")
    assert await store.purge_expired() == 1
    assert stored(tmp_path) == [kept.id]


async def test_purge_deletes_old_files_of_every_key_and_keeps_new_ones(
    store: FileStore, clock: Clock, db: Database, tmp_path: Path
) -> None:
    old = []
    for n, key in enumerate(["key_a", "key_b", None]):
        clock.now = T0 - timedelta(days=40, seconds=n)
        old.append(await upload(store, key, b"old"))
    clock.now = T0 - timedelta(days=10)
    recent = await upload(store, "key_a", b"recent")
    clock.now = T0
    assert await store.purge(older_than=T0 - timedelta(days=30)) == 3
    assert stored(tmp_path) == [recent.id]  # contents went with their rows
    async with db.engine.connect() as conn:
        left = (await conn.execute(sa.select(files.c.id))).scalars().all()
    assert left == [recent.id]
    assert await content(store, recent) == b"recent"
    assert await store.purge(older_than=T0 - timedelta(days=30)) == 0
    # A naive cutoff is taken as UTC.
    assert await store.purge(older_than=(T0 - timedelta(days=5)).replace(tzinfo=None)) == 1


async def test_purge_works_in_batches(store: FileStore, clock: Clock, tmp_path: Path) -> None:
    clock.now = T0 - timedelta(days=2)
    for _ in range(501 + 3):  # past one batch of 500
        await upload(store, "key_a")
    assert await store.purge(older_than=T0) == 504
    assert stored(tmp_path) == []


async def test_a_missing_content_is_a_503_not_a_crash(store: FileStore, tmp_path: Path) -> None:
    row = await upload(store, "key_a")
    (tmp_path / "contents" / row.id).unlink()
    with pytest.raises(StorageUnavailableError, match="missing"):
        await store.open(row)


def test_the_default_directory_sits_beside_the_sqlite_database() -> None:
    sqlite = Config.model_validate({"database": "sqlite:////var/lib/llmrelay/llmrelay.db"})
    assert files_dir(sqlite) == Path("/var/lib/llmrelay/llmrelay-files")
    assert files_dir(Config.model_validate({"database": "postgresql://db/x"})) == Path("llmrelay-files")
    chosen = Config.model_validate({"database": "postgresql://db/x", "files": {"dir": "/srv/files"}})
    assert files_dir(chosen) == Path("/srv/files")
