"""metrics_env: the shared directory `--workers N` needs, clean at start and gone at exit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmrelay.config.metrics_env import MULTIPROC_VAR, for_workers, multiprocess_dir


@pytest.fixture(autouse=True)
def no_multiproc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_VAR, raising=False)
    monkeypatch.delenv("prometheus_multiproc_dir", raising=False)


def test_one_worker_needs_no_directory() -> None:
    with for_workers(1) as directory:
        assert directory is None
        assert MULTIPROC_VAR not in os.environ
    assert multiprocess_dir() is None


def test_several_workers_get_a_fresh_directory_removed_at_exit() -> None:
    with for_workers(3) as directory:
        assert directory is not None and directory.is_dir()
        assert list(directory.iterdir()) == []
        assert os.environ[MULTIPROC_VAR] == str(directory)
        assert multiprocess_dir() == directory
    assert not directory.exists()
    assert MULTIPROC_VAR not in os.environ


def test_the_directory_goes_even_when_the_server_fails() -> None:
    with pytest.raises(KeyboardInterrupt), for_workers(2) as directory:
        raise KeyboardInterrupt
    assert directory is not None and not directory.exists()
    assert MULTIPROC_VAR not in os.environ


def test_an_operator_directory_is_cleaned_of_old_values_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "README").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_VAR, str(given))
    with for_workers(1) as directory:
        assert directory == given
        assert sorted(p.name for p in given.iterdir()) == ["README"]
    assert given.is_dir()
    assert os.environ[MULTIPROC_VAR] == str(given)


def test_an_operator_directory_is_created_when_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MULTIPROC_VAR, str(tmp_path / "new" / "dir"))
    with for_workers(4) as directory:
        assert directory is not None and directory.is_dir()


def test_the_legacy_lower_case_name_is_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("prometheus_multiproc_dir", str(tmp_path))
    assert multiprocess_dir() == tmp_path
