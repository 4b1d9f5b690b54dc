"""Benchmark llmrelay against direct-to-upstream and a minimal Python passthrough (DESIGN §6).

Usage: .venv/bin/python bench/run.py [--duration S] [--rounds N] [--quick] [--only direct,floor,llmrelay]
                                     [--out FILE] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

import loadgen
import report
from procs import ProcessGroup, StartupError, two_cores
from targets import (
    LLMRELAY_BIN,
    MODES,
    Target,
    direct_target,
    smoke_test,
    start_floor,
    start_llmrelay,
)
from upstream import ECHO_MODULE, ECHO_PACKAGE, start_nginx

ALL_TARGETS = ("direct", "floor", "llmrelay")
CONCURRENCY = (1, 16, 64)
BUSY_LOAD = 0.5  # 1-minute load average above which the machine is too busy to trust


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=12.0, help="seconds per target and cell, over all rounds (12)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds per cell; the median round is kept (3)"
    )
    parser.add_argument("--quick", action="store_true", help="3 s runs, 1 s warm-ups")
    parser.add_argument("--only", default=",".join(ALL_TARGETS), help="comma-separated subset of direct,floor,llmrelay")
    parser.add_argument("--out", type=Path, help="also write the table as markdown here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with logs")
    args = parser.parse_args(argv)
    args.targets = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown or not args.targets:
        parser.error(f"--only takes names from {','.join(ALL_TARGETS)}; got {args.only!r}")
    args.targets = [t for t in ALL_TARGETS if t in args.targets]
    if args.quick:
        args.duration = 3.0
    args.warmup = 1.0 if args.quick else 2.0
    return args


def _have_tools() -> bool:
    tools = all(shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists() for tool in ("nginx", "wrk"))
    return tools and ECHO_MODULE.exists()


def ensure_tools() -> None:
    """Install the nginx, nginx echo module and wrk Debian packages if any is missing."""
    if _have_tools():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "nginx", ECHO_PACKAGE, "wrk"]
    for step in ([install], [["apt-get", "update"], install]):
        for cmd in step:
            print(f"running: {' '.join(cmd)}", flush=True)
            done = subprocess.run(cmd, env=env, timeout=900, check=False)
            if done.returncode != 0:
                break
        if _have_tools():
            return
    raise SystemExit(f"error: nginx, {ECHO_PACKAGE} and wrk are needed and could not be installed")


def start_targets(
    procs: ProcessGroup, names: list[str], tmp: Path, cpus: tuple[int | None, int | None]
) -> tuple[list[Target], list[str]]:
    """nginx always; then each requested target. Returns targets and startup problems."""
    gateway_cpu, load_cpu = cpus
    print("starting processes:", flush=True)
    up = start_nginx(procs, tmp, load_cpu)
    found: list[Target] = []
    problems: list[str] = []
    if "direct" in names:
        found.append(direct_target(up))
    if "floor" in names:
        found.append(start_floor(procs, up, tmp, gateway_cpu))
    if "llmrelay" in names:
        if not LLMRELAY_BIN.exists():
            print(f"  SKIP llmrelay: {LLMRELAY_BIN} not found (install the package first)")
        else:
            try:
                found.append(start_llmrelay(procs, up, tmp, gateway_cpu, LLMRELAY_BIN))
            except StartupError as err:
                problems.append(f"llmrelay failed to start: {err}")
                print(f"  ERROR {problems[-1]}", flush=True)
    return found, problems


def run_matrix(
    targets: list[Target], args: argparse.Namespace, tmp: Path, load_cpu: int | None
) -> tuple[report.Results, list[str]]:
    """Every (mode, concurrency, target) run, each after a warm-up. Returns results, problems."""
    results: report.Results = {}
    problems: list[str] = []
    wrk_log = tmp / "wrk.log"
    for mode in MODES:
        live = []
        for target in targets:
            why = smoke_test(target, mode)
            if why:
                problems.append(f"smoke test failed, not measured: {why}")
                print(f"  ERROR {problems[-1]}", flush=True)
            else:
                live.append(target)
        for conc in CONCURRENCY:
            cells = results.setdefault((mode, conc), {})
            scripts = {t.name: loadgen.write_lua(tmp / f"{t.name}-{mode}.lua", t.body(mode)) for t in live}
            for target in live:
                loadgen.run_wrk(target.urls[mode], scripts[target.name], conc, args.warmup, load_cpu, wrk_log)
            # The targets take turns, `rounds` times: a drift of the machine's speed (seen here: the same
            # target 30% apart minutes later) then falls on all of them alike; each keeps its median round.
            rounds: dict[str, list[loadgen.WrkResult]] = {t.name: [] for t in live}
            for _ in range(args.rounds):
                for target in live:
                    res = loadgen.run_wrk(
                        target.urls[mode], scripts[target.name], conc, args.duration / args.rounds, load_cpu, wrk_log
                    )
                    rounds[target.name].append(res)
                    problems += [f"{mode} c={conc} {target.name}: {e}" for e in res.errors]
                    for err in res.errors:
                        print(f"  !!! {err}", flush=True)
            for target in live:
                res = cells[target.name] = sorted(rounds[target.name], key=lambda r: r.rps)[args.rounds // 2]
                print(
                    f"  {mode:>10} c={conc:<3} {target.name:>8}: {res.rps:>10,.0f} rps"
                    f"  p50 {res.p50_ms:.3f} ms  p99 {res.p99_ms:.3f} ms"
                    f"  (rounds: {', '.join(f'{r.rps:,.0f}' for r in rounds[target.name])})",
                    flush=True,
                )
    return results, problems


def _raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def header(args: argparse.Namespace, pinning: bool) -> None:
    level = os.environ.get("LOG_LEVEL")
    print(
        f"llmrelay bench: targets {','.join(args.targets)}; {args.rounds} alternating rounds of "
        f"{args.duration / args.rounds:g} s after {args.warmup:g} s warm-ups; wrk -t1 -c{{{','.join(map(str, CONCURRENCY))}}}"
    )
    print(
        "pinning: gateway/floor on core 0, nginx/wrk on core 1"
        if pinning
        else "pinning: OFF (fewer than 2 usable cores) - figures are not comparable"
    )
    print(f"LOG_LEVEL={level} (from environment)" if level else "LOG_LEVEL unset: gateway default logging")
    load1 = os.getloadavg()[0]
    if load1 > BUSY_LOAD:
        print(f"WARNING: load average {load1:.2f} before start - other work shares these cores, figures are noisy")


def publish(results: report.Results, args: argparse.Namespace, problems: list[str]) -> None:
    """Print the table and target checks; write markdown when --out was given."""
    rows = report.table_rows(results, args.targets)
    checks = report.render_checks(report.checks(results))
    print("\n" + report.render_text(rows) + "\n\n" + checks)
    if args.out:
        note = (
            f"{args.rounds} alternating rounds of {args.duration / args.rounds:g} s per cell (the median round is "
            f"shown), wrk -t1, targets: {', '.join(args.targets)}"
        )
        md = f"{report.render_markdown(rows)}\n\n{note}\n\n```\n{checks}\n```\n"
        if problems:
            md += "\n**INVALID RUN - errors:**\n\n" + "".join(f"- {p}\n" for p in problems)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md)
        print(f"\nmarkdown written to {args.out}")


def warn(problems: list[str]) -> None:
    bar = "!" * 78
    print(
        f"\n{bar}\n!!! BENCHMARK INVALID: {len(problems)} problem(s); figures with errors are worthless\n{bar}",
        file=sys.stderr,
    )
    for problem in problems:
        print(f"!!! {problem}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    ensure_tools()
    pinning = two_cores()
    cpus: tuple[int | None, int | None] = (0, 1) if pinning else (None, None)
    header(args, pinning)
    tmp = Path(tempfile.mkdtemp(prefix="llmrelay-bench-"))
    procs = ProcessGroup()
    results: report.Results = {}
    problems: list[str] = []
    try:
        targets, problems = start_targets(procs, args.targets, tmp, cpus)
        results, run_problems = run_matrix(targets, args, tmp, cpus[1])
        problems += run_problems
    except StartupError as err:
        problems.append(str(err))
    except KeyboardInterrupt:
        problems.append("interrupted")
        print("\ninterrupted: stopping everything", file=sys.stderr)
    finally:
        procs.close()
        if problems or args.keep:
            print(f"\nlogs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if "interrupted" in problems:
        return 130
    publish(results, args, problems)
    if problems:
        warn(problems)
        return 1
    missed = [check for check in report.checks(results) if not check.passed]
    return 2 if missed else 0  # a target missed: the run is valid, the gateway is too slow


if __name__ == "__main__":
    sys.exit(main())
