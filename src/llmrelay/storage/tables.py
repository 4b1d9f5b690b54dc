"""Every table of llmrelay, declared once. Alembic migrations (storage/migrations) create and change them.

>>> api_keys.c.key_hash
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    false,
)

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),  # "key_<hex>": shown to operators, not secret
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 hex of the secret
    Column("key_prefix", String(16), nullable=False),  # the first characters, to recognise a key in lists
    Column("name", String(200), nullable=False),
    Column("permissions", String(20), nullable=False),  # read | read-write | admin
    Column("models", JSON, nullable=False),  # allowlist patterns; [] = every model
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("budget_usd", Numeric(18, 6), nullable=True),
    Column("budget_period", String(10), nullable=True),  # day | month | total
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("metadata", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(140), nullable=False),
    Column("key_id", String(40), nullable=True),  # None in open mode / master key
    Column("model", String(300), nullable=True),
    Column("provider", String(200), nullable=True),
    Column("deployment", String(300), nullable=True),  # the upstream model id that served it
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("cached_tokens", Integer, nullable=True),
    Column("reasoning_tokens", Integer, nullable=True),
    Column("tokens_estimated", Boolean, nullable=False, default=False),
    Column("cost_usd", Numeric(18, 9), nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float, nullable=True),
    Column("status", Integer, nullable=False),
    Column("streamed", Boolean, nullable=False),
    Column("incomplete", Boolean, nullable=False, default=False, server_default=false()),  # migration 0002
    Column("path", String(100), nullable=False),
)
Index("ix_usage_records_created_at", usage_records.c.created_at)
Index("ix_usage_records_key_created", usage_records.c.key_id, usage_records.c.created_at)
