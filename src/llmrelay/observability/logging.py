"""Structured JSON logs, one object per line on stdout, with secrets redacted.

LOG_LEVEL is DEBUG..CRITICAL or NONE (nothing at all).

    >>> configure("INFO"); log = get_logger()
    >>> log.info("request", request_id="req_1", status=200)   # {"event":"request","request_id":"req_1",...}
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson
import structlog
from structlog.typing import FilteringBoundLogger

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50, "NONE": 100}
_SECRET_KEYS = frozenset({"api_key", "authorization", "token", "master_key", "key", "password", "secret"})


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for name in _SECRET_KEYS.intersection(event):
        event[name] = "[redacted]"
    return event


def _drop(_: Any, __: str, ___: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    raise structlog.DropEvent


HOT_FLUSH_SECONDS = 0.05
"""How long an access line may wait to be written with the ones after it (one write per batch)."""
HOT_BATCH = 256


class _Hot:
    """Where `hot_info` writes: set by `configure` (None: INFO is off); the lines not yet written, and
    the event loop whose timer will write them."""

    out: BinaryIO | None = None
    pending: list[bytes] = []  # noqa: RUF012 (one list for the process, on purpose)
    timer_loop: asyncio.AbstractEventLoop | None = None


def hot_info(event: str, fields: dict[str, Any]) -> None:
    """`get_logger().info(event, **fields)` for the once-per-request access line: the same JSON object
    (with `event`, `level`, `timestamp`) without structlog's processor chain. Lines written on an
    event loop are written together within `HOT_FLUSH_SECONDS` (a write system call per line was
    a fifth of the line's cost); `flush_hot` writes them at once. Nothing is redacted, so `fields`
    must never hold a secret."""
    out = _Hot.out
    if out is None:
        return
    fields["event"] = event
    fields["level"] = "info"
    fields["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    pending = _Hot.pending
    pending.append(orjson.dumps(fields))
    loop = asyncio._get_running_loop()
    if loop is None or len(pending) >= HOT_BATCH:
        flush_hot()
    elif _Hot.timer_loop is not loop:  # none due yet (or it was due on a loop that has ended)
        _Hot.timer_loop = loop
        loop.call_later(HOT_FLUSH_SECONDS, flush_hot)


ATOMIC_WRITE = 4096
"""PIPE_BUF on Linux: a write to a pipe up to this size is never interleaved with another process's
(`--workers N` share stdout), so a batch goes out in writes of whole lines up to this size."""


def flush_hot() -> None:
    """Write the access lines that are waiting (at shutdown, and before any other log line)."""
    _Hot.timer_loop = None
    pending, out = _Hot.pending, _Hot.out
    if not pending:
        return
    lines, _Hot.pending = pending, []
    if out is None:
        return
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > ATOMIC_WRITE:
            _write(out, chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    _write(out, chunk)


def _write(out: BinaryIO, lines: list[bytes]) -> None:
    out.write(b"\n".join(lines) + b"\n")
    out.flush()  # one write system call per chunk


def configure(level: str) -> None:
    """Route structlog (and the stdlib loggers of uvicorn and aiohttp) to JSON on stdout."""
    numeric = _LEVELS[level.upper()]
    flush_hot()
    _Hot.out = sys.stdout.buffer if numeric <= logging.INFO else None
    silent = numeric > logging.CRITICAL
    structlog.configure(
        processors=[
            *([_drop] if silent else []),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(min(numeric, logging.CRITICAL)),
        logger_factory=_FlushingFactory(sys.stdout.buffer),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_JSONFormatter())
    for name in ("uvicorn", "uvicorn.error", "aiohttp"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(numeric if numeric <= 50 else logging.CRITICAL + 10)
    logging.getLogger("uvicorn.access").disabled = True


def get_logger() -> FilteringBoundLogger:
    logger: FilteringBoundLogger = structlog.get_logger("llmrelay")
    return logger


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"event": record.getMessage(), "level": record.levelname.lower(), "logger": record.name}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class _FlushingLogger(structlog.BytesLogger):
    """structlog's bytes logger, writing the waiting access lines first so that lines stay in order."""

    def msg(self, message: bytes) -> None:
        flush_hot()
        super().msg(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _FlushingFactory:
    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _FlushingLogger:
        return _FlushingLogger(self._file)


atexit.register(flush_hot)
