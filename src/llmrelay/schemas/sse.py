"""SSEEvent: one Server-Sent Event, the unit adapters receive from `transport.sse.SSEDecoder`.

It lives here, beside the other wire shapes, so that pure adapters can name it without importing
transport/.

    >>> SSEEvent(data='{"type":"ping"}', event="ping").event
    'ping'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event. `data` is never None: an event that has only a name carries `data=""`."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None
