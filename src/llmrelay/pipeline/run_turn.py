"""One model call of a run, written into the thread as it streams.

The first text delta creates the assistant message (`in_progress`) and its `message_creation` step;
each delta then goes out as `thread.message.delta`. The first tool-call delta creates a `tool_calls`
step, its deltas go out as `thread.run.step.delta`. `finish` completes the message (or marks it
incomplete when the token limit cut it) and returns the function calls the run must wait for;
`abort_open` settles what a stopped run left open.

    >>> turn = Turn(store, events, run)
    >>> await turn.text("Hel"); await turn.text("lo"); calls = await turn.finish(answer)
"""

from __future__ import annotations

from typing import Any

from llmrelay.pipeline.run_chat import Answer
from llmrelay.pipeline.run_events import RunEvents
from llmrelay.pipeline.run_objects import add_usage, message_values, now, step_values, text_part
from llmrelay.storage.assistants import MESSAGES, STEPS, JSONObject
from llmrelay.storage.threads import ThreadStore


class Turn:
    def __init__(self, store: ThreadStore, events: RunEvents, run: JSONObject) -> None:
        self.store = store
        self.events = events
        self.run = run
        self.message: JSONObject | None = None
        self.message_step: JSONObject | None = None
        self.tool_step: JSONObject | None = None

    def _publish(self, event: str, data: object) -> None:
        self.events.publish(self.run["id"], event, data)

    async def text(self, value: str) -> None:
        if self.message is None:
            await self._open_message()
        assert self.message is not None
        part = {"index": 0, "type": "text", "text": {"value": value, "annotations": []}}
        delta = {"id": self.message["id"], "object": "thread.message.delta", "delta": {"content": [part]}}
        self._publish("thread.message.delta", delta)

    async def _open_message(self) -> None:
        run = self.run
        values = message_values(run["thread_id"], "assistant", [], assistant_id=run["assistant_id"],
                                run_id=run["id"], status="in_progress")  # fmt: skip
        self.message = await self.store.insert(MESSAGES, values, run["key_id"])
        details = {"type": "message_creation", "message_creation": {"message_id": self.message["id"]}}
        self.message_step = await self.store.insert(STEPS, step_values(run, details, None), run["key_id"])
        self._publish("thread.run.step.created", self.message_step)
        self._publish("thread.run.step.in_progress", self.message_step)
        self._publish("thread.message.created", self.message)
        self._publish("thread.message.in_progress", self.message)

    async def tool_deltas(self, deltas: list[JSONObject]) -> None:
        run = self.run
        if self.tool_step is None:
            after = await self.store.last_message(run["thread_id"])
            details: JSONObject = {"type": "tool_calls", "tool_calls": []}
            self.tool_step = await self.store.insert(STEPS, step_values(run, details, after), run["key_id"])
            self._publish("thread.run.step.created", self.tool_step)
            self._publish("thread.run.step.in_progress", self.tool_step)
        calls = [_call_delta(delta) for delta in deltas]
        step_delta = {
            "id": self.tool_step["id"],
            "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": calls}},
        }
        self._publish("thread.run.step.delta", step_delta)

    async def finish(self, answer: Answer, usage: JSONObject | None) -> tuple[list[JSONObject], bool]:
        """Settle the turn; returns the function calls to wait for and whether the token limit cut the answer."""
        cut = answer.finish_reason == "length"
        calls = [call for call in answer.tool_calls if call["function"]["name"]]
        if self.message is None and not calls:
            await self._open_message()  # a turn that said nothing still leaves its (empty) message
        if self.message is not None:
            await self._close_message("".join(answer.text), cut, None if calls else usage)
        if calls and self.tool_step is not None:
            tool_calls = [{**call, "function": {**call["function"], "output": None}} for call in calls]
            details = {"type": "tool_calls", "tool_calls": tool_calls}
            changes = {"step_details": details, "usage": add_usage(None, usage)}
            self.tool_step = await self.store.update(STEPS, self.tool_step["id"], changes) or self.tool_step
        return calls, cut

    async def _close_message(self, text: str, cut: bool, usage: JSONObject | None) -> None:
        assert self.message is not None and self.message_step is not None
        moment = now()
        changes: JSONObject = {
            "content": [text_part(text)] if text else [],
            "status": "incomplete" if cut else "completed",
        }
        if cut:
            changes.update(incomplete_at=moment, incomplete_details={"reason": "max_tokens"})
        else:
            changes["completed_at"] = moment
        self.message = await self.store.update(MESSAGES, self.message["id"], changes) or self.message
        self._publish("thread.message.incomplete" if cut else "thread.message.completed", self.message)
        step_changes = {"status": "completed", "completed_at": moment, "usage": add_usage(None, usage)}
        self.message_step = await self.store.update(STEPS, self.message_step["id"], step_changes) or self.message_step
        self._publish("thread.run.step.completed", self.message_step)


async def abort_open(store: ThreadStore, events: RunEvents, run: JSONObject, status: str, error: Any) -> None:
    """A stopped run's open work: `in_progress` messages become incomplete, `in_progress` steps take
    `status` (cancelled or failed, with `error` as their last_error)."""
    moment = now()
    reason = "run_cancelled" if status == "cancelled" else "run_failed"
    for message_id in await store.run_message_ids(run["id"]):
        changes = {"status": "incomplete", "incomplete_at": moment, "incomplete_details": {"reason": reason}}
        message = await store.update(MESSAGES, message_id, changes)
        if message is not None:
            events.publish(run["id"], "thread.message.incomplete", message)
    for step in await store.steps_of(run["id"], "in_progress"):
        changes = {"status": status, f"{status}_at": moment}
        if status == "failed" and error is not None:
            changes["last_error"] = {"code": "rate_limit_exceeded" if error["code"] == "rate_limit_exceeded"
                                     else "server_error", "message": error["message"]}  # fmt: skip
        settled = await store.update(STEPS, step["id"], changes)
        if settled is not None:
            events.publish(run["id"], f"thread.run.step.{status}", settled)


def _call_delta(delta: JSONObject) -> JSONObject:
    """A chat tool-call delta as a run step's function tool-call delta."""
    call: JSONObject = {"index": int(delta.get("index", 0)), "type": "function"}
    if delta.get("id"):
        call["id"] = delta["id"]
    function = delta.get("function") or {}
    call["function"] = {
        "name": function.get("name"),
        "arguments": function.get("arguments") or "",
        "output": None,
    }
    if call["function"]["name"] is None:
        del call["function"]["name"]
    return call
