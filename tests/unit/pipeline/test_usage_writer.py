"""UsageWriter: batches off the request path, never blocks, drops (counted) when full, retries failed writes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from llmrelay.pipeline.context import RequestRecord
from llmrelay.pipeline.usage import UsageWriter, usage_record
from llmrelay.storage.usage import UsageRecord


class Sink:
    def __init__(self, failures: int = 0) -> None:
        self.batches: list[list[UsageRecord]] = []
        self.failures = failures
        self.wrote = asyncio.Event()

    async def insert(self, records: Sequence[UsageRecord]) -> None:
        if self.failures:
            self.failures -= 1
            raise OperationalError("INSERT", {}, OSError("database is down"))
        self.batches.append(list(records))
        self.wrote.set()

    @property
    def ids(self) -> list[str]:
        return [r.request_id for batch in self.batches for r in batch]


def _row(n: int) -> UsageRecord:
    return UsageRecord(created_at=datetime.now(UTC), request_id=f"r{n}", status=200, latency_ms=1.0)


async def test_a_full_batch_is_written_at_once_in_one_insert() -> None:
    sink = Sink()
    writer = UsageWriter(sink, batch_size=5, interval=60)
    await writer.start()
    for n in range(5):
        writer.submit(_row(n))
    await asyncio.wait_for(sink.wrote.wait(), 5)
    assert [len(b) for b in sink.batches] == [5]
    await writer.stop()


async def test_a_partial_batch_waits_for_the_interval_and_stop_writes_the_rest() -> None:
    sink = Sink()
    writer = UsageWriter(sink, batch_size=100, interval=0.05)
    await writer.start()
    writer.submit(_row(0))
    await asyncio.wait_for(sink.wrote.wait(), 5)
    assert sink.ids == ["r0"]
    writer = UsageWriter(sink, batch_size=100, interval=60)
    await writer.start()
    writer.submit(_row(1))
    writer.submit(_row(2))
    await writer.stop()
    assert sink.ids == ["r0", "r1", "r2"] and writer.pending == 0


async def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    sink = Sink()
    writer = UsageWriter(sink, batch_size=100, capacity=3, interval=60)
    for n in range(5):
        writer.submit(_row(n))  # not started: nothing drains the queue
    assert (writer.pending, writer.dropped) == (3, 2)
    assert await writer.flush()
    assert sink.ids == ["r0", "r1", "r2"]


async def test_a_failed_write_keeps_its_records_for_the_next_try() -> None:
    sink = Sink(failures=1)
    writer = UsageWriter(sink, batch_size=2, interval=0.01)
    writer.submit(_row(0))
    writer.submit(_row(1))
    assert not await writer.flush()
    assert writer.pending == 2 and writer.dropped == 0
    await writer.start()
    writer.submit(_row(2))
    await writer.stop()
    assert sink.ids == ["r0", "r1", "r2"]


def test_usage_record_from_a_request_record() -> None:
    record = RequestRecord("req_1")
    record.model, record.provider, record.upstream_model, record.key_id = "m", "p", "up-m", "key_1"
    record.usage = {
        "prompt_tokens": 10,
        "completion_tokens": 4,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 6},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    record.started -= 0.5  # the request began half a second ago; its first byte went out after 0.25 s
    record.usage_estimated, record.streamed, record.first_byte = True, True, record.started + 0.25
    row = usage_record(record, status=200, path="/v1/chat/completions", cost=None)
    assert (row.prompt_tokens, row.completion_tokens, row.cached_tokens, row.reasoning_tokens) == (10, 4, 6, 2)
    assert row.tokens_estimated and row.streamed and row.key_id == "key_1" and row.deployment == "up-m"
    assert row.ttft_ms == 250.0 and row.latency_ms >= 500.0
    assert row.created_at <= datetime.now(UTC)


class SlowSink(Sink):
    """A database that takes a while: requests keep finishing (and submitting) during each write."""

    def __init__(self, writer_of: list[UsageWriter]) -> None:
        super().__init__()
        self.writer_of = writer_of

    async def insert(self, records: Sequence[UsageRecord]) -> None:
        if not self.batches:  # three records arrive while the first batch is being written
            for n in range(100, 103):
                self.writer_of[0].submit(_row(n))
                await asyncio.sleep(0)
        await super().insert(records)


async def test_records_that_arrive_during_a_write_wait_for_the_next_batch() -> None:
    writers: list[UsageWriter] = []
    sink = SlowSink(writers)
    writer = UsageWriter(sink, batch_size=5, interval=60)
    writers.append(writer)
    await writer.start()
    for n in range(5):
        writer.submit(_row(n))
    await asyncio.wait_for(sink.wrote.wait(), 5)
    await asyncio.sleep(0.01)  # room for a wrong follow-up write of the 3 newcomers, were there one
    assert [len(b) for b in sink.batches] == [5], "the newcomers must not be written at once in a batch of their own"
    assert writer.pending == 3
    await writer.stop()
    assert sink.ids == [f"r{n}" for n in (0, 1, 2, 3, 4, 100, 101, 102)]
