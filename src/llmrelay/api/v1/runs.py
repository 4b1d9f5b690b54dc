"""/v1/threads/{thread_id}/runs (+ steps), and /v1/threads/runs (create a thread and run it).

A run is created `queued` and executed in the background by the gateway's Runner (pipeline/runs.py)
on the model its assistant (or the run) names; `create` answers at once. With `stream: true` the
answer is the run's `thread.*` event stream instead, until the run stops. Run objects carry
`openai-poll-after-ms`, which the SDK's `*_and_poll` helpers wait between polls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import Gateway, gateway_of, principal_of
from llmrelay.api.sse import EventStreamResponse
from llmrelay.api.v1 import assistant_params as check
from llmrelay.api.v1.threads import create_thread, thread_of
from llmrelay.pipeline.context import Principal
from llmrelay.pipeline.run_events import Event
from llmrelay.pipeline.run_objects import message_values, run_values
from llmrelay.storage.assistants import ASSISTANTS, MESSAGES, RUNS, STEPS, JSONObject

router = APIRouter()
POLL_HEADERS = {"openai-poll-after-ms": "100"}


def _options(gateway: Gateway, principal: Principal, body: Mapping[str, Any]) -> JSONObject:
    """A run's own settings, checked: each replaces the assistant's."""
    options: JSONObject = {
        "instructions": check.text(body, "instructions", 256_000),
        "additional_instructions": check.text(body, "additional_instructions", 256_000),
        "tool_choice": check.tool_choice(body.get("tool_choice")),
        "temperature": check.number(body, "temperature", 2),
        "top_p": check.number(body, "top_p", 1),
        "max_prompt_tokens": check.count(body, "max_prompt_tokens"),
        "max_completion_tokens": check.count(body, "max_completion_tokens"),
        "truncation_strategy": check.truncation(body.get("truncation_strategy")),
        "response_format": check.response_format(body.get("response_format")),
        "metadata": check.metadata(body.get("metadata")),
        "reasoning_effort": check.text(body, "reasoning_effort", 20),
    }
    if body.get("model") is not None:
        options["model"] = check.check_model(gateway, principal, body["model"])
    if body.get("tools") is not None:
        options["tools"] = check.tools(body["tools"])
    if (parallel := check.boolean(body, "parallel_tool_calls")) is not None:
        options["parallel_tool_calls"] = parallel
    return options


async def _assistant_and_options(
    request: Request, principal: Principal, body: JSONObject
) -> tuple[JSONObject, JSONObject]:
    gateway = gateway_of(request)
    assistant_id = body.get("assistant_id")
    if not isinstance(assistant_id, str) or not assistant_id:
        raise check.bad("Missing required parameter: 'assistant_id'.", "assistant_id", "missing_required_parameter")
    assistant = await check.owned(request, ASSISTANTS, assistant_id, principal.key_id, "assistant")
    options = _options(gateway, principal, body)
    if "model" not in options:
        check.check_model(gateway, principal, assistant["model"])  # the config may have changed since
    if principal.key is not None and gateway.budgets is not None:
        await gateway.budgets.check(principal)  # the run spends in the background: refuse it now
    return assistant, options


async def _start(
    request: Request, principal: Principal, thread_id: str, assistant: JSONObject, options: JSONObject,
    stream: bool, first: list[Event],
) -> Response:  # fmt: skip
    store, runner = check.store_of(request), check.runner_of(request)
    if (active := await store.active_run(thread_id)) is not None:
        raise check.bad(f"Thread {thread_id} already has an active run {active}.", None, "thread_locked")
    for role, content, attachments, metadata in options.pop("additional_messages", []):
        values = message_values(thread_id, role, content, attachments=attachments, metadata=metadata)
        await store.insert(MESSAGES, values, principal.key_id)
    run = await store.insert(RUNS, run_values(thread_id, assistant, options), principal.key_id)
    if not stream:
        runner.launch(run["id"], principal)
        return check.reply(run, POLL_HEADERS)
    subscription = runner.events.subscribe(run["id"], [*first, ("thread.run.created", run), ("thread.run.queued", run)])
    runner.launch(run["id"], principal)
    return EventStreamResponse(subscription.frames())


def _stream_flag(body: Mapping[str, Any]) -> bool:
    return bool(check.boolean(body, "stream"))


@router.post("/v1/threads/{thread_id}/runs", summary="Create a run")
async def create_run(request: Request, thread_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    await thread_of(request, principal, thread_id)
    body = await check.json_body(request)
    assistant, options = await _assistant_and_options(request, principal, body)
    extra = body.get("additional_messages") or []
    if not isinstance(extra, list) or not all(isinstance(m, dict) for m in extra):
        raise check.bad("Invalid 'additional_messages': expected an array of messages.", "additional_messages")
    options["additional_messages"] = [
        check.message_fields(m, f"additional_messages[{i}].") for i, m in enumerate(extra)
    ]
    return await _start(request, principal, thread_id, assistant, options, _stream_flag(body), [])


@router.post("/v1/threads/runs", summary="Create a thread and run it")
async def create_thread_and_run(request: Request) -> Response:
    principal = await principal_of(request, "read-write")
    body = await check.json_body(request)
    assistant, options = await _assistant_and_options(request, principal, body)
    stream = _stream_flag(body)
    thread_body = body.get("thread") or {}
    if not isinstance(thread_body, dict):
        raise check.bad("Invalid 'thread': expected an object.", "thread", "invalid_type")
    thread = await create_thread(check.store_of(request), principal, thread_body)
    return await _start(request, principal, thread["id"], assistant, options, stream, [("thread.created", thread)])


@router.get("/v1/threads/{thread_id}/runs", summary="List a thread's runs")
async def list_runs(request: Request, thread_id: str) -> Response:
    principal = await principal_of(request, "read")
    await thread_of(request, principal, thread_id)
    return await check.listed(request, RUNS, principal.key_id, "run", thread_id=thread_id)


async def _run(request: Request, principal: Principal, thread_id: str, run_id: str) -> JSONObject:
    return await check.owned(request, RUNS, run_id, principal.key_id, "run", thread_id=thread_id)


@router.get("/v1/threads/{thread_id}/runs/{run_id}", summary="Retrieve a run")
async def retrieve_run(request: Request, thread_id: str, run_id: str) -> Response:
    principal = await principal_of(request, "read")
    return check.reply(await _run(request, principal, thread_id, run_id), POLL_HEADERS)


@router.post("/v1/threads/{thread_id}/runs/{run_id}", summary="Modify a run's metadata")
async def modify_run(request: Request, thread_id: str, run_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    return await check.modify_metadata(request, RUNS, await _run(request, principal, thread_id, run_id), POLL_HEADERS)


@router.post("/v1/threads/{thread_id}/runs/{run_id}/cancel", summary="Cancel a run")
async def cancel_run(request: Request, thread_id: str, run_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    run = await _run(request, principal, thread_id, run_id)
    return check.reply(await check.runner_of(request).cancel(run), POLL_HEADERS)


@router.post("/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", summary="Submit tool outputs")
async def submit_tool_outputs(request: Request, thread_id: str, run_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    run = await _run(request, principal, thread_id, run_id)
    body = await check.json_body(request)
    outputs = body.get("tool_outputs")
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("tool_call_id"), str) for o in outputs
    ):
        raise check.bad("Invalid 'tool_outputs': expected an array of {tool_call_id, output}.", "tool_outputs")
    runner = check.runner_of(request)
    if not _stream_flag(body):
        return check.reply(await runner.submit_tool_outputs(run, outputs, principal), POLL_HEADERS)
    subscription = runner.events.subscribe(run_id)
    try:
        await runner.submit_tool_outputs(run, outputs, principal)
    except BaseException:
        subscription.close()
        raise
    return EventStreamResponse(subscription.frames())


@router.get("/v1/threads/{thread_id}/runs/{run_id}/steps", summary="List a run's steps")
async def list_steps(request: Request, thread_id: str, run_id: str) -> Response:
    principal = await principal_of(request, "read")
    await _run(request, principal, thread_id, run_id)
    return await check.listed(request, STEPS, principal.key_id, "step", thread_id=thread_id, run_id=run_id)


@router.get("/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}", summary="Retrieve a run step")
async def retrieve_step(request: Request, thread_id: str, run_id: str, step_id: str) -> Response:
    principal = await principal_of(request, "read")
    where = {"thread_id": thread_id, "run_id": run_id}
    return check.reply(await check.owned(request, STEPS, step_id, principal.key_id, "run step", **where))
