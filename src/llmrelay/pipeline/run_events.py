"""The `thread.*` events of runs, fanned out to the clients streaming them.

The run executor publishes every event of a run (`thread.run.in_progress`, `thread.message.delta`, …);
a client that asked for `stream: true` subscribed before the run started and reads them as SSE frames
(`event: NAME` + `data: JSON`) until the run stops (completed, failed, cancelled, expired, incomplete,
or requires_action), then `event: done` / `data: [DONE]`, which is what the openai SDK's
AssistantEventHandler reads. Nobody listening costs nothing: events of an unwatched run are dropped.

    >>> hub = RunEvents()
    >>> subscription = hub.subscribe("run_abc")          # before the run starts
    >>> hub.publish("run_abc", "thread.run.completed", run)
    >>> async for frame in subscription.frames(): ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from llmrelay.schemas.stream import named_event

ENDS_STREAM = frozenset(
    {
        "thread.run.completed",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
        "thread.run.incomplete",
        "thread.run.requires_action",
        "error",
    }
)
DONE_FRAME = b"event: done\ndata: [DONE]\n\n"

Event = tuple[str, Any]


frame = named_event


class Subscription:
    """One client's view of one run's events: `frames()` to send, `close()` if it will never be sent."""

    def __init__(self, hub: RunEvents, run_id: str) -> None:
        self.hub = hub
        self.run_id = run_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    async def frames(self) -> AsyncIterator[bytes]:
        try:
            while True:
                event, data = await self.queue.get()
                yield frame(event, data)
                if event in ENDS_STREAM:
                    break
            yield DONE_FRAME
        finally:
            self.close()

    def close(self) -> None:
        self.hub.leave(self)


class RunEvents:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Subscription]] = {}

    def subscribe(self, run_id: str, first: list[Event] | None = None) -> Subscription:
        """The events of `run_id` from now on, after `first` (events the caller already has); its
        frames end after the event that stops the run. Subscribe before starting the run."""
        subscription = Subscription(self, run_id)
        for event in first or ():
            subscription.queue.put_nowait(event)
        self._listeners.setdefault(run_id, []).append(subscription)
        return subscription

    def publish(self, run_id: str, event: str, data: object) -> None:
        for subscription in self._listeners.get(run_id, ()):
            subscription.queue.put_nowait((event, data))

    def leave(self, subscription: Subscription) -> None:
        listeners = self._listeners.get(subscription.run_id, [])
        if subscription in listeners:
            listeners.remove(subscription)
        if not listeners:
            self._listeners.pop(subscription.run_id, None)
