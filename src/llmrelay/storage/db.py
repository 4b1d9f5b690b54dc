"""The database: an async SQLAlchemy engine for `database:` (sqlite:///… or postgresql://…), migrated by Alembic.

>>> db = Database.from_url("sqlite:///./llmrelay.db")
>>> await db.upgrade()                       # alembic upgrade head, in a worker thread
>>> async with db.engine.begin() as conn: ...
>>> await db.close()
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def async_url(url: str) -> str:
    """The config's URL with the async driver: sqlite → aiosqlite, postgresql → asyncpg."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url.removeprefix(scheme)
    return url


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    """WAL: readers (admin queries, other processes) do not block the usage writer, and a commit is an
    append instead of a rewrite; synchronous=NORMAL is WAL's durable-enough setting (a power cut may
    lose the last commits, never corrupt the file)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        # A ping before each checkout finds a dropped server connection; a SQLite file has none to drop,
        # and the ping is one more trip through aiosqlite's thread on every usage write.
        self.engine: AsyncEngine = create_async_engine(async_url(url), pool_pre_ping=not sqlite)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(url)

    def alembic_config(self) -> AlembicConfig:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", async_url(self.url).replace("%", "%%"))
        return config

    async def upgrade(self) -> None:
        """Apply every migration (`llmrelay db upgrade` does the same from the command line)."""
        await asyncio.to_thread(command.upgrade, self.alembic_config(), "head")

    async def close(self) -> None:
        await self.engine.dispose()
