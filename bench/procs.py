"""Start, pin, probe and reliably stop the benchmark's child processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO


class StartupError(RuntimeError):
    """A child process did not become ready; the message carries its log head."""


def free_port() -> int:
    """An unused TCP port on 127.0.0.1 (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def two_cores() -> bool:
    """True when cores 0 and 1 are both usable, so pinning makes sense."""
    return {0, 1} <= os.sched_getaffinity(0)


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    """Prefix `cmd` with `taskset -c CPU` when a CPU is given."""
    return cmd if cpu is None else ["taskset", "-c", str(cpu), *cmd]


def log_head(path: Path, lines: int = 25) -> str:
    """The first lines of a log file, or a note that it is empty/missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    head = "\n".join(text.splitlines()[:lines])
    return head or f"(log {path} is empty)"


class ProcessGroup:
    """Owns every child it starts; `close()` kills their whole process groups."""

    def __init__(self) -> None:
        self._procs: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self, name: str, cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        print(f"  start {name}: {' '.join(cmd)}  (log: {log})", flush=True)
        out = log.open("wb")
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._procs.append((name, proc, out))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        for item in list(self._procs):
            if item[1] is proc:
                _terminate(item[1])
                item[2].close()
                self._procs.remove(item)

    def close(self) -> None:
        for _name, proc, out in reversed(self._procs):
            _terminate(proc)
            out.close()
        self._procs.clear()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _terminate(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it lingers."""
    _signal_group(proc, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    # Always sweep the group: workers may outlive their parent.
    _signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        print(f"  warning: pid {proc.pid} did not exit after SIGKILL", flush=True)


def http_request(url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, str, bytes]:
    """One blocking HTTP request: (status, content-type, body). GET when body is None."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
    req = urllib.request.Request(url, data=body, headers=headers if body else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def wait_ready(
    name: str,
    proc: subprocess.Popen[bytes],
    url: str,
    log: Path,
    body: bytes | None = None,
    tries: int = 150,
    interval: float = 0.1,
) -> None:
    """Poll `url` until it answers 200; raise StartupError on exit or after `tries`."""
    last = "no answer"
    for _ in range(tries):
        if proc.poll() is not None:
            raise StartupError(
                f"{name} exited with code {proc.returncode} before it was ready.\n"
                f"--- first lines of {log} ---\n{log_head(log)}"
            )
        try:
            status, _ctype, _data = http_request(url, body, timeout=1.0)
        except (OSError, urllib.error.URLError) as err:
            last = str(err)
        else:
            if status == 200:
                return
            last = f"HTTP {status}"
        time.sleep(interval)
    raise StartupError(
        f"{name} not ready at {url} after {tries * interval:.0f} s (last: {last}).\n"
        f"--- first lines of {log} ---\n{log_head(log)}"
    )
