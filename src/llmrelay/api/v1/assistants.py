"""/v1/assistants: create, list, retrieve, modify, delete (the Assistants v2 object, stored by the gateway).

An assistant names a model the gateway serves (any provider; checked at creation), its instructions,
tools and metadata. It belongs to the key that created it: another key gets 404. The SDK's
`OpenAI-Beta: assistants=v2` header is accepted and not required.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import gateway_of, principal_of
from llmrelay.api.v1 import assistant_params as check
from llmrelay.pipeline.run_objects import new_id, now
from llmrelay.storage.assistants import ASSISTANTS, JSONObject

router = APIRouter()


def _fields(request: Request, principal: Any, body: JSONObject, partial: bool) -> JSONObject:
    """The assistant fields in `body`, checked; with `partial`, only those present."""
    values: JSONObject = {}
    if not partial or "model" in body:
        values["model"] = check.check_model(gateway_of(request), principal, body.get("model"))
    setters: dict[str, Callable[[], object]] = {
        "name": lambda: check.text(body, "name", 256),
        "description": lambda: check.text(body, "description", 512),
        "instructions": lambda: check.text(body, "instructions", 256_000),
        "tools": lambda: check.tools(body.get("tools")),
        "tool_resources": lambda: check.tool_resources(body.get("tool_resources")),
        "metadata": lambda: check.metadata(body.get("metadata")),
        "temperature": lambda: check.number(body, "temperature", 2),
        "top_p": lambda: check.number(body, "top_p", 1),
        "response_format": lambda: check.response_format(body.get("response_format")) or "auto",
        "reasoning_effort": lambda: check.text(body, "reasoning_effort", 20),
    }
    for name, read in setters.items():
        if not partial or name in body:
            values[name] = read()
    return values


@router.post("/v1/assistants", summary="Create an assistant")
async def create_assistant(request: Request) -> Response:
    principal = await principal_of(request, "read-write")
    values = _fields(request, principal, await check.json_body(request), partial=False)
    values.update(id=new_id("asst"), created_at=now())
    return check.reply(await check.store_of(request).insert(ASSISTANTS, values, principal.key_id))


@router.get("/v1/assistants", summary="List assistants")
async def list_assistants(request: Request) -> Response:
    principal = await principal_of(request, "read")
    return await check.listed(request, ASSISTANTS, principal.key_id, "assistant")


@router.get("/v1/assistants/{assistant_id}", summary="Retrieve an assistant")
async def retrieve_assistant(request: Request, assistant_id: str) -> Response:
    principal = await principal_of(request, "read")
    return check.reply(await check.owned(request, ASSISTANTS, assistant_id, principal.key_id, "assistant"))


@router.post("/v1/assistants/{assistant_id}", summary="Modify an assistant")
async def modify_assistant(request: Request, assistant_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    assistant = await check.owned(request, ASSISTANTS, assistant_id, principal.key_id, "assistant")
    changes = _fields(request, principal, await check.json_body(request), partial=True)
    if not changes:
        return check.reply(assistant)
    updated = await check.store_of(request).update(ASSISTANTS, assistant_id, changes)
    if updated is None:  # deleted meanwhile
        raise check.not_found("assistant", assistant_id)
    return check.reply(updated)


@router.delete("/v1/assistants/{assistant_id}", summary="Delete an assistant")
async def delete_assistant(request: Request, assistant_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    if not await check.store_of(request).delete(ASSISTANTS, assistant_id, principal.key_id):
        raise check.not_found("assistant", assistant_id)
    return check.reply({"id": assistant_id, "object": "assistant.deleted", "deleted": True})
