"""The hot-path access line (logging.hot_info) against structlog's own rendering."""

from __future__ import annotations

import asyncio
import io

import orjson
import pytest

from llmrelay.observability import logging as log_module
from llmrelay.observability.logging import (
    ATOMIC_WRITE,
    HOT_FLUSH_SECONDS,
    configure,
    flush_hot,
    get_logger,
    hot_info,
)


def test_hot_info_writes_what_structlog_would(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    try:
        configure("INFO")
        hot_info("request", {"status": 200, "model": "m"})
        get_logger().info("request", status=200, model="m")
        configure("WARNING")
        hot_info("request", {"status": 500})
    finally:
        out = capsysbinary.readouterr().out
        with capsysbinary.disabled():  # back to the real stdout: later tests must not log into a closed capture
            configure("ERROR")
    hot, slow = (orjson.loads(line) for line in out.splitlines())
    assert hot.keys() == slow.keys()
    assert {k: v for k, v in hot.items() if k != "timestamp"} == {k: v for k, v in slow.items() if k != "timestamp"}
    assert hot["timestamp"].endswith("Z") and len(hot["timestamp"]) == len(slow["timestamp"])


def test_lines_on_an_event_loop_are_written_together_and_in_order(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    async def serve() -> bytes:
        hot_info("request", {"n": 1})
        hot_info("request", {"n": 2})
        held = capsysbinary.readouterr().out  # nothing written yet: the two lines wait for one write
        get_logger().warning("slow_thing")  # any other line writes the waiting ones first
        hot_info("request", {"n": 3})
        flush_hot()
        return held

    try:
        configure("INFO")
        held = asyncio.run(serve())
    finally:
        out = capsysbinary.readouterr().out
        with capsysbinary.disabled():
            configure("ERROR")
    assert held == b""
    events = [(line["event"], line.get("n")) for line in map(orjson.loads, out.splitlines())]
    assert events == [("request", 1), ("request", 2), ("slow_thing", None), ("request", 3)]


def test_a_waiting_line_is_written_by_the_loops_timer(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    async def serve() -> None:
        hot_info("request", {"n": 1})
        await asyncio.sleep(HOT_FLUSH_SECONDS * 2)  # deterministic: the loop runs the earlier timer first

    try:
        configure("INFO")
        asyncio.run(serve())
        out = capsysbinary.readouterr().out
    finally:
        with capsysbinary.disabled():
            configure("ERROR")
    assert [orjson.loads(line)["n"] for line in out.splitlines()] == [1]


def test_a_batch_goes_out_in_whole_lines_of_at_most_one_atomic_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--workers N` share stdout: a write of at most PIPE_BUF bytes is never interleaved with another's."""
    writes: list[bytes] = []

    class Out(io.BytesIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            writes.append(bytes(data))
            return len(data)

    async def serve() -> None:
        for n in range(100):
            hot_info("request", {"n": n, "pad": "x" * 200})
        flush_hot()

    monkeypatch.setattr(log_module._Hot, "out", Out())
    asyncio.run(serve())
    assert len(writes) > 1 and all(len(w) <= ATOMIC_WRITE and w.endswith(b"\n") for w in writes)
    assert [orjson.loads(line)["n"] for line in b"".join(writes).splitlines()] == list(range(100))
