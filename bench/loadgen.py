"""Drive wrk with a POST Lua script and parse its throughput, latency and error figures."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from procs import pinned

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass(frozen=True)
class WrkResult:
    """One wrk run's figures; `errors` lists anything that makes it untrustworthy."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    errors: tuple[str, ...]


def write_lua(path: Path, body: bytes) -> Path:
    """A wrk script that POSTs `body` as JSON on every request."""
    text = body.decode()
    if "]==]" in text:
        raise ValueError("request body would end the Lua long string")
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Authorization"] = "Bearer sk-bench"\n'
        f"wrk.body = [==[{text}]==]\n"
    )
    return path


def to_ms(value: str) -> float:
    """'31.00us' / '1.20ms' / '2.00s' -> milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if not match:
        raise ValueError(f"unparseable wrk duration {value!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.MULTILINE)


def parse_wrk(text: str) -> WrkResult:
    """Parse `wrk --latency` output. Missing figures become errors, not exceptions."""
    errors: list[str] = []
    rps_m = _search(r"^Requests/sec:\s+([\d.]+)", text)
    p50_m = _search(r"^\s+50%\s+(\S+)", text)
    p99_m = _search(r"^\s+99%\s+(\S+)", text)
    req_m = _search(r"^\s+(\d+) requests in", text)
    non2xx_m = _search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock_m = _search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if not (rps_m and p50_m and p99_m and req_m):
        errors.append("could not parse wrk output")
    non2xx = int(non2xx_m.group(1)) if non2xx_m else 0
    socket_errors = sum(int(g) for g in sock_m.groups()) if sock_m else 0
    requests = int(req_m.group(1)) if req_m else 0
    if non2xx:
        errors.append(f"{non2xx} non-2xx/3xx responses")
    if socket_errors:
        errors.append(f"socket errors ({sock_m.group(0) if sock_m else ''})")
    if req_m and requests == 0:
        errors.append("zero requests completed")
    return WrkResult(
        rps=float(rps_m.group(1)) if rps_m else 0.0,
        p50_ms=to_ms(p50_m.group(1)) if p50_m else 0.0,
        p99_ms=to_ms(p99_m.group(1)) if p99_m else 0.0,
        requests=requests,
        non2xx=non2xx,
        socket_errors=socket_errors,
        errors=tuple(errors),
    )


def run_wrk(url: str, script: Path, connections: int, duration: float, cpu: int | None, log: Path) -> WrkResult:
    """One bounded wrk run (-t1 -cN --latency); its raw output is appended to `log`."""
    cmd = pinned(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        cpu,
    )
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=False)
    except subprocess.TimeoutExpired:
        return WrkResult(0.0, 0.0, 0.0, 0, 0, 0, ("wrk timed out",))
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}\n")
    result = parse_wrk(done.stdout)
    if done.returncode != 0:
        extra = f"wrk exited {done.returncode}: {done.stderr.strip()[:200]}"
        result = dataclasses.replace(result, errors=(*result.errors, extra))
    return result
