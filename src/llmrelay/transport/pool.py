"""One pooled aiohttp session per upstream provider, opened at start-up and closed at shutdown.

>>> pool = Pool({"up": Timeouts(connect=5, read=60)})
>>> await pool.open(); session = pool.session("up"); await pool.close()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. `read` bounds the wait for response headers and every gap between body reads."""

    connect: float = 10.0
    read: float = 60.0

    @classmethod
    def from_seconds(cls, seconds: float) -> Timeouts:
        return cls(connect=min(seconds, 10.0), read=seconds)

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, connect=self.connect, sock_read=self.read)


class Pool:
    def __init__(self, timeouts: Mapping[str, Timeouts]) -> None:
        self._timeouts = dict(timeouts)
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    async def open(self) -> None:
        for name, timeouts in self._timeouts.items():
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
            self._sessions[name] = aiohttp.ClientSession(
                connector=connector,
                timeout=timeouts.client_timeout(),
                # No Accept-Encoding: upstream bytes arrive as they will leave, so they pass through untouched.
                skip_auto_headers=("Accept-Encoding", "User-Agent"),
            )

    def session(self, provider: str) -> aiohttp.ClientSession:
        return self._sessions[provider]

    async def close(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()
