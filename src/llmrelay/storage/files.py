"""Uploaded files: their rows in the `files` table (SQLite or PostgreSQL) and their contents in a
content store (storage/blobs.py: a local directory or an S3-compatible bucket).

A file belongs to the key that uploaded it: every lookup takes the caller's `key_id` (None for the
master key and open mode, which share one scope), and another key's file is simply not found.
Ids sort in upload order (`file-` + the upload time in hex microseconds + random), so a page of a
listing continues from any id, even one deleted since.

    >>> store = FileStore(db.engine, LocalBlobs(path), max_bytes=512 * 1024 * 1024)
    >>> row = await store.create(None, chunks, filename="a.jsonl", purpose="batch")
    >>> await store.get(row.id, None)                      # the row, or None (unknown, another key's, expired)
    >>> async for chunk in await store.open(row): ...
    >>> await store.purge(older_than=datetime.now(UTC) - timedelta(days=30))   # how many were deleted

An upload is two steps when the caller learns the file's details only after its content (a multipart
body may carry `purpose` after the file): `pending = await store.receive(chunks)`, then
`await store.commit(pending, ...)` or `await store.discard(pending)`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from llmrelay.config.load import ConfigError
from llmrelay.config.model import Config
from llmrelay.errors import RequestTooLargeError, StorageUnavailableError
from llmrelay.observability.logging import get_logger
from llmrelay.storage.blobs import BlobMissing, BlobStore, BlobStoreError, LocalBlobs
from llmrelay.storage.tables import metadata
from llmrelay.storage.usage import utc

Order = Literal["asc", "desc"]
DEFAULT_DIR = "llmrelay-files"
_PURGE_BATCH = 500

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # "file-" + 14 hex (µs since 1970) + 10 random hex
    sa.Column("key_id", sa.String(40), nullable=True),  # the owner; None = master key / open mode
    sa.Column("filename", sa.String(1024), nullable=False),
    sa.Column("purpose", sa.String(40), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("storage", sa.String(16), nullable=False),  # which content store holds it: local | s3
    sa.Column("location", sa.String(1024), nullable=False),  # the content's key in that store
)
sa.Index("ix_files_key_id", files.c.key_id, files.c.id)
sa.Index("ix_files_created_at", files.c.created_at)
sa.Index("ix_files_expires_at", files.c.expires_at)
_C = files.c


@dataclass(frozen=True, slots=True)
class FileRow:
    id: str
    key_id: str | None
    filename: str
    purpose: str
    bytes: int
    content_type: str | None
    created_at: datetime
    expires_at: datetime | None
    storage: str
    location: str


@dataclass(frozen=True, slots=True)
class Pending:
    """A content received and stored, not yet a file (no row): commit or discard it."""

    id: str
    bytes: int
    content_type: str | None
    created_at: datetime


def new_file_id(now: datetime) -> str:
    micros = int(now.timestamp() * 1_000_000)
    return f"file-{micros:014x}{secrets.token_hex(5)}"


class FileStore:
    def __init__(
        self,
        engine: AsyncEngine,
        blobs: BlobStore,
        *,
        max_bytes: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.max_bytes = max_bytes
        self._clock = clock
        self._log = get_logger()

    @classmethod
    def from_config(cls, config: Config, engine: AsyncEngine) -> FileStore:
        """The store `files:` describes (see FilesConfig); an S3 bucket needs the `s3` extra."""
        return cls(engine, blobs_from_config(config), max_bytes=config.files.max_bytes)

    async def start(self) -> None:
        await self.blobs.start()

    async def close(self) -> None:
        await self.blobs.close()

    async def receive(self, chunks: AsyncIterable[bytes], content_type: str | None = None) -> Pending:
        """Store a content under a new id; 413 (nothing kept) once it passes `max_bytes`."""
        now = self._clock()
        file_id = new_file_id(now)
        try:
            size = await self.blobs.put(file_id, bounded(chunks, self.max_bytes), content_type)
        except BlobStoreError as exc:
            raise _unavailable(exc) from None
        return Pending(file_id, size, content_type, now)

    async def commit(
        self,
        pending: Pending,
        key_id: str | None,
        *,
        filename: str,
        purpose: str,
        expires_after: int | None = None,
    ) -> FileRow:
        """The file's row, written: the file exists from now on (its content is discarded on failure)."""
        expires = None if expires_after is None else pending.created_at + timedelta(seconds=expires_after)
        row = FileRow(
            pending.id, key_id, filename, purpose, pending.bytes, pending.content_type,
            pending.created_at, expires, self.blobs.kind, pending.id,
        )  # fmt: skip
        try:
            async with self.engine.begin() as conn:
                await conn.execute(files.insert().values(**_values(row)))
        except BaseException:
            await self.discard(pending)
            raise
        return row

    async def discard(self, pending: Pending) -> None:
        try:
            await self.blobs.delete(pending.id)
        except BlobStoreError as exc:
            self._log.warning("file_content_not_deleted", file_id=pending.id, problem=str(exc))

    async def create(
        self,
        key_id: str | None,
        chunks: AsyncIterable[bytes],
        *,
        filename: str,
        purpose: str,
        content_type: str | None = None,
        expires_after: int | None = None,
    ) -> FileRow:
        """Receive and commit in one call, for callers that know everything up front."""
        pending = await self.receive(chunks, content_type)
        return await self.commit(pending, key_id, filename=filename, purpose=purpose, expires_after=expires_after)

    async def get(self, file_id: str, key_id: str | None) -> FileRow | None:
        """The caller's file, or None: unknown, another key's, or expired (the same answer for all three)."""
        query = sa.select(files).where(_C.id == file_id, _owned(key_id), _live(self._clock()))
        async with self.engine.connect() as conn:
            found = (await conn.execute(query)).mappings().first()
        return None if found is None else _row(found)

    async def list(
        self,
        key_id: str | None,
        *,
        purpose: str | None = None,
        limit: int = 10_000,
        after: str | None = None,
        order: Order = "desc",
    ) -> tuple[list[FileRow], bool]:
        """One page of the caller's files, newest first by default, and whether more follow it."""
        query = sa.select(files).where(_owned(key_id), _live(self._clock()))
        if purpose is not None:
            query = query.where(_C.purpose == purpose)
        if after is not None:
            query = query.where(_C.id < after if order == "desc" else _C.id > after)
        query = query.order_by(_C.id.desc() if order == "desc" else _C.id.asc()).limit(limit + 1)
        async with self.engine.connect() as conn:
            rows = [_row(m) for m in (await conn.execute(query)).mappings()]
        return rows[:limit], len(rows) > limit

    async def open(self, row: FileRow) -> AsyncIterator[bytes]:
        """The file's content as chunks; 503 when the store cannot give it back."""
        if row.storage != self.blobs.kind:
            raise StorageUnavailableError(
                f"The content of {row.id} is in the '{row.storage}' store; this gateway uses '{self.blobs.kind}'.",
            )
        try:
            return await self.blobs.open(row.location)
        except BlobMissing:
            raise StorageUnavailableError(f"The content of {row.id} is missing from the files store.") from None
        except BlobStoreError as exc:
            raise _unavailable(exc) from None

    async def delete(self, file_id: str, key_id: str | None) -> bool:
        """Delete the caller's file (row, then content); False when `get` would not find it."""
        async with self.engine.begin() as conn:
            query = sa.select(_C.storage, _C.location).where(_C.id == file_id, _owned(key_id), _live(self._clock()))
            found = (await conn.execute(query)).first()
            if found is None:
                return False
            await conn.execute(files.delete().where(_C.id == file_id))
        await self._delete_contents([(found.storage, found.location)])
        return True

    async def purge(self, older_than: datetime) -> int:
        """Delete every file (of every key) uploaded before `older_than`, rows and contents; how many."""
        return await self._purge(_C.created_at < utc(older_than))

    async def purge_expired(self) -> int:
        """Delete every file whose `expires_after` has passed (they are already hidden); how many."""
        return await self._purge(_C.expires_at <= self._clock())

    async def _purge(self, condition: sa.ColumnElement[bool]) -> int:
        """In batches: each batch's rows go in one transaction, then their contents (a content whose
        deletion fails is logged and left behind, invisible; a row is never left without content)."""
        total = 0
        while True:
            async with self.engine.begin() as conn:
                query = sa.select(_C.id, _C.storage, _C.location).where(condition).order_by(_C.id)
                batch = (await conn.execute(query.limit(_PURGE_BATCH))).all()
                if not batch:
                    return total
                await conn.execute(files.delete().where(_C.id.in_([row.id for row in batch])))
            await self._delete_contents([(row.storage, row.location) for row in batch])
            total += len(batch)

    async def _delete_contents(self, contents: Sequence[tuple[str, str]]) -> None:
        for storage, location in contents:
            if storage != self.blobs.kind:
                self._log.warning("file_content_not_deleted", location=location, problem=f"in the {storage} store")
                continue
            try:
                await self.blobs.delete(location)
            except BlobStoreError as exc:
                self._log.warning("file_content_not_deleted", location=location, problem=str(exc))


