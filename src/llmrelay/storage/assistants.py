"""Assistants, threads, messages, runs and run steps in the database (SQLite or PostgreSQL, one SQL path).

Each object is one row: its API fields as columns (JSON columns for tools, metadata, content and the
other nested fields), plus `seq` (the insertion order, what lists and cursors sort by) and `key_id`
(the key that owns it; NULL for the master key and open mode, which share one scope). A caller sees
only its own scope: another key's object is "not found". Times are Unix seconds, as the API shows them.

    >>> store = AssistantStore(db.engine)
    >>> await store.insert(ASSISTANTS, {"id": "asst_1", "created_at": 1, "model": "m", ...}, key_id=None)
    >>> page = await store.list(ASSISTANTS, None, Page(limit=20, order="desc"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from llmrelay.storage.tables import metadata

JSONObject = dict[str, Any]
Order = Literal["asc", "desc"]


def _seq() -> sa.Column[int]:
    return sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(64), nullable=False, unique=True)


def _key() -> sa.Column[str]:
    return sa.Column("key_id", sa.String(40), nullable=True)


def _time(name: str, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON, nullable=True)


assistants = sa.Table(
    "assistants", metadata,
    _seq(), _id(), _key(), _time("created_at", False),
    sa.Column("model", sa.String(300), nullable=False),
    sa.Column("name", sa.String(256), nullable=True),
    sa.Column("description", sa.String(512), nullable=True),
    sa.Column("instructions", sa.Text, nullable=True),
    _json("tools"), _json("tool_resources"), _json("metadata"), _json("response_format"),
    sa.Column("temperature", sa.Float, nullable=True),
    sa.Column("top_p", sa.Float, nullable=True),
    sa.Column("reasoning_effort", sa.String(20), nullable=True),
)  # fmt: skip

threads = sa.Table(
    "threads", metadata,
    _seq(), _id(), _key(), _time("created_at", False),
    _json("metadata"), _json("tool_resources"),
)  # fmt: skip

messages = sa.Table(
    "thread_messages", metadata,
    _seq(), _id(), _key(), _time("created_at", False),
    sa.Column("thread_id", sa.String(64), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("assistant_id", sa.String(64), nullable=True),
    sa.Column("run_id", sa.String(64), nullable=True),
    _json("content"), _json("attachments"), _json("metadata"), _json("incomplete_details"),
    _time("completed_at"), _time("incomplete_at"),
)  # fmt: skip

runs = sa.Table(
    "thread_runs", metadata,
    _seq(), _id(), _key(), _time("created_at", False),
    sa.Column("thread_id", sa.String(64), nullable=False),
    sa.Column("assistant_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("model", sa.String(300), nullable=False),
    sa.Column("instructions", sa.Text, nullable=False),
    _json("tools"), _json("tool_choice"), _json("response_format"), _json("truncation_strategy"),
    _json("metadata"), _json("required_action"), _json("last_error"), _json("incomplete_details"), _json("usage"),
    sa.Column("temperature", sa.Float, nullable=True),
    sa.Column("top_p", sa.Float, nullable=True),
    sa.Column("max_prompt_tokens", sa.Integer, nullable=True),
    sa.Column("max_completion_tokens", sa.Integer, nullable=True),
    sa.Column("parallel_tool_calls", sa.Boolean, nullable=False),
    sa.Column("reasoning_effort", sa.String(20), nullable=True),
    _time("expires_at"), _time("started_at"), _time("cancelled_at"), _time("failed_at"), _time("completed_at"),
)  # fmt: skip

run_steps = sa.Table(
    "thread_run_steps", metadata,
    _seq(), _id(), _key(), _time("created_at", False),
    sa.Column("thread_id", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("assistant_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    _json("step_details"), _json("last_error"), _json("metadata"), _json("usage"),
    _time("expired_at"), _time("cancelled_at"), _time("failed_at"), _time("completed_at"),
    # Internal: the thread's last message (its seq) when the step began: where its tool calls go in
    # the conversation a later turn sends to the model.
    sa.Column("after_message", sa.BigInteger, nullable=True),
)  # fmt: skip

sa.Index("ix_assistants_key", assistants.c.key_id, assistants.c.seq)
sa.Index("ix_threads_created", threads.c.created_at)
sa.Index("ix_thread_messages_thread", messages.c.thread_id, messages.c.seq)
sa.Index("ix_thread_runs_thread", runs.c.thread_id, runs.c.seq)
sa.Index("ix_thread_runs_status", runs.c.status)
sa.Index("ix_thread_run_steps_run", run_steps.c.run_id, run_steps.c.seq)

TABLES = (assistants, threads, messages, runs, run_steps)
_INTERNAL = frozenset({"seq", "key_id", "after_message"})


@dataclass(frozen=True, slots=True)
class Kind:
    """One object type: its table and the `object` name its JSON carries."""

    table: sa.Table
    object: str

    def render(self, row: Mapping[Any, Any]) -> JSONObject:
        """The API object of a row (internal columns left out)."""
        body: JSONObject = {"id": row["id"], "object": self.object}
        body.update((str(name), value) for name, value in row.items() if name not in _INTERNAL and name != "id")
        return body


ASSISTANTS = Kind(assistants, "assistant")
THREADS = Kind(threads, "thread")
MESSAGES = Kind(messages, "thread.message")
RUNS = Kind(runs, "thread.run")
STEPS = Kind(run_steps, "thread.run.step")


@dataclass(frozen=True, slots=True)
class Page:
    """A cursor list request: `after`/`before` are object ids, as OpenAI's lists take them."""

    limit: int = 20
    order: Order = "desc"
    after: str | None = None
    before: str | None = None


