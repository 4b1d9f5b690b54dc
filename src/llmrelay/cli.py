"""The command line: `llmrelay serve`, `llmrelay check-config`, `usage`, and `keys` / `db` (cli_keys.py).

$ llmrelay serve --config llmrelay.yaml --port 8080 --workers 2
$ llmrelay check-config llmrelay.yaml      # exit 0 when valid, 2 with `FILE: KEY: PROBLEM` otherwise
$ llmrelay usage --since 7d --group-by model [--json]
"""

from __future__ import annotations

import ipaddress
import signal
import sys
from typing import Annotated

import typer

from llmrelay.cli_keys import db_cli, keys_cli
from llmrelay.config.load import ConfigError, hand_off, load
from llmrelay.config.metrics_env import for_workers
from llmrelay.config.model import Config

CONFIG_ERROR_EXIT = 2

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="llmrelay: an OpenAI-compatible LLM gateway.")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(db_cli, name="db")


def _load_checked(path: str | None) -> Config:
    """The config, validated all the way (provider types included), or exit 2 with one clear line."""
    from llmrelay.pipeline.routing import Router

    try:
        config = load(path)
        Router(config)
    except ConfigError as exc:
        typer.echo(f"llmrelay: config error: {exc}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None
    return config


@cli.command()
def serve(
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="Config file (default: ./llmrelay.yaml, else the embedded default)."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default from config: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config: 8080).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Start the gateway. Ready when GET /health answers 200."""
    import uvicorn

    from llmrelay.app import create_app, tune_gc
    from llmrelay.observability.logging import configure

    loaded = _load_checked(config)
    configure(loaded.log_level)
    bind_host = host or loaded.server.host
    bind_port = loaded.server.port if port is None else port
    warn_if_exposed(loaded, bind_host)
    options: dict[str, object] = {
        "host": bind_host,
        "port": bind_port,
        "loop": "uvloop",
        "http": "httptools",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        # On SIGTERM uvicorn stops accepting, lets in-flight requests and streams finish for this long,
        # then runs the lifespan's shutdown (usage records flushed) and returns.
        "timeout_graceful_shutdown": loaded.server.shutdown_timeout,
    }
    with for_workers(workers):  # --workers N: prometheus_client's multiprocess mode (config/metrics_env.py)
        if workers > 1:
            hand_off(config)
            uvicorn.run("llmrelay.app:factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        else:
            _exit_cleanly_on_sigterm()
            tune_gc()
            uvicorn.run(create_app(loaded), **options)  # type: ignore[arg-type]


@cli.command("check-config")
def check_config(path: Annotated[str, typer.Argument(help="The config file to check.")]) -> None:
    """Validate a config file without starting: exit 0 when valid, 2 with the problem otherwise."""
    loaded = _load_checked(path)
    typer.echo(f"{path}: ok ({len(loaded.providers)} providers, {len(loaded.models)} models)")


@cli.command()
def usage(
    config: Annotated[str | None, typer.Option("--config", "-c", help="Config file (its `database:` is read).")] = None,
    key: Annotated[str | None, typer.Option(help="Only this key id.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model (the public name).")] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider.")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time: ISO 8601 (UTC unless offset), or 7d / 24h.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    group_by: Annotated[str | None, typer.Option("--group-by", help="day, key, model or provider.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the /admin/usage JSON object.")] = False,
) -> None:
    """Requests, tokens and cost from the usage records, as GET /admin/usage answers them."""
    import asyncio

    import orjson

    from llmrelay.api.admin.usage import group_by_of, summary, usage_filter
    from llmrelay.errors import InvalidRequestError
    from llmrelay.storage.db import Database
    from llmrelay.storage.usage import UsageStore

    loaded = _load_checked(config)
    try:
        where = usage_filter(key=key, model=model, provider=provider, since=since, until=until)
        grouping = group_by_of(group_by)
    except InvalidRequestError as exc:
        typer.echo(f"llmrelay: {exc.message}", err=True)
        raise typer.Exit(CONFIG_ERROR_EXIT) from None

    async def read() -> dict[str, object]:
        db = Database(loaded.database)
        try:
            await db.upgrade()
            return await summary(UsageStore(db.engine), where, grouping)
        finally:
            await db.close()

    body = asyncio.run(read())
    typer.echo(orjson.dumps(body).decode() if as_json else _usage_table(body))


def _usage_table(body: dict[str, object]) -> str:
    columns = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")
    groups = body["groups"] if isinstance(body["groups"], list) else []
    rows = [(str(g["group"] or "-"), *(g[c] for c in columns)) for g in groups]
    totals = body["totals"] if isinstance(body["totals"], dict) else {}
    rows.append(("total", *(totals[c] for c in columns)))
    lines = [f"{'group':<24}{'requests':>10}{'prompt':>12}{'completion':>12}{'total':>12}{'cost_usd':>16}"]
    lines += [f"{n:<24}{r:>10}{p:>12}{c:>12}{t:>12}{usd:>16.6f}" for n, r, p, c, t, usd in rows]
    return "\n".join(lines)


def _exit_cleanly_on_sigterm() -> None:
    """After a graceful shutdown uvicorn re-raises the signal that caused it under the handler that was
    in place before it started: the default one would end the process with -SIGTERM. A SIGTERM is
    the normal way to stop a server, and a drained one exits 0."""
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)


def warn_if_exposed(config: Config, host: str) -> None:
    """Open mode (no master key) bound to an address others can reach is logged as a warning."""
    from llmrelay.observability.logging import get_logger

    open_mode = config.auth.master_key is None or not config.auth.master_key.get_secret_value()
    if open_mode and not _is_loopback(host):
        hint = "no master key is set and the bind address is not loopback: anyone who can reach it may call it"
        get_logger().warning("open_mode_exposed", host=host, hint=hint)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main() -> None:
    sys.exit(cli())
