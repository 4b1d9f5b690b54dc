"""Serve an ASGI app with uvicorn in a background thread for the length of a ``with`` block.

    with serve_in_thread(app) as server:
        httpx.get(server.base_url + "/v1/models")

The port is bound before uvicorn starts (port 0, so the OS picks a free one), readiness is an event set
once uvicorn's ``startup()`` has returned, and leaving the block asks uvicorn to exit and joins the
thread. Modelled on ``serve_in_thread`` in httpx's ``tests/conftest.py``. A request still open at
exit (say a fake hanging on a client that never disconnects) is cancelled after a 1 s grace period,
and uvicorn logs that: it means the client side leaked a connection.

A fake that must drop a connection mid-response raises :class:`AbortConnection` from its ASGI app:
uvicorn then closes the socket without finishing the body, and the "Exception in ASGI application"
record it would log for that deliberate abort is filtered out.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

_STARTUP_TIMEOUT = 5.0
_SHUTDOWN_TIMEOUT = 5.0


class AbortConnection(Exception):
    """Raised by a fake's ASGI app to make uvicorn drop the connection after a partial response."""


class _DropAbortRecords(logging.Filter):
    """Hide uvicorn's error record for a deliberate :class:`AbortConnection`."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, AbortConnection)


_ABORT_FILTER = _DropAbortRecords()


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that signals readiness through a ``threading.Event``."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


@dataclass(frozen=True)
class Server:
    """Where a server started by :func:`serve_in_thread` listens."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _bind(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", *, lifespan: str = "off") -> Iterator[Server]:
    """Run ``app`` on ``host`` at a free port in a daemon thread; yield where it listens.

    ``lifespan="on"`` runs the app's start-up and shutdown (the gateway opens its upstream pools there).
    """
    logging.getLogger("uvicorn.error").addFilter(_ABORT_FILTER)
    sock = _bind(host)
    listening = Server(host=host, port=sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,
        lifespan=lifespan,  # type: ignore[arg-type]
        interface="asgi3",
        proxy_headers=False,
        timeout_graceful_shutdown=1,
    )
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        # `ready` is also set when startup fails, so check `started` rather than trusting the wakeup.
        if not server.ready.wait(_STARTUP_TIMEOUT) or not server.started:
            raise RuntimeError(f"uvicorn did not start on {host}")
        yield listening
    finally:
        server.should_exit = True
        thread.join(_SHUTDOWN_TIMEOUT)
        sock.close()
