"""The environment prometheus_client's multiprocess mode needs under `llmrelay serve --workers N`.

prometheus_client decides at import time, from `PROMETHEUS_MULTIPROC_DIR`, whether metric values live
in memory or in files shared by processes. uvicorn starts its workers with the `spawn` method, so a
worker imports everything afresh and inherits the CLI's environment: setting the variable in the CLI
before `uvicorn.run` is enough for every worker, including those uvicorn restarts.

    >>> with for_workers(workers):                 # the CLI, around uvicorn.run(...)
    ...     uvicorn.run("llmrelay.app:factory", factory=True, workers=workers)
    >>> Metrics(allowed, multiprocess_dir=multiprocess_dir())   # each worker

The directory starts clean: values left from an earlier run would otherwise be added to this one's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MULTIPROC_VAR = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client still honours the old lower-case name, so this module has to see it too.
_LEGACY_VAR = "prometheus_multiproc_dir"


def multiprocess_dir() -> Path | None:
    """In a worker: the shared metrics directory, or None in single-process mode."""
    value = os.environ.get(MULTIPROC_VAR) or os.environ.get(_LEGACY_VAR)
    return Path(value) if value else None


@contextmanager
def for_workers(workers: int) -> Iterator[Path | None]:
    """Around `uvicorn.run` in the CLI: a clean shared directory when metrics need one, else None.

    With more than one worker, a fresh temporary directory is named in PROMETHEUS_MULTIPROC_DIR for
    the workers to inherit, then removed (and the variable unset) when the server exits. When the
    operator already set the variable, that directory is used, even with one worker (prometheus_client
    will be in file mode anyway): it is created if missing, its `*.db` files from an earlier run are
    deleted, and it is left in place on exit.
    """
    given = multiprocess_dir()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        clear(given)
        yield given
        return
    if workers <= 1:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="llmrelay-metrics-"))
    os.environ[MULTIPROC_VAR] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_VAR, None)
        shutil.rmtree(path, ignore_errors=True)


def clear(directory: Path) -> None:
    """Delete the value files prometheus_client left in `directory` (nothing else in it)."""
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)
