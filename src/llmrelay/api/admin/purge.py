"""POST /admin/purge: the garbage collection of stored objects (master key or an admin key).

Deletes every file (row and content) and every thread (with its messages, runs and steps) created
before the cutoff, whatever key owns them, and every file past its `expires_after`. `older_than` is a duration (`30d`, `12h`, `90m`: that
long ago) or an ISO 8601 time; it is required, so an empty request never deletes everything.

    POST /admin/purge  {"older_than": "30d"}
    {"object": "purge.result", "cutoff": "2026-10-22T09:30:00+00:00", "files_deleted": 12, "threads_deleted": 3}
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.admin.usage import parse_time
from llmrelay.api.gateway import gateway_of, principal_of
from llmrelay.errors import InvalidRequestError
from llmrelay.schemas.chat import parse_json_object

router = APIRouter()

_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["older_than"],
    "properties": {
        "older_than": {"type": "string", "description": "`30d`, `12h`, `90m` (that long ago) or an ISO 8601 time."}
    },
}


@router.post(
    "/admin/purge",
    summary="Delete files and threads created before a cutoff (master key or an admin key)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def purge(request: Request) -> Response:
    await principal_of(request, "admin")
    body = parse_json_object(await request.body())
    older_than = body.get("older_than")
    if not isinstance(older_than, str) or not older_than.strip():
        raise InvalidRequestError(
            'Missing required parameter: \'older_than\' (e.g. "30d", "12h" or an ISO 8601 time).', param="older_than"
        )
    cutoff = parse_time(older_than, "older_than")
    assert cutoff is not None  # a non-empty value parses or raises
    gateway = gateway_of(request)
    files = 0
    if gateway.files is not None:  # expired files are hidden already: their rows and contents go now too
        files = await gateway.files.purge(cutoff) + await gateway.files.purge_expired()
    threads = await gateway.threads.purge_threads(cutoff) if gateway.threads is not None else 0
    result = {
        "object": "purge.result",
        "cutoff": cutoff.isoformat(),
        "files_deleted": files,
        "threads_deleted": threads,
    }
    return Response(orjson.dumps(result), media_type="application/json")
