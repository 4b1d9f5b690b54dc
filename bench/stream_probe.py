"""Count how many socket reads one SSE response takes, and check its bytes against the fixture.

Usage: .venv/bin/python bench/stream_probe.py [--url URL] [--model M] [--requests N]

Without --url it starts the fake nginx upstream (as bench/run.py does) and probes its SSE port,
pinned like a benchmark run: nginx on core 1, this client (in the gateway's place) on core 0.
With --url it probes any running target, e.g. the floor or llmrelay (pass --model bench-stream).
All requests go over one keep-alive connection; every `data_received` call is one socket read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import fixtures
from procs import ProcessGroup, two_cores
from upstream import start_nginx


class _Reads(asyncio.Protocol):
    """Collects each read of the current response; the future resolves when it is complete."""

    def __init__(self) -> None:
        self.reads: list[bytes] = []
        self.done: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.reads.append(data)
        if self.done and not self.done.done() and _complete(b"".join(self.reads)):
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done and not self.done.done():
            self.done.set_exception(ConnectionError(f"connection closed: {exc}"))


def _complete(raw: bytes) -> bool:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    if b"transfer-encoding: chunked" in head.lower():
        return body.endswith(b"0\r\n\r\n") and dechunk(body) is not None
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def dechunk(body: bytes) -> bytes | None:
    """The payload of a complete chunked body, or None when it is not complete yet."""
    out, pos = [], 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        start = eol + 2
        if len(body) < start + size + 2:
            return None
        out.append(body[start : start + size])
        pos = start + size + 2


async def probe(url: str, model: str, requests: int) -> bool:
    """Send `requests` streaming requests on one connection; print reads per response."""
    parts = urlsplit(url)
    body = fixtures.request_body(model, stream=True)
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer sk-bench\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_connection(_Reads, parts.hostname, parts.port)
    expected = fixtures.chat_stream_body()
    events = len(fixtures.chat_stream_events())
    ok = True
    try:
        for n in range(1, requests + 1):
            proto.reads, proto.done = [], loop.create_future()
            transport.write(request)
            await asyncio.wait_for(proto.done, 10)
            _head, _sep, raw_body = b"".join(proto.reads).partition(b"\r\n\r\n")
            payload = dechunk(raw_body) if raw_body.endswith(b"0\r\n\r\n") else raw_body
            same = payload == expected
            ok = ok and same
            sizes = " ".join(str(len(r)) for r in proto.reads)
            print(
                f"request {n}: {len(proto.reads)} reads for {events} events; "
                f"body {len(payload or b'')} bytes, identical to fixture: {same}; read sizes: {sizes}"
            )
    finally:
        transport.close()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="probe this URL instead of starting the fake upstream")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    if args.url:
        return 0 if asyncio.run(probe(args.url, args.model, args.requests)) else 1
    tmp = Path(tempfile.mkdtemp(prefix="llmrelay-probe-"))
    procs = ProcessGroup()
    try:
        pinning = two_cores()
        up = start_nginx(procs, tmp, 1 if pinning else None)
        if pinning:
            os.sched_setaffinity(0, {0})
        return 0 if asyncio.run(probe(up.stream_url, args.model, args.requests)) else 1
    finally:
        procs.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
