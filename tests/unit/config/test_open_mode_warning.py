"""Open mode binds to loopback by default; bound elsewhere it says so in the start-up log (issue 2, point 6)."""

from __future__ import annotations

import orjson
import pytest
from pydantic import SecretStr

from llmrelay.cli import warn_if_exposed
from llmrelay.config.load import load
from llmrelay.observability.logging import configure


@pytest.mark.parametrize(
    ("host", "master_key", "warned"),
    [("0.0.0.0", None, True), ("10.1.2.3", None, True), ("127.0.0.1", None, False), ("::1", None, False),
     ("localhost", None, False), ("0.0.0.0", "sk-master", False)],
)  # fmt: skip
def test_open_mode_on_a_reachable_address_is_a_warning(
    capsysbinary: pytest.CaptureFixture[bytes], host: str, master_key: str | None, warned: bool
) -> None:
    config = load(None)
    if master_key is not None:
        config = config.model_copy(
            update={"auth": config.auth.model_copy(update={"master_key": SecretStr(master_key)})}
        )
    try:
        configure("INFO")
        warn_if_exposed(config, host)
    finally:
        out = capsysbinary.readouterr().out
        with capsysbinary.disabled():
            configure("ERROR")
    events = [orjson.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == (["open_mode_exposed"] if warned else [])
    if warned:
        assert events[0]["level"] == "warning" and events[0]["host"] == host
