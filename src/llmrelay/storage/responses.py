"""Stored responses of `/v1/responses` (SQLite or PostgreSQL, one SQL path), scoped to the key that
made them: another key (or the master key, whose scope is `key_id` NULL) finds nothing.

A response the gateway produced (the translated path) keeps its whole conversation: `input_items`
is everything the model saw as input (the chain `previous_response_id` named, expanded, then the
request's own items) and `output_items` what it answered, so a later `previous_response_id` needs one
lookup. A response an OpenAI upstream produced and holds (the passthrough path) keeps `provider` (the
configured provider that holds it, where GET, DELETE and a chained request are routed) and the
Response object; its items stay with the upstream.

    >>> store = ResponseStore(db.engine)
    >>> await store.save(StoredResponse(id="resp_1", key_id=None, model="m", ...))
    >>> (await store.get("resp_1", key_id=None)).response["status"]
    'completed'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, Column, DateTime, Index, String, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from llmrelay.storage.tables import metadata

responses = Table(
    "responses",
    metadata,
    Column("id", String(100), primary_key=True),  # resp_…: the gateway's, or the upstream's (passthrough)
    Column("key_id", String(40), nullable=True),  # the owner; NULL: master key / open mode
    Column("model", String(300), nullable=False),  # the model name the client asked for
    Column("provider", String(200), nullable=True),  # passthrough: the provider holding it; NULL: stored here
    Column("previous_response_id", String(100), nullable=True),
    Column("input_items", JSON, nullable=False),
    Column("output_items", JSON, nullable=False),
    Column("response", JSON, nullable=False),  # the whole Response object, as last returned
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_responses_key_created", responses.c.key_id, responses.c.created_at)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    key_id: str | None
    model: str
    response: Mapping[str, Any]
    input_items: list[Any] = field(default_factory=list)
    output_items: list[Any] = field(default_factory=list)
    provider: str | None = None
    previous_response_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _row(mapping: Mapping[Any, Any]) -> StoredResponse:
    created = mapping["created_at"]
    return StoredResponse(
        id=mapping["id"],
        key_id=mapping["key_id"],
        model=mapping["model"],
        response=dict(mapping["response"]),
        input_items=list(mapping["input_items"] or ()),
        output_items=list(mapping["output_items"] or ()),
        provider=mapping["provider"],
        previous_response_id=mapping["previous_response_id"],
        created_at=created if created.tzinfo is not None else created.replace(tzinfo=UTC),
    )


def _owned(response_id: str, key_id: str | None) -> sa.ColumnElement[bool]:
    owner = responses.c.key_id.is_(None) if key_id is None else responses.c.key_id == key_id
    return sa.and_(responses.c.id == response_id, owner)


class ResponseStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save(self, row: StoredResponse) -> None:
        """Store a response, replacing one with the same id and owner (an upstream may answer a retry
        with the id it already gave)."""
        values = {
            "id": row.id,
            "key_id": row.key_id,
            "model": row.model,
            "provider": row.provider,
            "previous_response_id": row.previous_response_id,
            "input_items": list(row.input_items),
            "output_items": list(row.output_items),
            "response": dict(row.response),
            "created_at": row.created_at,
        }
        async with self.engine.begin() as conn:
            await conn.execute(responses.delete().where(_owned(row.id, row.key_id)))
            await conn.execute(responses.insert().values(**values))

    async def get(self, response_id: str, key_id: str | None) -> StoredResponse | None:
        """The response if `key_id` owns it; None for an unknown id or another key's response."""
        async with self.engine.connect() as conn:
            result = await conn.execute(sa.select(responses).where(_owned(response_id, key_id)))
            mapping = result.mappings().first()
        return None if mapping is None else _row(mapping)

    async def exists(self, response_id: str) -> bool:
        """Whether any key has a response with this id (to keep another key's ids from going upstream)."""
        async with self.engine.connect() as conn:
            result = await conn.execute(sa.select(responses.c.id).where(responses.c.id == response_id).limit(1))
            return result.first() is not None

    async def delete(self, response_id: str, key_id: str | None) -> bool:
        """Whether a response `key_id` owns was deleted."""
        async with self.engine.begin() as conn:
            result = await conn.execute(responses.delete().where(_owned(response_id, key_id)))
        return bool(result.rowcount)
