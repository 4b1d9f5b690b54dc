"""Runs of the Assistants API, executed in the background through the relay, on any model.

A created run is `queued` and gets a task of its own. The task moves it to `in_progress`, sends the
thread as a chat request (pipeline/run_chat.py) through `Relay.chat` (so routing, retries,
fallbacks, the key's model allowlist and every provider apply), streams the answer into the thread
(pipeline/run_turn.py) and ends the run:

    queued → in_progress → completed | incomplete (token limit) | failed (upstream error: last_error)
                         → requires_action (function calls) → submit_tool_outputs → queued → …
    cancel: queued | in_progress | requires_action → cancelling → cancelled (the upstream call is cancelled)

Each model call writes its own usage row (the run's key, its cost), since it happens after the HTTP
response that created the run. Every move publishes its `thread.*` event (pipeline/run_events.py).

Restarts: `start()` settles what the last process left: queued runs are resumed, in_progress runs
failed (`last_error` says the gateway restarted), cancelling ones cancelled; requires_action runs
wait for their tool outputs as before. `stop()` lets running runs finish for `grace` seconds, then
cancels them and marks them failed (the gateway shut down): a run is never left behind unsettled.

    >>> runner = Runner(store, relay, usage=writer, cost=accounting.cost); await runner.start()
    >>> runner.launch(run_id, principal); ...; await runner.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from decimal import Decimal

import orjson

from llmrelay.errors import InvalidRequestError, RelayError, StorageUnavailableError, UpstreamProtocolError
from llmrelay.observability.logging import get_logger
from llmrelay.pipeline.context import Principal, RequestContext, RequestRecord
from llmrelay.pipeline.keys import key_info
from llmrelay.pipeline.relay import JSONResult, Relay, StreamResult
from llmrelay.pipeline.run_chat import Answer, chat_body
from llmrelay.pipeline.run_events import RunEvents
from llmrelay.pipeline.run_objects import add_usage, last_error, now
from llmrelay.pipeline.run_turn import Turn, abort_open
from llmrelay.pipeline.stream import close_frames
from llmrelay.pipeline.usage import UsageWriter, usage_record
from llmrelay.schemas.chat import ChatRequest
from llmrelay.storage.assistants import RUNS, STEPS, JSONObject
from llmrelay.storage.keys import STORAGE_ERRORS, KeyStore
from llmrelay.storage.threads import ACTIVE_RUN, ThreadStore
from llmrelay.transport.sse import SSEDecoder

CANCELLABLE = ("queued", "in_progress", "requires_action")
RESTARTED = "The gateway restarted while this run was in progress; create a new run to continue."
SHUT_DOWN = "The gateway shut down while this run was in progress; create a new run to continue."


class Runner:
    def __init__(
        self,
        store: ThreadStore,
        relay: Relay,
        *,
        usage: UsageWriter | None = None,
        cost: Callable[[RequestRecord], Decimal | None] = lambda _: None,
        keys: KeyStore | None = None,
        grace: float = 5.0,
    ) -> None:
        self.store = store
        self.relay = relay
        self.usage = usage
        self.cost = cost
        self.keys = keys
        self.grace = grace
        self.events = RunEvents()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        self._stopping = False
        self.log = get_logger()

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Settle the runs a previous process left unfinished (see the module docstring)."""
        self._stopping = False
        for row in await self.store.runs_in(("queued", "in_progress", "cancelling")):
            if row["status"] == "cancelling":
                await self._cancelled_now(row)
            elif row["status"] == "in_progress":
                await self._fail(row, {"code": "server_error", "message": RESTARTED})
            else:
                principal = await self._principal_of(row["key_id"])
                if principal is None:
                    await self._fail(
                        row, {"code": "invalid_prompt", "message": "The run's API key is no longer valid."}
                    )
                else:
                    self.launch(row["id"], principal)

    async def stop(self) -> None:
        """Give running runs `grace` seconds, then cancel them (each is marked failed: shut down)."""
        self._stopping = True
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _principal_of(self, key_id: str | None) -> Principal | None:
        """Who a resumed run acts for: its key (still usable), or the master/open scope."""
        if key_id is None:
            return Principal("master")
        row = await self.keys.get(key_id) if self.keys is not None else None
        if row is None or row.revoked_at is not None:
            return None
        return Principal("key", None, key_info(row))

    # -- what the API calls -----------------------------------------------------------------------

    def launch(self, run_id: str, principal: Principal) -> None:
        """Execute a queued run in the background."""
        task = asyncio.create_task(self._execute(run_id, principal), name=f"llmrelay-run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))

    async def cancel(self, run: JSONObject) -> JSONObject:
        """Move a run to `cancelling` (returned); its task is cancelled, which ends it as `cancelled`."""
        if run["status"] not in CANCELLABLE:
            raise InvalidRequestError(f"Cannot cancel run with status '{run['status']}'.", code="run_not_cancellable")
        cancelling = await self.store.update(RUNS, run["id"], {"status": "cancelling"}, only_if={"status": CANCELLABLE})
        if cancelling is None:
            raise InvalidRequestError("The run finished before it could be cancelled.", code="run_not_cancellable")
        self.events.publish(run["id"], "thread.run.cancelling", cancelling)
        task = self._tasks.get(run["id"])
        if task is not None and not task.done():
            self._cancelled.add(run["id"])
            task.cancel()
        elif run["status"] == "requires_action" or task is None:
            row = await self.store.owned_row(RUNS, run["id"])
            if row is not None:
                await self._cancelled_now(row)
        return cancelling

    async def submit_tool_outputs(self, run: JSONObject, outputs: list[JSONObject], principal: Principal) -> JSONObject:
        """Record the outputs of every call the run waits for (400 unless each is given once), then
        queue the run again; returns it `queued`."""
        if run["status"] != "requires_action":
            raise InvalidRequestError(
                f"Runs in status '{run['status']}' do not accept tool outputs.", code="run_not_waiting"
            )
        wanted = [call["id"] for call in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
        given = {str(o["tool_call_id"]): o.get("output") or "" for o in outputs}
        if sorted(given) != sorted(wanted) or len(given) != len(outputs):
            raise InvalidRequestError(
                f"Expected tool outputs for call_ids {wanted}, got {[o['tool_call_id'] for o in outputs]}.",
                param="tool_outputs",
            )
        for step in await self.store.steps_of(run["id"], "in_progress"):
            if step["type"] != "tool_calls":
                continue
            calls = [_with_output(call, given) for call in step["step_details"]["tool_calls"]]
            changes = {
                "status": "completed",
                "completed_at": now(),
                "step_details": {**step["step_details"], "tool_calls": calls},
            }
            done = await self.store.update(STEPS, step["id"], changes)
            self.events.publish(run["id"], "thread.run.step.completed", done)
        queued = await self.store.update(
            RUNS, run["id"], {"status": "queued", "required_action": None}, only_if={"status": ["requires_action"]}
        )
        if queued is None:
            raise InvalidRequestError("The run is no longer waiting for tool outputs.", code="run_not_waiting")
        self.events.publish(run["id"], "thread.run.queued", queued)
        self.launch(run["id"], principal)
        return queued

    # -- execution --------------------------------------------------------------------------------

    async def _execute(self, run_id: str, principal: Principal) -> None:
        row: JSONObject | None = None
        try:
            row = await self._begin(run_id)
            if row is not None:
                await self._turn(row, principal)
        except asyncio.CancelledError:
            await self._interrupted(run_id)
            raise
        except RelayError as exc:
            if row is not None:
                await self._fail(row, last_error(exc))
        except STORAGE_ERRORS as exc:
            self.log.error("run_storage_failed", run_id=run_id, error=type(exc).__name__)
            self._storage_failed(run_id)
        except Exception:
            # The task's last resort, as the edge's: a bug must not leave the run (and its stream) hanging.
            self.log.exception("run_failed_unexpectedly", run_id=run_id)
            if row is not None:
                await self._fail(row, {"code": "server_error", "message": "The gateway failed to execute this run."})
        finally:
            self._cancelled.discard(run_id)

    def _storage_failed(self, run_id: str) -> None:
        """The database failed mid-run: a client streaming the run gets an `error` event that ends it."""
        error = StorageUnavailableError("The gateway's database failed during the run.")
        self.events.publish(run_id, "error", error.to_body()["error"])

    async def _begin(self, run_id: str) -> JSONObject | None:
        """The run moved to `in_progress` (with its row's key_id), or None when it is not queued any more."""
        row = await self.store.owned_row(RUNS, run_id)
        if row is None:
            return None
        if row["status"] == "cancelling":
            await self._cancelled_now(row)
            return None
        changes = {"status": "in_progress", "started_at": row["started_at"] or now()}
        moved = await self.store.update(RUNS, run_id, changes, only_if={"status": ["queued"]})
        if moved is None:
            return None
        self.events.publish(run_id, "thread.run.in_progress", moved)
        return {**row, **changes}

    async def _turn(self, row: JSONObject, principal: Principal) -> None:
        messages, tool_steps = await self.store.conversation(row["thread_id"])
        used = int((row.get("usage") or {}).get("completion_tokens") or 0)
        body = chat_body(row, messages, tool_steps, used)
        turn, answer = Turn(self.store, self.events, row), Answer()
        record = RequestRecord(f"req_{uuid.uuid4().hex}")
        status = 200
        try:
            request = ChatRequest.parse(orjson.dumps(body), created=int(time.time()), request_id=record.request_id)
            result = await self.relay.chat(RequestContext(principal, record), request)
            async with contextlib.aclosing(_chunks(result)) as chunks:
                async for chunk in chunks:
                    text, deltas = answer.feed(chunk)
                    if text:
                        await turn.text(text)
                    if deltas:
                        await turn.tool_deltas(deltas)
        except RelayError as exc:
            status = exc.status_code
            raise
        except asyncio.CancelledError:
            status = 499
            raise
        finally:
            self._record_usage(record, status, row)
        reported = answer.usage or record.usage
        usage = dict(reported) if reported else None
        calls, cut = await turn.finish(answer, usage)
        await self._end_turn(row, calls, cut, add_usage(row.get("usage"), usage))

    async def _end_turn(self, row: JSONObject, calls: list[JSONObject], cut: bool, usage: JSONObject | None) -> None:
        changes: JSONObject = {"usage": usage}
        if calls:
            action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
            changes.update(status="requires_action", required_action=action)
        elif cut and row.get("max_completion_tokens") is not None:
            changes.update(status="incomplete", incomplete_details={"reason": "max_completion_tokens"})
        else:
            changes.update(status="completed", completed_at=now())
        ended = await self.store.update(RUNS, row["id"], changes, only_if={"status": ["in_progress"]})
        if ended is None:  # cancelled meanwhile (e.g. from another process)
            fresh = await self.store.owned_row(RUNS, row["id"])
            if fresh is not None and fresh["status"] == "cancelling":
                await self._cancelled_now(fresh)
            return
        self.events.publish(row["id"], f"thread.run.{ended['status']}", ended)

    async def _interrupted(self, run_id: str) -> None:
        row = await self.store.owned_row(RUNS, run_id)
        if row is None:
            return
        if run_id in self._cancelled or row["status"] == "cancelling":
            await self._cancelled_now(row)
        elif row["status"] == "in_progress":
            await self._fail(row, {"code": "server_error", "message": SHUT_DOWN})

    async def _cancelled_now(self, row: JSONObject) -> None:
        await abort_open(self.store, self.events, row, "cancelled", None)
        changes = {"status": "cancelled", "cancelled_at": now(), "required_action": None}
        done = await self.store.update(RUNS, row["id"], changes, only_if={"status": ACTIVE_RUN})
        if done is not None:
            self.events.publish(row["id"], "thread.run.cancelled", done)

    async def _fail(self, row: JSONObject, error: JSONObject) -> None:
        await abort_open(self.store, self.events, row, "failed", error)
        changes = {"status": "failed", "failed_at": now(), "last_error": error, "required_action": None}
        done = await self.store.update(RUNS, row["id"], changes, only_if={"status": ["queued", "in_progress"]})
        if done is not None:
            self.events.publish(row["id"], "thread.run.failed", done)

    def _record_usage(self, record: RequestRecord, status: int, row: JSONObject) -> None:
        if self.usage is None:
            return
        path = f"/v1/threads/{row['thread_id']}/runs/{row['id']}"
        self.usage.submit(usage_record(record, status=status, path=path, cost=self.cost(record)))


async def _chunks(result: JSONResult | StreamResult) -> AsyncGenerator[JSONObject, None]:
    """The model's streamed answer (`chat_body` always asks for a stream) as chat.completion.chunk
    objects; an error event in the stream raises it."""
    assert isinstance(result, StreamResult)
    decoder, frames = SSEDecoder(), result.frames
    try:
        async for frame in frames:
            for event in decoder.feed(frame):
                if event.data == "[DONE]":
                    return
                chunk = orjson.loads(event.data)
                if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
                    raise UpstreamProtocolError(str(chunk["error"].get("message") or "The upstream stream failed."))
                yield chunk
    finally:
        await close_frames(frames)  # a cancelled run closes the stream, which aborts the upstream request


def _with_output(call: JSONObject, given: dict[str, str]) -> JSONObject:
    if call.get("type") != "function" or call["id"] not in given:
        return call
    return {**call, "function": {**call["function"], "output": given[call["id"]]}}
