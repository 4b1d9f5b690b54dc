"""The shapes of /admin/keys, shared with `llmrelay keys` (which imports only this, to start quickly).

>>> KeyCreate.model_validate({"name": "ci", "models": ["gpt-4o*"], "budget_usd": 5}).spec().budget_period
'total'
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmrelay.errors import InvalidRequestError
from llmrelay.storage.keys import BudgetPeriod, KeyRow, KeySpec, Permission, utc


class KeyCreate(BaseModel):
    """The body of `POST /admin/keys`. A budget without a period is a total budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    models: tuple[str, ...] = ()
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    budget_usd: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=6)
    budget_period: BudgetPeriod | None = None
    permissions: Permission = "read-write"
    expires_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def spec(self) -> KeySpec:
        fields = self.model_dump()
        if self.budget_usd is not None and self.budget_period is None:
            fields["budget_period"] = "total"
        fields["expires_at"] = utc(self.expires_at)
        return KeySpec(**fields)


class KeyUpdate(BaseModel):
    """The body of `PATCH /admin/keys/{id}`: only the fields given change; `null` clears a limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", min_length=1, max_length=200)
    models: tuple[str, ...] = ()
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    budget_usd: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=6)
    budget_period: BudgetPeriod | None = None
    permissions: Permission = "read-write"
    expires_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def changes(self) -> dict[str, Any]:
        changes = self.model_dump(exclude_unset=True)
        if "expires_at" in changes:
            changes["expires_at"] = utc(self.expires_at)
        return changes


def parse_body(model: type[KeyCreate] | type[KeyUpdate], body: bytes) -> Any:
    """Validate a JSON body; the first problem becomes a 400 naming its field."""
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise InvalidRequestError(f"{param or 'body'}: {first['msg']}", param=param) from None


def key_object(row: KeyRow, secret: str | None = None) -> dict[str, object]:
    """A key as the admin API and the CLI show it: everything but the hash; `key` only right after
    creation or rotation."""
    obj: dict[str, object] = {"id": row.id, "object": "api_key"}
    if secret is not None:
        obj["key"] = secret
    obj.update(
        key_prefix=row.key_prefix,
        name=row.name,
        status=row.status(datetime.now(UTC)),
        permissions=row.permissions,
        models=list(row.models),
        rpm=row.rpm,
        tpm=row.tpm,
        budget_usd=None if row.budget_usd is None else float(row.budget_usd),
        budget_period=row.budget_period,
        expires_at=_iso(row.expires_at),
        revoked_at=_iso(row.revoked_at),
        metadata=dict(row.metadata),
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )
    return obj


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
