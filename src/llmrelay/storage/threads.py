"""What threads need beyond one row at a time: deleting a thread with everything in it, the garbage
collection of old threads, a thread's conversation in order, its active run, and the runs a restart
must settle.

    >>> store = ThreadStore(db.engine)
    >>> await store.delete_thread("thread_abc", key_id=None)
    >>> await store.purge_threads(datetime.now(UTC) - timedelta(days=30))   # → threads removed
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from llmrelay.storage.assistants import (
    MESSAGES,
    RUNS,
    STEPS,
    AssistantStore,
    JSONObject,
    messages,
    plain,
    run_steps,
    runs,
    scoped,
    threads,
)

ACTIVE_RUN = ("queued", "in_progress", "requires_action", "cancelling")
"""Run statuses that hold the thread: no second run and no new message meanwhile (as OpenAI does)."""


class ThreadStore(AssistantStore):
    async def delete_thread(self, thread_id: str, key_id: str | None) -> bool:
        """The thread, its messages, runs and run steps; False when `key_id` owns no such thread."""
        async with self.engine.begin() as conn:
            found = await conn.execute(sa.delete(threads).where(threads.c.id == thread_id, scoped(threads, key_id)))
            if not found.rowcount:
                return False
            await _delete_children(conn, [thread_id])
        return True

    async def purge_threads(self, older_than: datetime) -> int:
        """Delete every thread created before `older_than` (any key's), with its messages, runs and
        steps; returns how many threads went. The admin garbage collection calls it."""
        cutoff = int(older_than.timestamp())
        async with self.engine.begin() as conn:
            ids = list((await conn.execute(sa.select(threads.c.id).where(threads.c.created_at < cutoff))).scalars())
            for start in range(0, len(ids), 500):  # bounded IN lists
                chunk = ids[start : start + 500]
                await conn.execute(sa.delete(threads).where(threads.c.id.in_(chunk)))
                await _delete_children(conn, chunk)
        return len(ids)

    async def active_run(self, thread_id: str) -> str | None:
        """The id of the thread's run that is not finished, if any."""
        query = sa.select(runs.c.id).where(runs.c.thread_id == thread_id, runs.c.status.in_(ACTIVE_RUN)).limit(1)
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def conversation(self, thread_id: str) -> tuple[list[JSONObject], list[JSONObject]]:
        """The thread's messages (oldest first, with `seq`) and its finished tool-call steps (with
        `after_message`: where they go among the messages)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(messages).where(messages.c.thread_id == thread_id).order_by(messages.c.seq)
            )
            found = [plain(m) for m in rows.mappings()]
            steps = await conn.execute(
                sa.select(run_steps)
                .where(run_steps.c.thread_id == thread_id, run_steps.c.type == "tool_calls")
                .order_by(run_steps.c.seq)
            )
            tool_steps = [plain(m) for m in steps.mappings()]
        return found, tool_steps

    async def last_message(self, thread_id: str) -> int | None:
        """The `seq` of the thread's newest message (None for an empty thread)."""
        query = sa.select(sa.func.max(messages.c.seq)).where(messages.c.thread_id == thread_id)
        async with self.engine.connect() as conn:
            seq = (await conn.execute(query)).scalar()
        return None if seq is None else int(seq)

    async def runs_in(self, statuses: Sequence[str]) -> list[JSONObject]:
        """Every run (any key's) in one of `statuses`, oldest first, with its `key_id`: what start-up settles."""
        query = sa.select(runs).where(runs.c.status.in_(statuses)).order_by(runs.c.seq)
        async with self.engine.connect() as conn:
            return [plain(m) for m in (await conn.execute(query)).mappings()]

    async def steps_of(self, run_id: str, status: str | None = None) -> list[JSONObject]:
        """A run's steps (API objects), oldest first; only those in `status` when given."""
        query = sa.select(run_steps).where(run_steps.c.run_id == run_id).order_by(run_steps.c.seq)
        if status is not None:
            query = query.where(run_steps.c.status == status)
        async with self.engine.connect() as conn:
            return [STEPS.render(m) for m in (await conn.execute(query)).mappings()]

    async def run_message_ids(self, run_id: str) -> list[str]:
        query = sa.select(messages.c.id).where(messages.c.run_id == run_id, messages.c.status == "in_progress")
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())


async def _delete_children(conn: AsyncConnection, thread_ids: list[str]) -> None:
    for kind in (MESSAGES, RUNS, STEPS):
        await conn.execute(sa.delete(kind.table).where(kind.table.c.thread_id.in_(thread_ids)))
