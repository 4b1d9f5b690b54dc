"""/admin/keys: create, list, show, update, revoke and rotate virtual keys.

| method | path                        | answer                                           |
|--------|-----------------------------|--------------------------------------------------|
| POST   | /admin/keys                 | 201 the key object, with `key` (the secret, once) |
| GET    | /admin/keys[?include_revoked=true] | `{"object": "list", "data": [...]}`       |
| GET    | /admin/keys/{id}            | the key object                                   |
| PATCH  | /admin/keys/{id}            | the key object after the change                  |
| POST   | /admin/keys/{id}/revoke     | the key object, `status: revoked` (DELETE too)   |
| POST   | /admin/keys/{id}/rotate     | the key object with its new `key`                |

`llmrelay keys ...` (cli_keys.py) validates with the same `KeyCreate` (schema.py) and prints the same objects.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.admin.schema import KeyCreate, KeyUpdate, key_object, parse_body
from llmrelay.api.gateway import Gateway, gateway_of, principal_of
from llmrelay.errors import NotFoundError
from llmrelay.storage.keys import KeyRow, KeyStore

router = APIRouter()


def _json(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status_code=status, media_type="application/json")


async def _admin(request: Request) -> tuple[Gateway, KeyStore]:
    await principal_of(request, "admin")
    gateway = gateway_of(request)
    assert gateway.keys is not None  # Gateway.build always opens the database
    return gateway, gateway.keys.store


def _found(row: KeyRow | None, key_id: str) -> KeyRow:
    if row is None:
        raise NotFoundError(f"No API key with id '{key_id}'.", param="id", code="key_not_found")
    return row


@router.post("/admin/keys", summary="Create a virtual key (the secret is in the answer, once)", status_code=201)
async def create_key(request: Request) -> Response:
    gateway, store = await _admin(request)
    spec = parse_body(KeyCreate, await request.body()).spec()
    row, secret = await store.create(spec)
    if gateway.keys is not None:
        gateway.keys.forget_any()
    return _json(key_object(row, secret), 201)


@router.get("/admin/keys", summary="List virtual keys")
async def list_keys(request: Request, include_revoked: bool = False) -> Response:
    _, store = await _admin(request)
    rows = await store.list(include_revoked=include_revoked)
    return _json({"object": "list", "data": [key_object(row) for row in rows]})


@router.get("/admin/keys/{key_id}", summary="Show one virtual key")
async def show_key(key_id: str, request: Request) -> Response:
    _, store = await _admin(request)
    return _json(key_object(_found(await store.get(key_id), key_id)))


@router.patch("/admin/keys/{key_id}", summary="Change a key's name, permissions, models, limits, budget, expiry")
async def update_key(key_id: str, request: Request) -> Response:
    gateway, store = await _admin(request)
    changes = parse_body(KeyUpdate, await request.body()).changes()
    before = _found(await store.get(key_id), key_id)
    row = _found(await store.update(key_id, changes), key_id)
    _forget(gateway, before)
    return _json(key_object(row))


@router.post("/admin/keys/{key_id}/revoke", summary="Revoke a key (effective everywhere within auth.key_cache_ttl)")
@router.delete("/admin/keys/{key_id}", summary="Revoke a key (same as POST …/revoke)")
async def revoke_key(key_id: str, request: Request) -> Response:
    gateway, store = await _admin(request)
    row = _found(await store.revoke(key_id), key_id)
    _forget(gateway, row)
    return _json(key_object(row))


@router.post("/admin/keys/{key_id}/rotate", summary="Give a key a new secret; the old one stops working")
async def rotate_key(key_id: str, request: Request) -> Response:
    gateway, store = await _admin(request)
    before = _found(await store.get(key_id), key_id)
    row, secret = _found_pair(await store.rotate(key_id), key_id)
    _forget(gateway, before)
    return _json(key_object(row, secret))


def _found_pair(pair: tuple[KeyRow, str] | None, key_id: str) -> tuple[KeyRow, str]:
    if pair is None:
        raise NotFoundError(f"No API key with id '{key_id}'.", param="id", code="key_not_found")
    return pair


def _forget(gateway: Gateway, row: KeyRow) -> None:
    """This process sees its own change at once; the others within their cache TTL."""
    if gateway.keys is not None:
        gateway.keys.forget(row.key_hash)
        gateway.keys.forget_any()
