"""/v1/threads and their messages: create (with initial messages), retrieve, modify, delete; messages
create, list (order, after, before, limit, run_id), retrieve, modify, delete.

A thread and everything in it belong to the key that created the thread; another key gets 404. While
a run is active on a thread, its messages cannot be added to (400, as OpenAI answers).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import principal_of
from llmrelay.api.v1 import assistant_params as check
from llmrelay.pipeline.context import Principal
from llmrelay.pipeline.run_objects import message_values, new_id, now
from llmrelay.storage.assistants import MESSAGES, THREADS, JSONObject
from llmrelay.storage.threads import ThreadStore

router = APIRouter()


async def create_thread(store: ThreadStore, principal: Principal, body: JSONObject) -> JSONObject:
    """A new thread from a `threads.create` body (`messages`, `metadata`, `tool_resources`), checked first."""
    initial = body.get("messages") or []
    if not isinstance(initial, list):
        raise check.bad("Invalid 'messages': expected an array.", "messages")
    fields = []
    for index, message in enumerate(initial):
        if not isinstance(message, dict):
            raise check.bad(f"Invalid 'messages[{index}]': expected an object.", f"messages[{index}]")
        fields.append(check.message_fields(message, f"messages[{index}]."))
    values = {
        "id": new_id("thread"),
        "created_at": now(),
        "metadata": check.metadata(body.get("metadata")),
        "tool_resources": check.tool_resources(body.get("tool_resources")) or {},
    }
    thread = await store.insert(THREADS, values, principal.key_id)
    for role, content, attachments, metadata in fields:
        message = message_values(thread["id"], role, content, attachments=attachments, metadata=metadata)
        await store.insert(MESSAGES, message, principal.key_id)
    return thread


async def thread_of(request: Request, principal: Principal, thread_id: str) -> JSONObject:
    return await check.owned(request, THREADS, thread_id, principal.key_id, "thread")


@router.post("/v1/threads", summary="Create a thread")
async def create_thread_route(request: Request) -> Response:
    principal = await principal_of(request, "read-write")
    return check.reply(await create_thread(check.store_of(request), principal, await check.json_body(request)))


@router.get("/v1/threads/{thread_id}", summary="Retrieve a thread")
async def retrieve_thread(request: Request, thread_id: str) -> Response:
    principal = await principal_of(request, "read")
    return check.reply(await thread_of(request, principal, thread_id))


@router.post("/v1/threads/{thread_id}", summary="Modify a thread")
async def modify_thread(request: Request, thread_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    thread = await thread_of(request, principal, thread_id)
    body = await check.json_body(request)
    changes: JSONObject = {}
    if "metadata" in body:
        changes["metadata"] = check.metadata(body["metadata"])
    if "tool_resources" in body:
        changes["tool_resources"] = check.tool_resources(body["tool_resources"]) or {}
    updated = await check.store_of(request).update(THREADS, thread_id, changes) if changes else None
    return check.reply(updated or thread)


@router.delete("/v1/threads/{thread_id}", summary="Delete a thread with its messages and runs")
async def delete_thread(request: Request, thread_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    if not await check.store_of(request).delete_thread(thread_id, principal.key_id):
        raise check.not_found("thread", thread_id)
    return check.reply({"id": thread_id, "object": "thread.deleted", "deleted": True})


@router.post("/v1/threads/{thread_id}/messages", summary="Create a message")
async def create_message(request: Request, thread_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    await thread_of(request, principal, thread_id)
    role, content, attachments, metadata = check.message_fields(await check.json_body(request))
    store = check.store_of(request)
    if (active := await store.active_run(thread_id)) is not None:
        raise check.bad(f"Can't add messages to {thread_id} while a run {active} is active.", None, "thread_locked")
    message = message_values(thread_id, role, content, attachments=attachments, metadata=metadata)
    return check.reply(await store.insert(MESSAGES, message, principal.key_id))


@router.get("/v1/threads/{thread_id}/messages", summary="List a thread's messages")
async def list_messages(request: Request, thread_id: str) -> Response:
    principal = await principal_of(request, "read")
    await thread_of(request, principal, thread_id)
    where = {"thread_id": thread_id}
    if run_id := request.query_params.get("run_id"):
        where["run_id"] = run_id
    return await check.listed(request, MESSAGES, principal.key_id, "message", **where)


async def _message(request: Request, principal: Principal, thread_id: str, message_id: str) -> JSONObject:
    return await check.owned(request, MESSAGES, message_id, principal.key_id, "message", thread_id=thread_id)


@router.get("/v1/threads/{thread_id}/messages/{message_id}", summary="Retrieve a message")
async def retrieve_message(request: Request, thread_id: str, message_id: str) -> Response:
    principal = await principal_of(request, "read")
    return check.reply(await _message(request, principal, thread_id, message_id))


@router.post("/v1/threads/{thread_id}/messages/{message_id}", summary="Modify a message's metadata")
async def modify_message(request: Request, thread_id: str, message_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    return await check.modify_metadata(request, MESSAGES, await _message(request, principal, thread_id, message_id))


@router.delete("/v1/threads/{thread_id}/messages/{message_id}", summary="Delete a message")
async def delete_message(request: Request, thread_id: str, message_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    if not await check.store_of(request).delete(MESSAGES, message_id, principal.key_id, thread_id=thread_id):
        raise check.not_found("message", message_id)
    return check.reply({"id": message_id, "object": "thread.message.deleted", "deleted": True})
