"""Graceful shutdown of a real `llmrelay serve`: SIGTERM in the middle of a stream stops new connections,
lets the stream finish with its `[DONE]`, flushes its usage record and exits 0."""

from __future__ import annotations

import contextlib
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import yaml
from tests.conftest import gateway_config
from tests.fakes.openai import FakeOpenAI, Gate
from tests.fakes.server import Server
from tests.process import HELLO, clean_env, server_process


def _refused(base: str) -> bool:
    address = urlsplit(base)
    try:
        with socket.create_connection((address.hostname, address.port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def _wait_until_refused(base: str, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _refused(base):
            return True
        time.sleep(0.02)  # polling the listening socket's state, not synchronising on time
    return False


def test_sigterm_drains_a_stream_then_exits_zero(tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server]) -> None:
    fake, upstream = upstream_server
    fake.reset()
    gate = threading.Event()
    fake.plan(Gate(gate))
    database = tmp_path / "relay.db"
    config = gateway_config(upstream.base_url, database=f"sqlite:///{database}", server={"shutdown_timeout": 20})
    path = tmp_path / "llmrelay.yaml"
    path.write_text(yaml.safe_dump(config))
    body = {"model": "fast", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    with (
        server_process(["--config", str(path)], tmp_path, clean_env()) as (proc, base, _),
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{base}/v1/chat/completions", json=body) as response,
    ):
        try:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            proc.send_signal(signal.SIGTERM)
            assert _wait_until_refused(base), "the listening socket stayed open after SIGTERM"
            assert proc.poll() is None, "the process exited before its stream ended"
        finally:
            gate.set()  # let the upstream finish the stream, whatever happened above
        rest = [line for line in lines if line.startswith("data: ")]
        assert response.status_code == 200
    assert rest[-1] == "data: [DONE]"
    chunks = [orjson.loads(line[6:]) for line in [first, *rest[:-1]]]
    assert any(c["choices"] and c["choices"][0].get("finish_reason") == "stop" for c in chunks)
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert proc.wait(timeout=30) == 0
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT status FROM usage_records WHERE path = '/v1/chat/completions'").fetchall()
    assert rows == [(200,)]  # flushed at shutdown, after the stream ended