def blobs_from_config(config: Config) -> BlobStore:
    s3 = config.files.s3
    if s3 is None:
        return LocalBlobs(files_dir(config))
    try:
        from llmrelay.storage.blobs_s3 import S3Blobs  # the `s3` extra, imported only when configured
    except ImportError:
        problem = "an S3 bucket needs aiobotocore: pip install 'llmrelay[s3]'"
        raise ConfigError(config.source, "files.s3", problem) from None
    return S3Blobs(
        bucket=s3.bucket,
        endpoint_url=s3.endpoint_url,
        region=s3.region,
        access_key_id=s3.access_key_id.get_secret_value(),
        secret_access_key=s3.secret_access_key.get_secret_value(),
        prefix=s3.prefix,
        part_bytes=s3.part_bytes,
    )


def files_dir(config: Config) -> Path:
    """`files.dir`, else `llmrelay-files` beside the SQLite database file, else `./llmrelay-files`."""
    if config.files.dir:
        return Path(config.files.dir)
    database = config.database
    if database.startswith("sqlite:///") and ":memory:" not in database:
        return Path(database.removeprefix("sqlite:///").split("?", 1)[0]).parent / DEFAULT_DIR
    return Path(DEFAULT_DIR)


async def bounded(chunks: AsyncIterable[bytes], limit: int, shown: int | None = None) -> AsyncIterator[bytes]:
    """`chunks` until more than `limit` bytes have passed: then 413 naming `shown` (default `limit`)."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise too_large(shown or limit)
        yield chunk


def too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(f"The file is larger than this gateway's limit of {limit} bytes.")


def _owned(key_id: str | None) -> sa.ColumnElement[bool]:
    return _C.key_id.is_(None) if key_id is None else _C.key_id == key_id


def _live(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(_C.expires_at.is_(None), _C.expires_at > now)


def _unavailable(exc: BlobStoreError) -> StorageUnavailableError:
    return StorageUnavailableError(f"The files store failed: {exc}")


def _values(row: FileRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in FileRow.__slots__}
    values["created_at"] = utc(row.created_at)
    values["expires_at"] = None if row.expires_at is None else utc(row.expires_at)
    return values


def _row(mapping: Mapping[Any, Any]) -> FileRow:
    values = dict(mapping)
    values["created_at"] = utc(values["created_at"])
    if values["expires_at"] is not None:
        values["expires_at"] = utc(values["expires_at"])
    return FileRow(**values)