@dataclass(frozen=True, slots=True)
class Listed:
    data: list[JSONObject]
    has_more: bool

    def body(self) -> JSONObject:
        """OpenAI's cursor list: `{object: list, data, first_id, last_id, has_more}`."""
        first = self.data[0]["id"] if self.data else None
        last = self.data[-1]["id"] if self.data else None
        return {"object": "list", "data": self.data, "first_id": first, "last_id": last, "has_more": self.has_more}


def plain(mapping: Mapping[Any, Any]) -> JSONObject:
    """A result row as a dict with plain `str` keys (SQLAlchemy's are a str subclass orjson refuses)."""
    return {str(name): value for name, value in mapping.items()}


def scoped(table: sa.Table, key_id: str | None) -> sa.ColumnElement[bool]:
    """Rows owned by `key_id` (None: the master key's and open mode's shared scope)."""
    column = table.c.key_id
    return column.is_(None) if key_id is None else column == key_id


def _matching(table: sa.Table, where: Mapping[str, str]) -> list[sa.ColumnElement[bool]]:
    """Rows whose columns hold the values in `where` (e.g. `{"thread_id": ...}`)."""
    return [table.c[name] == value for name, value in where.items()]


class AssistantStore:
    """Rows of every Assistants-API object; `where` narrows by column (e.g. `thread_id`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def insert(self, kind: Kind, values: Mapping[str, Any], key_id: str | None) -> JSONObject:
        async with self.engine.begin() as conn:
            await conn.execute(kind.table.insert().values(**values, key_id=key_id))
        return kind.render(values)

    async def row(self, kind: Kind, object_id: str, key_id: str | None, **where: str) -> JSONObject | None:
        """The row, internal columns included, if `key_id` owns it."""
        return await self._row(kind, sa.and_(kind.table.c.id == object_id, scoped(kind.table, key_id)), where)

    async def owned_row(self, kind: Kind, object_id: str) -> JSONObject | None:
        """The row whoever owns it: for the run executor, which acts for the run's key."""
        return await self._row(kind, kind.table.c.id == object_id, {})

    async def _row(self, kind: Kind, condition: sa.ColumnElement[bool], where: Mapping[str, str]) -> JSONObject | None:
        query = sa.select(kind.table).where(condition, *_matching(kind.table, where))
        async with self.engine.connect() as conn:
            mapping = (await conn.execute(query)).mappings().first()
        return None if mapping is None else plain(mapping)

    async def get(self, kind: Kind, object_id: str, key_id: str | None, **where: str) -> JSONObject | None:
        row = await self.row(kind, object_id, key_id, **where)
        return None if row is None else kind.render(row)

    async def update(
        self, kind: Kind, object_id: str, changes: Mapping[str, Any], *, only_if: Mapping[str, Sequence[str]] = {}
    ) -> JSONObject | None:
        """Change some columns; with `only_if` (column → allowed values) only when the row still matches
        (a compare-and-set for status moves). None when no row changed."""
        statement = kind.table.update().where(kind.table.c.id == object_id)
        for name, allowed in only_if.items():
            statement = statement.where(kind.table.c[name].in_(allowed))
        async with self.engine.begin() as conn:
            result = await conn.execute(statement.values(**changes))
            if result.rowcount == 0:
                return None
            mapping = (await conn.execute(sa.select(kind.table).where(kind.table.c.id == object_id))).mappings().first()
        return None if mapping is None else kind.render(mapping)

    async def delete(self, kind: Kind, object_id: str, key_id: str | None, **where: str) -> bool:
        table = kind.table
        statement = table.delete().where(table.c.id == object_id, scoped(table, key_id), *_matching(table, where))
        async with self.engine.begin() as conn:
            return bool((await conn.execute(statement)).rowcount)

    async def list(self, kind: Kind, key_id: str | None, page: Page, **where: str) -> Listed | None:
        """One page in `page.order`; None when a cursor names no object of this list."""
        table = kind.table
        query = sa.select(table).where(scoped(table, key_id), *_matching(table, where))
        ascending = page.order == "asc"
        async with self.engine.connect() as conn:
            for cursor, later in ((page.after, True), (page.before, False)):
                if cursor is None:
                    continue
                seq = (await conn.execute(query.with_only_columns(table.c.seq).where(table.c.id == cursor))).scalar()
                if seq is None:
                    return None
                query = query.where(table.c.seq > seq if later == ascending else table.c.seq < seq)
            # `before` alone pages backwards: take the rows nearest the cursor, then restore the order.
            backwards = page.before is not None and page.after is None
            forward = ascending != backwards
            query = query.order_by(table.c.seq.asc() if forward else table.c.seq.desc()).limit(page.limit + 1)
            rows = [plain(m) for m in (await conn.execute(query)).mappings()]
        has_more = len(rows) > page.limit
        rows = rows[: page.limit]
        if backwards:
            rows.reverse()
        return Listed([kind.render(r) for r in rows], has_more)
