"""The command line: `llmrelay serve` and `llmrelay check-config`.

$ llmrelay serve --config llmrelay.yaml --port 8080 --workers 2
$ llmrelay check-config llmrelay.yaml      # exit 0 when valid, 2 with `FILE: KEY: PROBLEM` otherwise
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Annotated

import typer

from llmrelay.config.load import ConfigError, hand_off, load
from llmrelay.config.model import Config

CONFIG_ERROR_EXIT = 2

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="llmrelay: an OpenAI-compatible LLM gateway.")


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

    from llmrelay.app import create_app
    from llmrelay.observability.logging import configure, get_logger

    loaded = _load_checked(config)
    configure(loaded.log_level)
    bind_host = host or loaded.server.host
    bind_port = loaded.server.port if port is None else port
    open_mode = loaded.auth.master_key is None or not loaded.auth.master_key.get_secret_value()
    if open_mode and not _is_loopback(bind_host):
        hint = "no master key is set and the bind address is not loopback: anyone who can reach it may call it"
        get_logger().warning("open_mode_exposed", host=bind_host, hint=hint)
    options: dict[str, object] = {
        "host": bind_host,
        "port": bind_port,
        "loop": "uvloop",
        "http": "httptools",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 30,
    }
    if workers > 1:
        hand_off(config)
        uvicorn.run("llmrelay.app:factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
    else:
        uvicorn.run(create_app(loaded), **options)  # type: ignore[arg-type]


@cli.command("check-config")
def check_config(path: Annotated[str, typer.Argument(help="The config file to check.")]) -> None:
    """Validate a config file without starting: exit 0 when valid, 2 with the problem otherwise."""
    loaded = _load_checked(path)
    typer.echo(f"{path}: ok ({len(loaded.providers)} providers, {len(loaded.models)} models)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main() -> None:
    sys.exit(cli())
