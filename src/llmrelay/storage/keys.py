"""Virtual keys in the database (SQLite or PostgreSQL, one SQL path): create, find, list, update,
revoke, rotate, and what a key has spent in a budget period.

A secret is `sk-lr-` + 43 url-safe characters (256 random bits). Only its SHA-256 is stored; the
secret itself is returned once, by `create` and `rotate`. A presented token is found by the hash of
what was presented (an indexed, unique column), so the lookup never compares secrets at all.

    >>> store = KeyStore(db.engine)
    >>> row, secret = await store.create(KeySpec(name="ci", models=("gpt-4o*",), rpm=60))
    >>> (await store.find(hash_secret(secret))).id == row.id
    True
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from llmrelay.storage.tables import api_keys, usage_records

STORAGE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)
"""What a database that is down, dropped or too slow raises through SQLAlchemy (drivers' errors are wrapped)."""

Permission = Literal["read", "read-write", "admin"]
BudgetPeriod = Literal["day", "month", "total"]
PERMISSIONS: tuple[Permission, ...] = ("read", "read-write", "admin")
BUDGET_PERIODS: tuple[BudgetPeriod, ...] = ("day", "month", "total")
SECRET_PREFIX = "sk-lr-"
_PREFIX_CHARS = 12  # "sk-lr-" + 6 random characters: enough to recognise a key in a list, useless to guess it


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex. A 256-bit random secret needs no salt or slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything llmrelay stores is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def period_start(period: BudgetPeriod | None, now: datetime) -> datetime | None:
    """Where the current budget period began (UTC): today's midnight, the 1st of the month, or never."""
    if period == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


@dataclass(frozen=True, slots=True)
class KeySpec:
    """What a key may do: the fields of `POST /admin/keys` and `llmrelay keys create`."""

    name: str
    permissions: Permission = "read-write"
    models: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: Decimal | None = None
    budget_period: BudgetPeriod | None = None
    expires_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


UPDATABLE = frozenset(f.name for f in fields(KeySpec))


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One stored key. `key_hash` is for the lookup's own check; never render it."""

    id: str
    key_hash: str
    key_prefix: str
    name: str
    permissions: Permission
    models: tuple[str, ...]
    rpm: int | None
    tpm: int | None
    budget_usd: Decimal | None
    budget_period: BudgetPeriod | None
    expires_at: datetime | None
    revoked_at: datetime | None
    metadata: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def status(self, now: datetime) -> Literal["active", "revoked", "expired"]:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired(now) else "active"


def _row(mapping: Mapping[Any, Any]) -> KeyRow:
    return KeyRow(
        id=mapping["id"],
        key_hash=mapping["key_hash"],
        key_prefix=mapping["key_prefix"],
        name=mapping["name"],
        permissions=cast(Permission, mapping["permissions"]),
        models=tuple(mapping["models"] or ()),
        rpm=mapping["rpm"],
        tpm=mapping["tpm"],
        budget_usd=mapping["budget_usd"],
        budget_period=cast("BudgetPeriod | None", mapping["budget_period"]),
        expires_at=utc(mapping["expires_at"]),
        revoked_at=utc(mapping["revoked_at"]),
        metadata=dict(mapping["metadata"] or {}),
        created_at=cast(datetime, utc(mapping["created_at"])),
        updated_at=cast(datetime, utc(mapping["updated_at"])),
    )


def _values(spec: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(spec)
    if "models" in values:
        values["models"] = list(values["models"])
    if "metadata" in values:
        values["metadata"] = dict(values["metadata"])
    if values.get("expires_at") is not None:
        values["expires_at"] = utc(values["expires_at"])
    return values


class KeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, spec: KeySpec) -> tuple[KeyRow, str]:
        """Store a new key; returns it and its secret (the only time the secret exists outside the caller)."""
        secret = new_secret()
        now = datetime.now(UTC)
        values = _values({f.name: getattr(spec, f.name) for f in fields(KeySpec)})
        values.update(
            id=f"key_{uuid.uuid4().hex[:24]}",
            key_hash=hash_secret(secret),
            key_prefix=secret[:_PREFIX_CHARS],
            revoked_at=None,
            created_at=now,
            updated_at=now,
        )
        async with self.engine.begin() as conn:
            await conn.execute(api_keys.insert().values(**values))
        return _row(values), secret

    async def find(self, key_hash: str) -> KeyRow | None:
        """The key whose secret hashes to `key_hash`, revoked and expired ones included (to say so)."""
        async with self.engine.connect() as conn:
            result = await conn.execute(sa.select(api_keys).where(api_keys.c.key_hash == key_hash))
            mapping = result.mappings().first()
        return None if mapping is None else _row(mapping)

    async def get(self, key_id: str) -> KeyRow | None:
        async with self.engine.connect() as conn:
            result = await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))
            mapping = result.mappings().first()
        return None if mapping is None else _row(mapping)

    async def list(self, *, include_revoked: bool = False) -> list[KeyRow]:
        query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            result = await conn.execute(query)
            return [_row(m) for m in result.mappings()]

    async def any_active(self) -> bool:
        """Whether any key is stored and not revoked (no master key + no keys = open mode)."""
        async with self.engine.connect() as conn:
            result = await conn.execute(sa.select(api_keys.c.id).where(api_keys.c.revoked_at.is_(None)).limit(1))
            return result.first() is not None

    async def update(self, key_id: str, changes: Mapping[str, Any]) -> KeyRow | None:
        """Change some of a key's `KeySpec` fields; None when there is no such key."""
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        return await self._set(key_id, {**_values(changes), "updated_at": datetime.now(UTC)})

    async def revoke(self, key_id: str) -> KeyRow | None:
        """Revoke a key (idempotent: the first revocation time is kept); None when there is no such key."""
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now, updated_at=now)
            )
        return await self.get(key_id)

    async def rotate(self, key_id: str) -> tuple[KeyRow, str] | None:
        """A new secret for the same key (id, limits and usage kept); the old secret stops working."""
        secret = new_secret()
        row = await self._set(
            key_id,
            {"key_hash": hash_secret(secret), "key_prefix": secret[:_PREFIX_CHARS], "updated_at": datetime.now(UTC)},
        )
        return None if row is None else (row, secret)

    async def _set(self, key_id: str, values: Mapping[str, Any]) -> KeyRow | None:
        async with self.engine.begin() as conn:
            result = await conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(**values))
            if result.rowcount == 0:
                return None
        return await self.get(key_id)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.select(1))

    async def spend(self, key_id: str, since: datetime | None) -> Decimal:
        """What a key's usage records cost since `since` (all time when None), in USD."""
        query = sa.select(sa.func.coalesce(sa.func.sum(usage_records.c.cost_usd), 0)).where(
            usage_records.c.key_id == key_id
        )
        if since is not None:
            query = query.where(usage_records.c.created_at >= since)
        async with self.engine.connect() as conn:
            total = (await conn.execute(query)).scalar_one()
        return Decimal(total)
