"""The hot-path access line (logging.hot_info) against structlog's own rendering."""

from __future__ import annotations

import orjson
import pytest

from llmrelay.observability.logging import configure, get_logger, hot_info


def test_hot_info_writes_what_structlog_would(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    try:
        configure("INFO")
        hot_info("request", {"status": 200, "model": "m"})
        get_logger().info("request", status=200, model="m")
        configure("WARNING")
        hot_info("request", {"status": 500})
    finally:
        out = capsysbinary.readouterr().out
        with capsysbinary.disabled():  # back to the real stdout: later tests must not log into a closed capture
            configure("ERROR")
    hot, slow = (orjson.loads(line) for line in out.splitlines())
    assert hot.keys() == slow.keys()
    assert {k: v for k, v in hot.items() if k != "timestamp"} == {k: v for k, v in slow.items() if k != "timestamp"}
    assert hot["timestamp"].endswith("Z") and len(hot["timestamp"]) == len(slow["timestamp"])
