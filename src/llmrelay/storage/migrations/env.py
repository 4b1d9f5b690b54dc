"""Alembic environment: runs migrations over the async engine named in the Alembic config."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import create_async_engine

from llmrelay.storage.tables import metadata

# Several gateways may start at once on one PostgreSQL: the first to take this lock migrates, the
# others wait for it and then find the schema current. (Any constant; "llmrelay" in ASCII.)
_MIGRATION_LOCK = 0x6C6C6D72656C6179


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=True, transactional_ddl=sqlite or None
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
        context.run_migrations()


def _serialized(engine: Engine) -> None:
    """SQLite: the whole migration in one write transaction (BEGIN IMMEDIATE takes the database's write
    lock at once), so gateways starting together on one file migrate one after the other, as the
    advisory lock does on PostgreSQL. The driver's own transaction handling, which would run DDL
    outside any transaction, is switched off for it."""

    @event.listens_for(engine, "connect")
    def _autocommit(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # as the gateway's connections will: readers never wait
        cursor.close()

    @event.listens_for(engine, "begin")
    def _immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def _online() -> None:
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
    if engine.dialect.name == "sqlite":
        _serialized(engine.sync_engine)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


asyncio.run(_online())
