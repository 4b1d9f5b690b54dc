"""Turn benchmark results into a text or markdown table with the DESIGN §6 PASS/FAIL marks."""

from __future__ import annotations

from dataclasses import dataclass

from loadgen import WrkResult

RATIO_TARGET = 0.70  # llmrelay rps / floor rps at c=16, stream included
RATIO_CONCURRENCY = 16
ADDED_P50_TARGET_MS = 0.5  # llmrelay p50 - direct p50 at c=1
ADDED_P50_CONCURRENCY = 1
ADDED_P50_MODE = "non-stream"  # §6 states the latency target for the non-streaming call

Key = tuple[str, int]  # (mode, concurrency)
Results = dict[Key, dict[str, WrkResult]]


@dataclass(frozen=True)
class Check:
    """One target check: a label, the measured value and whether it passed."""

    label: str
    value: str
    passed: bool


def _ratio(cells: dict[str, WrkResult]) -> float | None:
    relay, floor = cells.get("llmrelay"), cells.get("floor")
    if relay is None or floor is None or floor.rps <= 0:
        return None
    return relay.rps / floor.rps


def _added_p50(cells: dict[str, WrkResult], target: str = "llmrelay") -> float | None:
    relay, direct = cells.get(target), cells.get("direct")
    if relay is None or direct is None:
        return None
    return relay.p50_ms - direct.p50_ms


def checks(results: Results) -> list[Check]:
    """The DESIGN §6 targets that this run could evaluate."""
    out: list[Check] = []
    for (mode, conc), cells in sorted(results.items()):
        ratio = _ratio(cells)
        if conc == RATIO_CONCURRENCY and ratio is not None:
            out.append(
                Check(
                    f"{mode} c={conc} llmrelay/floor rps >= {RATIO_TARGET:.2f}", f"{ratio:.2f}", ratio >= RATIO_TARGET
                )
            )
        added = _added_p50(cells)
        if conc == ADDED_P50_CONCURRENCY and mode == ADDED_P50_MODE and added is not None:
            floor = _added_p50(cells, "floor")  # what the minimal proxy itself adds on this machine, for scale
            out.append(
                Check(
                    f"{mode} c={conc} added p50 < {ADDED_P50_TARGET_MS} ms",
                    f"{added:.3f} ms" + ("" if floor is None else f" (the floor adds {floor:.3f} ms)"),
                    added < ADDED_P50_TARGET_MS,
                )
            )
    return out


def _mark(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _target_cells(result: WrkResult | None) -> list[str]:
    if result is None:
        return ["-", "-", "-"]
    flag = " ERR" if result.errors else ""
    return [f"{result.rps:,.0f}{flag}", f"{result.p50_ms:.3f}", f"{result.p99_ms:.3f}"]


def _ratio_cells(mode: str, conc: int, cells: dict[str, WrkResult]) -> list[str]:
    ratio, added = _ratio(cells), _added_p50(cells)
    ratio_s = "-" if ratio is None else f"{ratio:.2f}"
    if ratio is not None and conc == RATIO_CONCURRENCY:
        ratio_s += f" {_mark(ratio >= RATIO_TARGET)}"
    added_s = "-"
    if added is not None and conc == ADDED_P50_CONCURRENCY:
        gated = mode == ADDED_P50_MODE
        added_s = f"{added:.3f} " + (_mark(added < ADDED_P50_TARGET_MS) if gated else "(info)")
    return [ratio_s, added_s]


def table_rows(results: Results, targets: list[str]) -> list[list[str]]:
    """Header row followed by one row per (mode, concurrency)."""
    header = ["mode", "c"]
    for target in targets:
        header += [f"{target} rps", f"{target} p50 ms", f"{target} p99 ms"]
    header += ["llmrelay/floor rps", "added p50 ms (c=1)"]
    rows = [header]
    for (mode, conc), cells in results.items():
        row = [mode, str(conc)]
        for target in targets:
            row += _target_cells(cells.get(target))
        rows.append(row + _ratio_cells(mode, conc, cells))
    return rows


def render_text(rows: list[list[str]]) -> str:
    """Aligned plain-text table."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: list[list[str]]) -> str:
    """GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def render_checks(found: list[Check]) -> str:
    """One line per target check, or a note that none could be evaluated."""
    if not found:
        return "targets: not evaluated (needs llmrelay together with floor and direct)"
    return "\n".join(f"{_mark(c.passed)}  {c.label}: {c.value}" for c in found)
