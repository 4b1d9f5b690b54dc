"""One upstream client per provider, opened at start-up and closed at shutdown.

An `http(s)://` base URL gets one pooled HTTP/1.1 client (transport/http1.py); a `local://` base URL gets the in-process
local model (transport/local.py), which answers the same requests as an OpenAI-compatible server.

    >>> pool = Pool({"up": UpstreamSpec("https://api.openai.com/v1", Timeouts(connect=5, read=60))})
    >>> await pool.open(); upstream = pool.session("up"); await pool.close()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from llmrelay import __version__
from llmrelay.transport.attempt import HttpUpstream, Timeouts, Upstream
from llmrelay.transport.http1 import Http1Client, default_tls

LOCAL_SCHEME = "local://"
__all__ = ["LOCAL_SCHEME", "Pool", "Timeouts", "UpstreamSpec"]


@dataclass(frozen=True, slots=True)
class UpstreamSpec:
    base_url: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    local: Mapping[str, str | int | None] = field(default_factory=dict)
    """Settings of a `local://` upstream (model_path, context_window)."""


class Pool:
    def __init__(self, specs: Mapping[str, UpstreamSpec]) -> None:
        self._specs = dict(specs)
        self._upstreams: dict[str, Upstream] = {}

    async def open(self) -> None:
        for name, spec in self._specs.items():
            self._upstreams[name] = _open(spec)

    def session(self, provider: str) -> Upstream:
        return self._upstreams[provider]

    def upstreams(self) -> Mapping[str, Upstream]:
        return self._upstreams

    async def close(self) -> None:
        upstreams, self._upstreams = self._upstreams, {}
        for upstream in upstreams.values():
            await upstream.close()


def _open(spec: UpstreamSpec) -> Upstream:
    if spec.base_url.startswith(LOCAL_SCHEME):
        from llmrelay.transport.local import LocalEngine

        return LocalEngine.from_settings(spec.base_url, spec.local)
    # Uncompressed: upstream bytes arrive as they will leave, so they pass through untouched.
    headers = {"Accept": "*/*", "Accept-Encoding": "identity", "User-Agent": f"llmrelay/{__version__}"}
    tls = default_tls() if spec.base_url.startswith("https://") else None  # now, not on a first request
    return HttpUpstream(Http1Client(headers, keepalive=30.0, tls=tls))
