"""Fixtures that several integration modules share unchanged: the fake Anthropic upstream.

``claude_server`` serves one ``FakeAnthropic`` per test module; ``claude`` is that fake, reset for each test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.server import Server, serve_in_thread

KEY = "sk-ant-test"


@pytest.fixture(scope="module")
def claude_server() -> Iterator[tuple[FakeAnthropic, Server]]:
    fake = FakeAnthropic(api_key=KEY)
    with serve_in_thread(fake.app) as server:
        yield fake, server


@pytest.fixture
def claude(claude_server: tuple[FakeAnthropic, Server]) -> FakeAnthropic:
    claude_server[0].reset()
    return claude_server[0]
