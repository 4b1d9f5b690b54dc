"""Fail when a Python file passes the hard size cap (STYLE.md habit 1); list those past the soft cap."""

from __future__ import annotations

import sys
from pathlib import Path

SOFT, HARD = 400, 700


def main() -> int:
    over_hard = []
    for path in sorted(Path().glob("*/**/*.py")):
        if ".venv" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > HARD:
            over_hard.append(f"{path}: {lines} lines (hard cap {HARD})")
        elif lines > SOFT:
            print(f"note: {path}: {lines} lines (soft cap {SOFT})")
    for line in over_hard:
        print(line, file=sys.stderr)
    return 1 if over_hard else 0


if __name__ == "__main__":
    sys.exit(main())
