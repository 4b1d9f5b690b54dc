"""GET /admin/usage: requests, tokens and cost over the usage records, filtered and grouped.

Query parameters (all optional): `key` (a key id), `model` (the public model name), `provider`,
`from` and `to` (ISO 8601; `from` inclusive, `to` exclusive; a time without offset is UTC; `7d`
or `24h` mean that long ago), `group_by` = day | key | model | provider.

    GET /admin/usage?key=key_ab12&from=2026-11-01&group_by=day
    {"object": "usage.summary", "group_by": "day", "filters": {...},
     "totals": {"requests": 3, "prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42, "cost_usd": 0.0001},
     "groups": [{"group": "2026-11-21", "requests": 3, ...}]}

`llmrelay usage ...` (cli.py) prints the same object from the same database. Records reach the
database in batches (at most ~0.5 s late); this endpoint writes what its own process has queued first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast, get_args

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llmrelay.api.gateway import gateway_of, principal_of
from llmrelay.errors import InvalidRequestError
from llmrelay.storage.usage import GroupBy, UsageFilter, UsageStore, UsageTotal

router = APIRouter()
GROUPS: tuple[str, ...] = get_args(GroupBy)
_AGO = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@router.get("/admin/usage", summary="Usage and cost totals (master key or an admin key)")
async def usage_summary(request: Request) -> Response:
    await principal_of(request, "admin")
    gateway = gateway_of(request)
    if gateway.usage is None or gateway.database is None:
        raise InvalidRequestError("This gateway keeps no usage records (no database).")
    query = request.query_params
    where = usage_filter(
        key=query.get("key"),
        model=query.get("model"),
        provider=query.get("provider"),
        since=query.get("from"),
        until=query.get("to"),
    )
    group_by = group_by_of(query.get("group_by"))
    await gateway.usage.flush()  # this process's queued records count too
    body = await summary(UsageStore(gateway.database.engine), where, group_by)
    return Response(orjson.dumps(body), media_type="application/json")


def usage_filter(
    *,
    key: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> UsageFilter:
    """A filter from text (query parameters or CLI options); a bad time is a 400 naming its parameter."""
    return UsageFilter(key or None, model or None, provider or None, parse_time(since, "from"), parse_time(until, "to"))


def group_by_of(value: str | None) -> GroupBy | None:
    if not value:
        return None
    if value not in GROUPS:
        raise InvalidRequestError(f"Invalid 'group_by': expected one of {', '.join(GROUPS)}.", param="group_by")
    return cast(GroupBy, value)


def parse_time(value: str | None, param: str) -> datetime | None:
    """ISO 8601 (a date, or a date and time; UTC unless it has an offset), or `7d` / `24h` / `30m` ago."""
    if not value:
        return None
    if ago := _AGO.fullmatch(value.strip()):
        return datetime.now(UTC) - timedelta(**{_UNITS[ago[2]]: int(ago[1])})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequestError(
            f"Invalid '{param}': expected an ISO 8601 time such as 2026-11-21T09:30:00Z, or 7d / 24h.", param=param
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def summary(store: UsageStore, where: UsageFilter, group_by: GroupBy | None) -> dict[str, object]:
    """The summary object /admin/usage answers and `llmrelay usage --json` prints."""
    rows = await store.totals(where, group_by)
    overall = _sum(rows)
    filters = {
        "key": where.key_id,
        "model": where.model,
        "provider": where.provider,
        "from": None if where.since is None else where.since.isoformat(),
        "to": None if where.until is None else where.until.isoformat(),
    }
    body: dict[str, object] = {"object": "usage.summary", "group_by": group_by, "filters": filters}
    body["totals"] = _numbers(overall)
    body["groups"] = [{"group": row.group, **_numbers(row)} for row in rows] if group_by else []
    return body


def _sum(rows: list[UsageTotal]) -> UsageTotal:
    return UsageTotal(
        group=None,
        requests=sum(r.requests for r in rows),
        prompt_tokens=sum(r.prompt_tokens for r in rows),
        completion_tokens=sum(r.completion_tokens for r in rows),
        total_tokens=sum(r.total_tokens for r in rows),
        cost_usd=sum((r.cost_usd for r in rows), Decimal(0)),
    )


def _numbers(total: UsageTotal) -> dict[str, object]:
    return {
        "requests": total.requests,
        "prompt_tokens": total.prompt_tokens,
        "completion_tokens": total.completion_tokens,
        "total_tokens": total.total_tokens,
        "cost_usd": float(total.cost_usd),
    }
