"""`llmrelay keys …` and `llmrelay db upgrade`: virtual keys and migrations straight on the database
named by the config (no running gateway needed).

$ llmrelay db upgrade --config llmrelay.yaml
$ llmrelay keys create --name ci --models 'gpt-4o*,embed' --rpm 60 --budget 5 --budget-period month --json
{"id": "key_…", "object": "api_key", "key": "sk-lr-…", …}       # the same object POST /admin/keys answers
$ llmrelay keys list [--all] [--json]
$ llmrelay keys revoke key_… [--json]
$ llmrelay keys rotate key_… [--json]                            # a new `key`; the old secret stops working
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import orjson
import typer

from llmrelay.config.load import ConfigError, load

T = TypeVar("T")
USAGE_EXIT = 2
ConfigOption = Annotated[
    str | None,
    typer.Option("--config", "-c", help="Config file (default: ./llmrelay.yaml, else the embedded default)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

keys_cli = typer.Typer(no_args_is_help=True, help="Create, list, revoke and rotate virtual keys.")
db_cli = typer.Typer(no_args_is_help=True, help="The gateway's database.")

if TYPE_CHECKING:  # imported when a command runs: `llmrelay --help` stays quick
    from llmrelay.storage.keys import KeyStore


def _run(config_path: str | None, work: Callable[[KeyStore], Awaitable[T]]) -> T:
    """Open the config's database (migrated to the latest schema), run `work` on its key store, close it."""
    from llmrelay.storage.db import Database
    from llmrelay.storage.keys import STORAGE_ERRORS, KeyStore

    try:
        url = load(config_path).database
    except ConfigError as exc:
        typer.echo(f"llmrelay: config error: {exc}", err=True)
        raise typer.Exit(USAGE_EXIT) from None

    async def main() -> T:
        database = Database(url)
        try:
            await database.upgrade()
            return await work(KeyStore(database.engine))
        finally:
            await database.close()

    try:
        return asyncio.run(main())
    except STORAGE_ERRORS as exc:
        # The driver's own message (never the URL, which may hold a password).
        typer.echo(f"llmrelay: database error: {getattr(exc, 'orig', None) or type(exc).__name__}", err=True)
        raise typer.Exit(1) from None


def _print(obj: dict[str, object], as_json: bool, text: str) -> None:
    typer.echo(orjson.dumps(obj).decode() if as_json else text)


@db_cli.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply every migration to the config's database (the gateway also does it at start-up)."""

    async def nothing(_: KeyStore) -> None:
        return None

    _run(config, nothing)
    typer.echo("database: up to date")


@keys_cli.command("create")
def create(
    name: Annotated[str, typer.Option(help="A name for people to recognise the key by.")],
    models: Annotated[str | None, typer.Option(help="Allowed models, comma-separated; wildcards: 'gpt-4o*'.")] = None,
    rpm: Annotated[int | None, typer.Option(help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(help="Tokens per minute.")] = None,
    budget: Annotated[Decimal | None, typer.Option(help="Budget in USD per period.")] = None,
    budget_period: Annotated[
        str | None, typer.Option(help="day | month | total (default with --budget: total).")
    ] = None,
    permissions: Annotated[str, typer.Option(help="read | read-write | admin.")] = "read-write",
    expires: Annotated[str | None, typer.Option(help="Expiry, ISO 8601 (e.g. 2027-01-31T00:00:00Z).")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print its secret (shown this once)."""
    from llmrelay.api.admin.schema import KeyCreate, key_object, parse_body

    fields: dict[str, Any] = {"name": name, "permissions": permissions}
    optional = {"rpm": rpm, "tpm": tpm, "budget_usd": budget, "budget_period": budget_period, "expires_at": expires}
    fields.update({k: v for k, v in optional.items() if v is not None})
    if models:
        fields["models"] = [m.strip() for m in models.split(",") if m.strip()]
    spec = _validated(lambda: parse_body(KeyCreate, orjson.dumps(fields, default=str)).spec())
    row, secret = _run(config, lambda store: store.create(spec))
    _print(key_object(row, secret), as_json, f"{row.id} {row.name}\nkey (shown once): {secret}")


@keys_cli.command("list")
def list_keys(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List keys (never their secrets)."""
    from llmrelay.api.admin.schema import key_object

    rows = _run(config, lambda store: store.list(include_revoked=include_revoked))
    data = [key_object(row) for row in rows]
    lines = [f"{o['id']}  {o['key_prefix']}…  {o['status']:<8} {o['permissions']:<10} {o['name']}" for o in data]
    _print({"object": "list", "data": data}, as_json, "\n".join(lines) or "no keys")


@keys_cli.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a key; running gateways refuse it within auth.key_cache_ttl."""
    from llmrelay.api.admin.schema import key_object

    row = _run(config, lambda store: store.revoke(key_id))
    if row is None:
        _no_such_key(key_id)
    _print(key_object(row), as_json, f"{row.id} revoked")


@keys_cli.command("rotate")
def rotate(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a key a new secret (printed once); the old one stops working within auth.key_cache_ttl."""
    from llmrelay.api.admin.schema import key_object

    pair = _run(config, lambda store: store.rotate(key_id))
    if pair is None:
        _no_such_key(key_id)
    row, secret = pair
    _print(key_object(row, secret), as_json, f"{row.id} {row.name}\nkey (shown once): {secret}")


def _validated(make: Callable[[], T]) -> T:
    from llmrelay.errors import InvalidRequestError

    try:
        return make()
    except InvalidRequestError as exc:
        typer.echo(f"llmrelay: {exc.message}", err=True)
        raise typer.Exit(USAGE_EXIT) from None


def _no_such_key(key_id: str) -> NoReturn:
    typer.echo(f"llmrelay: no key with id {key_id}", err=True)
    raise typer.Exit(1)
