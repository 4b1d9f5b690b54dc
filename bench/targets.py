"""Start the three benchmark targets (direct nginx, the floor proxy, llmrelay) and smoke-test them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

import fixtures
from procs import (
    ProcessGroup,
    free_port,
    http_request,
    pinned,
    wait_ready,
)
from upstream import CHAT_PATH, Upstream

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LLMRELAY_BIN = REPO_DIR / ".venv" / "bin" / "llmrelay"
MODES = ("non-stream", "stream")


@dataclass(frozen=True)
class Target:
    """How to reach one target: a URL per mode and the model name to send per mode."""

    name: str
    urls: dict[str, str]
    models: dict[str, str]

    def body(self, mode: str) -> bytes:
        return fixtures.request_body(self.models[mode], stream=mode == "stream")


def direct_target(up: Upstream) -> Target:
    """wrk straight at nginx: the ceiling."""
    return Target(
        "direct",
        {"non-stream": up.json_url, "stream": up.stream_url},
        {mode: "gpt-4o-mini" for mode in MODES},
    )


def start_floor(procs: ProcessGroup, up: Upstream, tmp: Path, cpu: int | None) -> Target:
    """The minimal Starlette + uvicorn + aiohttp passthrough from bench/floor.py."""
    port = free_port()
    cmd = [
        sys.executable,
        str(BENCH_DIR / "floor.py"),
        "--port",
        str(port),
        "--upstream-json",
        up.json_url,
        "--upstream-stream",
        up.stream_url,
    ]
    log = tmp / "floor.log"
    proc = procs.start("floor", pinned(cmd, cpu), log)
    wait_ready("floor", proc, f"http://127.0.0.1:{port}/health", log)
    url = f"http://127.0.0.1:{port}{CHAT_PATH}"
    return Target("floor", {m: url for m in MODES}, {m: "gpt-4o-mini" for m in MODES})


def llmrelay_config(port: int, up: Upstream) -> str:
    """The gateway config: one provider per fake upstream port, one model each."""
    return f"""server: {{host: 127.0.0.1, port: {port}}}
providers:
  up_json:   {{type: openai, base_url: "http://127.0.0.1:{up.json_port}/v1", api_key: sk-bench}}
  up_stream: {{type: openai, base_url: "http://127.0.0.1:{up.stream_port}/v1", api_key: sk-bench}}
models:
  - {{name: bench-json, provider: up_json, model: gpt-4o-mini}}
  - {{name: bench-stream, provider: up_stream, model: gpt-4o-mini}}
"""


def start_llmrelay(procs: ProcessGroup, up: Upstream, tmp: Path, cpu: int | None, binary: Path) -> Target:
    """`llmrelay serve` as a subprocess, ready once GET /health answers 200."""
    port = free_port()
    cfg = tmp / "llmrelay.yaml"
    cfg.write_text(llmrelay_config(port, up))
    cmd = [
        str(binary),
        "serve",
        "--config",
        str(cfg),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log = tmp / "llmrelay.log"
    # The environment is inherited as is, so LOG_LEVEL passes through when set.
    proc = procs.start("llmrelay", pinned(cmd, cpu), log)
    wait_ready("llmrelay", proc, f"http://127.0.0.1:{port}/health", log, tries=300)
    url = f"http://127.0.0.1:{port}{CHAT_PATH}"
    return Target(
        "llmrelay",
        {m: url for m in MODES},
        {"non-stream": "bench-json", "stream": "bench-stream"},
    )


def smoke_test(target: Target, mode: str) -> str | None:
    """One request through the target; None when the answer looks right, else why not."""
    url = target.urls[mode]
    try:
        status, ctype, data = http_request(url, target.body(mode), timeout=10.0)
    except OSError as err:
        return f"{target.name} {mode}: request failed: {err}"
    head = data[:300].decode(errors="replace")
    if status != 200:
        return f"{target.name} {mode}: HTTP {status}: {head}"
    if mode == "stream":
        events = data.count(b"data: ")
        if not ctype.startswith("text/event-stream") or not data.endswith(b"data: [DONE]\n\n"):
            return f"{target.name} stream: bad SSE answer ({ctype}, {events} events): {head}"
        return None
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return f"{target.name} non-stream: body is not JSON: {head}"
    if not isinstance(parsed, dict) or "choices" not in parsed or "usage" not in parsed:
        return f"{target.name} non-stream: not a chat.completion: {head}"
    return None
