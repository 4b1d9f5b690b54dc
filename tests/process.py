"""`llmrelay` as a real process for tests: a clean environment, `serve` until ready, its JSON logs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import orjson

from tests.conftest import closed_port

PROVIDER_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "COHERE_API_KEY",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_TOKEN",
    "MODEL_LIST_URL",
    "MODEL_LIST_AUTH_TOKEN",
    "LLMRELAY_MASTER_KEY",
    "LOG_LEVEL",
)
HELLO = [{"role": "user", "content": "hi"}]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARS}
    env.update(extra)
    return env


def llmrelay(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmrelay", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def serving(args: list[str], cwd: Path, env: Mapping[str, str]) -> Iterator[tuple[str, Path]]:
    """Run `llmrelay serve`; yield its base URL and the file its stdout goes to; stop it with SIGTERM."""
    with server_process(args, cwd, env) as (_, base, out):
        yield base, out


@contextlib.contextmanager
def server_process(
    args: list[str], cwd: Path, env: Mapping[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`serving`, also yielding the process (to signal it and read its exit code); SIGTERM at the end."""
    port = closed_port()
    out = cwd / f"serve-{port}.log"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llmrelay", "serve", "--port", str(port), *args],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, out)
        yield proc, base, out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def _wait_ready(base: str, proc: subprocess.Popen[bytes], out: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"llmrelay exited with {proc.returncode}: {out.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)  # polling a readiness probe, not synchronising on time
    raise AssertionError(f"llmrelay did not become ready: {out.read_text()}")


def log_lines(out: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.read_bytes().splitlines() if line.startswith(b"{")]
