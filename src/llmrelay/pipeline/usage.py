"""Usage records written off the request path: a bounded in-memory queue, flushed in batches.

The edge hands each finished request to `UsageWriter.submit`, which only appends to a list: it
never waits for the database. A background task writes the queue in one executemany when it holds
`batch_size` records or when the oldest has waited `interval` seconds. `stop()` (graceful shutdown)
writes what is left.

When the queue is full (`capacity` records: the database is down or far too slow), new records are
dropped and counted, never waited for: serving traffic matters more than its accounting. The first
drop logs `usage_queue_full`, and each later write logs `usage_records_dropped` with the running
count. A failed write is logged and its records go back to the queue for the next try.

    >>> writer = UsageWriter(UsageStore(db.engine)); await writer.start()
    >>> writer.submit(usage_record(record, status=200, path="/v1/chat/completions", cost=None))
    >>> await writer.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from llmrelay.observability.logging import get_logger
from llmrelay.pipeline.context import RequestRecord
from llmrelay.storage.usage import UsageRecord

_WRITE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)


class UsageSink(Protocol):
    async def insert(self, records: Sequence[UsageRecord]) -> None: ...


def usage_record(record: RequestRecord, *, status: int, path: str, cost: Decimal | None) -> UsageRecord:
    """The row one finished request leaves; call it when the response has ended."""
    started = record.started
    latency = time.perf_counter() - started
    usage, first = record.usage, record.first_byte
    prompt = completion = cached = reasoning = None
    if usage:
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if details := usage.get("prompt_tokens_details"):
            cached = details.get("cached_tokens")
        if more := usage.get("completion_tokens_details"):
            reasoning = more.get("reasoning_tokens")
    return UsageRecord(  # positionally, in field order: one is built per request
        datetime.fromtimestamp(time.time() - latency, UTC),  # created_at
        record.request_id,
        status,
        round(latency * 1000, 3),  # latency_ms
        path[:100],
        record.key_id,
        record.model,
        record.provider,
        record.upstream_model,  # deployment
        prompt,
        completion,
        cached,
        reasoning,
        record.usage_estimated,  # tokens_estimated
        cost,
        None if first is None else round((first - started) * 1000, 3),  # ttft_ms
        record.streamed,
        record.incomplete,
    )


class UsageWriter:
    """Batches records for `sink`. Defaults: 200 records or 0.5 s per write, at most 50,000 queued."""

    def __init__(
        self,
        sink: UsageSink,
        *,
        batch_size: int = 200,
        interval: float = 0.5,
        capacity: int = 50_000,
        stop_timeout: float = 10.0,
    ) -> None:
        self.sink = sink
        self.batch_size = batch_size
        self.interval = interval
        self.capacity = capacity
        self.stop_timeout = stop_timeout
        self.dropped = 0
        self._queue: list[UsageRecord] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._reported = 0
        self.log = get_logger()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, record: UsageRecord) -> None:
        """Queue one record; never blocks. A full queue drops it (counted and logged)."""
        queue = self._queue
        if len(queue) >= self.capacity:
            self.dropped += 1
            if self.dropped == 1:
                self.log.warning("usage_queue_full", capacity=self.capacity, hint="usage records are being dropped")
            return
        queue.append(record)
        if len(queue) == 1 or len(queue) >= self.batch_size:
            self._wake.set()

    async def start(self) -> None:
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="llmrelay-usage-writer")

    async def flush(self) -> bool:
        """Write what is queued now, one executemany per `batch_size` records; False if a write failed.

        Only what is queued when it starts: records that arrive meanwhile wait for the next batch.
        (Draining until empty wrote a batch of the few records that came in during each write, one
        after another, as long as traffic lasted: ~230 writes a second at c=1, 6 records each.)"""
        async with self._lock:
            pending, self._queue = self._queue, []
            for start in range(0, len(pending), self.batch_size):
                if not await self._write(pending[start : start + self.batch_size]):
                    self._requeue(pending[start:])
                    return False
        return True

    async def stop(self) -> None:
        """Stop the background task and write what is left, giving up after `stop_timeout` seconds."""
        self._closing = True
        self._wake.set()
        try:
            if self._task is not None:
                await asyncio.wait_for(self._task, self.stop_timeout)
            await asyncio.wait_for(self._drain(), self.stop_timeout)
        except TimeoutError:
            self.log.error("usage_records_lost", count=len(self._queue), reason="the database did not answer in time")
        self._task = None

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            if len(self._queue) < self.batch_size and not self._closing:
                # Wait for a full batch, or for the oldest record to be `interval` old.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                self._wake.clear()
            if not await self.flush() and not self._closing:
                await asyncio.sleep(self.interval)  # back off while the database is down
                self._wake.set()

    async def _drain(self) -> None:
        while self._queue and await self.flush():
            pass

    async def _write(self, batch: list[UsageRecord]) -> bool:
        """Insert `batch`; False (logged) when the database refused it."""
        try:
            await self.sink.insert(batch)
        except _WRITE_ERRORS as exc:
            self.log.warning("usage_write_failed", records=len(batch), error=type(exc).__name__)
            return False
        if self.dropped != self._reported:
            self._reported = self.dropped
            self.log.warning("usage_records_dropped", count=self.dropped)
        return True

    def _requeue(self, records: list[UsageRecord]) -> None:
        """Put records that could not be written back at the head of the queue, as far as room allows."""
        room = max(self.capacity - len(self._queue), 0)
        self.dropped += max(len(records) - room, 0)
        self._queue = records[:room] + self._queue
