"""/v1/files: upload, list, retrieve, download and delete files, as OpenAI's Files API does.

Files belong to the key that uploaded them (the master key and open mode share one scope); another
key is told the file does not exist. A `read` key may list, retrieve and download; uploading and
deleting need `read-write`. An upload is streamed to the content store as it arrives and stopped
with 413 once the file passes `files.max_bytes`; this route, not the edge's
`server.max_request_bytes`, bounds its body (api/edge.py `SELF_LIMITED`).

    >>> client.files.create(file=open("batch.jsonl", "rb"), purpose="batch")
    FileObject(id='file-0641f2a9c13e4a5b2c7d9e1f03', object='file', bytes=1024, purpose='batch', ...)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from llmrelay.api.gateway import gateway_of, principal_of
from llmrelay.api.multipart import MultipartReader, boundary_of
from llmrelay.errors import InvalidRequestError, NotFoundError
from llmrelay.storage.assistants import Listed
from llmrelay.storage.files import FileRow, FileStore, Order, Pending, bounded, too_large

router = APIRouter()

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
"""What an upload may be for (OpenAI's list); a listing may filter on any purpose."""
MAX_LIMIT = 10_000
EXPIRES_AFTER = (3600, 30 * 24 * 3600)
"""`expires_after[seconds]` bounds: one hour to 30 days, as OpenAI takes them."""
BATCH_EXPIRES = 30 * 24 * 3600
"""A `batch` file without `expires_after` expires after 30 days, as at OpenAI; other files are kept."""
_FIELD_BYTES = 64 * 1024
_MAX_FIELDS = 16
_ENVELOPE = _MAX_FIELDS * _FIELD_BYTES + 64 * 1024
"""What a request may carry besides the file: its text fields and every part's headers."""
_FILENAME_CHARS = 1024


def _store(request: Request) -> FileStore:
    store = gateway_of(request).files
    if store is None:
        raise NotFoundError("Files are not enabled on this gateway.")
    return store


def file_object(row: FileRow) -> dict[str, Any]:
    """The OpenAI `FileObject` of a stored file."""
    return {
        "id": row.id,
        "object": "file",
        "bytes": row.bytes,
        "created_at": int(row.created_at.timestamp()),
        "expires_at": None if row.expires_at is None else int(row.expires_at.timestamp()),
        "filename": row.filename,
        "purpose": row.purpose,
        "status": "processed",
        "status_details": None,
    }


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _not_found(file_id: str) -> NotFoundError:
    return NotFoundError(f"No such File object: {file_id}", param="id")


_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file", "purpose"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "purpose": {"type": "string", "enum": list(PURPOSES)},
        "expires_after[anchor]": {"type": "string", "enum": ["created_at"]},
        "expires_after[seconds]": {"type": "integer", "minimum": EXPIRES_AFTER[0], "maximum": EXPIRES_AFTER[1]},
    },
}


@router.post(
    "/v1/files",
    summary="Upload a file (multipart: file, purpose, optional expires_after)",
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _UPLOAD_SCHEMA}}}},
)
async def create_file(request: Request) -> Response:
    principal = await principal_of(request, "read-write")
    store = _store(request)
    try:
        pending, file, fields = await _receive(request, store)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody reads it: the client has gone
    try:
        purpose = _purpose(fields.get("purpose"))
        expires_after = _expires_after(fields)
        if expires_after is None and purpose == "batch":
            expires_after = BATCH_EXPIRES
        if pending is None:
            raise InvalidRequestError("The request has no file: send it as the multipart field 'file'.", param="file")
    except BaseException:
        if pending is not None:
            await store.discard(pending)
        raise
    row = await store.commit(pending, principal.key_id, filename=file, purpose=purpose, expires_after=expires_after)
    return _json(file_object(row))


