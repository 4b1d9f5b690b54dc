"""The database: an async SQLAlchemy engine for `database:` (sqlite:///… or postgresql://…), migrated by Alembic.

>>> db = Database.from_url("sqlite:///./llmrelay.db")
>>> await db.upgrade()                       # alembic upgrade head, in a worker thread
>>> async with db.engine.begin() as conn: ...
>>> await db.close()
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
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


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(async_url(url), pool_pre_ping=True)

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