async def _receive(request: Request, store: FileStore) -> tuple[Pending | None, str, dict[str, str]]:
    """Read the multipart body: text fields into memory, the file part into the store as it comes.
    A purpose that is already known to be wrong stops the upload before its file is read."""
    cap = store.max_bytes + _ENVELOPE
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise too_large(store.max_bytes)
    reader = MultipartReader(
        bounded(request.stream(), cap, store.max_bytes), boundary_of(request.headers.get("content-type"))
    )
    fields: dict[str, str] = {}
    pending: Pending | None = None
    filename = ""
    try:
        while (part := await reader.next_part()) is not None:
            if part.name == "file":
                if pending is not None:
                    raise InvalidRequestError("Send one file per upload.", param="file")
                if "purpose" in fields:
                    _purpose(fields["purpose"])
                filename = _filename(part.filename)
                pending = await store.receive(reader.read(), part.content_type)
            elif len(fields) >= _MAX_FIELDS:
                raise InvalidRequestError(f"The upload has more than {_MAX_FIELDS} fields.")
            else:
                fields[part.name] = await reader.read_text(_FIELD_BYTES, part.name)
    except BaseException:
        if pending is not None:
            await store.discard(pending)
        raise
    return pending, filename, fields


def _filename(given: str | None) -> str:
    name = (given or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
    if len(name) > _FILENAME_CHARS:
        raise InvalidRequestError(f"The file name is longer than {_FILENAME_CHARS} characters.", param="file")
    return name


def _purpose(value: str | None) -> str:
    if value is None:
        raise InvalidRequestError("Missing required parameter: 'purpose'.", param="purpose")
    if value not in PURPOSES:
        choices = ", ".join(f"'{p}'" for p in PURPOSES)
        raise InvalidRequestError(f"'{value}' is not one of {choices} - 'purpose'", param="purpose")
    return value


def _expires_after(fields: dict[str, str]) -> int | None:
    anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise InvalidRequestError("expires_after[anchor] must be 'created_at'.", param="expires_after.anchor")
    low, high = EXPIRES_AFTER
    if seconds is None or not seconds.strip().isdigit() or not low <= int(seconds) <= high:
        raise InvalidRequestError(
            f"expires_after[seconds] must be a whole number of seconds from {low} to {high}.",
            param="expires_after.seconds",
        )
    return int(seconds)


@router.get("/v1/files", summary="List the caller's files (purpose, limit, after, order)")
async def list_files(request: Request) -> Response:
    principal = await principal_of(request, "read")
    query = request.query_params
    limit = _limit(query.get("limit"))
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequestError("order must be 'asc' or 'desc'.", param="order")
    ordering: Order = "asc" if order == "asc" else "desc"
    rows, more = await _store(request).list(
        principal.key_id, purpose=query.get("purpose") or None, limit=limit,
        after=query.get("after") or None, order=ordering,
    )  # fmt: skip
    return _json(Listed([file_object(row) for row in rows], more).body())


def _limit(value: str | None) -> int:
    if value is None:
        return MAX_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidRequestError(f"limit must be an integer from 1 to {MAX_LIMIT}.", param="limit")
    return int(value)


@router.get("/v1/files/{file_id}", summary="Retrieve a file's details")
async def retrieve_file(request: Request, file_id: str) -> Response:
    principal = await principal_of(request, "read")
    row = await _store(request).get(file_id, principal.key_id)
    if row is None:
        raise _not_found(file_id)
    return _json(file_object(row))


@router.get("/v1/files/{file_id}/content", summary="Download a file's content")
async def file_content(request: Request, file_id: str) -> Response:
    principal = await principal_of(request, "read")
    store = _store(request)
    row = await store.get(file_id, principal.key_id)
    if row is None:
        raise _not_found(file_id)
    chunks = await store.open(row)
    headers = {
        "content-length": str(row.bytes),
        "content-disposition": f"attachment; filename*=UTF-8''{quote(row.filename, safe='')}",
    }
    return StreamingResponse(chunks, media_type=row.content_type or "application/octet-stream", headers=headers)


@router.delete("/v1/files/{file_id}", summary="Delete a file and its content")
async def delete_file(request: Request, file_id: str) -> Response:
    principal = await principal_of(request, "read-write")
    if not await _store(request).delete(file_id, principal.key_id):
        raise _not_found(file_id)
    return _json({"id": file_id, "object": "file", "deleted": True})
