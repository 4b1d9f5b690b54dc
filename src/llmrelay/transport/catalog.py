"""A remote model catalog, fetched at start-up and every `refresh_seconds` (reference §7.1).

The list is read with `Authorization: OAuth <token>` when a token is set. A failed fetch keeps the
last good list and is logged; the next try comes after an exponential backoff (1 s, 2 s, 4 s… capped
at `refresh_seconds`), so a catalog that was down at start-up is picked up soon after it comes back,
and the gateway serves everything else meanwhile. `status()` is what /health shows.

    >>> catalog = Catalog("eliza", "https://llm.example/models", token="y0_…", refresh_seconds=300)
    >>> await catalog.start()          # waits for the first try (bounded), then refreshes in the background
    >>> catalog.listing.get("gpt-4o-mini-2024-07-18").route.base_url
    'https://llm.example/openai/v1'
    >>> await catalog.refresh_now()    # one fetch now (tests); True if the list was loaded
    >>> await catalog.stop()

Several catalogs may be configured side by side; the first in config order serves an id that two of
them list (each under its own `prefix`). Such an overlap is only known once the lists are loaded: it
is logged and shown in /health (`shadowed`) at every load that finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import aiohttp

from llmrelay.config.model import Config, ProviderConfig
from llmrelay.errors import UpstreamProtocolError
from llmrelay.observability.logging import get_logger
from llmrelay.providers.catalog import EMPTY, CatalogList, origin_of, parse_list
from llmrelay.providers.catalog.listing import shadowed
from llmrelay.transport.pool import Timeouts, UpstreamSpec

FIRST_RETRY_SECONDS = 1.0
START_WAIT_SECONDS = 10.0
"""The longest start-up waits for a catalog's first fetch before serving without its list."""
_SHOWN_IDS = 20


def retry_delay(failures: int, refresh_seconds: float, first: float = FIRST_RETRY_SECONDS) -> float:
    """Seconds before the next try after `failures` failed fetches in a row: doubling, capped at the period."""
    if failures <= 0:
        return refresh_seconds
    return min(refresh_seconds, first * 2.0 ** min(failures - 1, 30))


class Catalog:
    def __init__(
        self,
        name: str,
        url: str,
        *,
        token: str | None = None,
        refresh_seconds: float = 300.0,
        prefix: str = "",
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._name, self._prefix, self.url = name, prefix, url
        self.origin = origin_of(url) or ""
        self.refresh_seconds, self.timeout = refresh_seconds, timeout
        extra = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
        self._headers = {**extra, "authorization": f"OAuth {token}"} if token else extra
        self._listing: CatalogList = EMPTY
        self._earlier: tuple[Catalog, ...] = ()
        self._later: tuple[Catalog, ...] = ()
        self._shadowed: list[str] = []
        self._loaded_at: float | None = None
        self._loaded_wall: datetime | None = None
        self._error: str | None = None
        self._error_wall: datetime | None = None
        self._failures = 0
        self._next_at: float | None = None
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._first_try = asyncio.Event()
        self._log = get_logger()

    @classmethod
    def from_config(cls, name: str, config: ProviderConfig) -> Catalog:
        token = config.token.get_secret_value() if config.token else None
        return cls(
            name,
            config.url or "",
            token=token or None,
            refresh_seconds=config.refresh_seconds,
            prefix=config.prefix,
            timeout=config.timeout,
            headers=config.headers,
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def headers(self) -> Mapping[str, str]:
        """What every call to this catalog's host carries: the provider's headers and the OAuth token."""
        return self._headers

    @property
    def listing(self) -> CatalogList:
        """The list as last loaded (empty until the first fetch succeeds)."""
        return self._listing

    def upstream_spec(self) -> UpstreamSpec:
        """The pooled upstream that serves this catalog's models: its host, the provider's timeout."""
        return UpstreamSpec(self.origin, Timeouts.from_seconds(self.timeout))

    async def start(self) -> None:
        """Open the session, start refreshing, and wait (at most START_WAIT_SECONDS) for the first try."""
        connect = min(self.timeout, 10.0)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout, connect=connect))
        self._task = asyncio.create_task(self._run(), name=f"catalog:{self._name}")
        self._task.add_done_callback(self._ended)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(self.timeout, START_WAIT_SECONDS)):
                await self._first_try.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def refresh_now(self) -> bool:
        """Fetch the list now, after any fetch under way; True when it loaded."""
        return await self._refresh()

    async def _run(self) -> None:
        while True:
            loaded = await self._refresh()
            self._first_try.set()
            delay = self.refresh_seconds if loaded else retry_delay(self._failures, self.refresh_seconds)
            self._next_at = time.monotonic() + delay
            await asyncio.sleep(delay)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The refresh loop ends only when stopped; anything else is a bug that must not pass unseen."""
        if not task.cancelled() and (error := task.exception()) is not None:
            self._first_try.set()
            self._log.error("catalog_refresh_stopped", catalog=self._name, error=repr(error))

    async def _refresh(self) -> bool:
        async with self._lock:
            try:
                listing = await self._fetch()
            except _FetchError as exc:
                self._failed(str(exc))
                return False
            self._loaded(listing)
            return True

    async def _fetch(self) -> CatalogList:
        if self._session is None:
            raise _FetchError("the catalog is not started")
        try:
            # No redirects: the OAuth token must reach no host but the catalog's own.
            async with self._session.get(self.url, headers=self._headers, allow_redirects=False) as resp:
                body = await resp.read()
                status = resp.status
        except TimeoutError:
            raise _FetchError(f"no answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise _FetchError(f"the request failed ({type(exc).__name__})") from None
        if status != 200:
            raise _FetchError(f"HTTP {status}")
        try:
            return parse_list(body, self.origin)
        except UpstreamProtocolError as exc:
            raise _FetchError(exc.message) from None

    def _loaded(self, listing: CatalogList) -> None:
        before = {m.id for m in self._listing.models}
        after = {m.id for m in listing.models}
        first = self._loaded_at is None
        self._listing = listing
        self._loaded_at, self._loaded_wall = time.monotonic(), datetime.now(UTC)
        recovered = self._failures > 0
        self._failures = 0
        if first or recovered or before != after:
            self._log.info(
                "catalog_loaded",
                catalog=self._name,
                models=len(listing.models),
                added=len(after - before),
                removed=len(before - after),
                hidden=listing.hidden,
                invalid=listing.invalid,
            )
        for catalog in (self, *self._later):
            catalog._check_shadowed()

    def _failed(self, error: str) -> None:
        self._failures += 1
        self._error, self._error_wall = error, datetime.now(UTC)
        self._log.warning(
            "catalog_refresh_failed",
            catalog=self._name,
            error=error,
            failures=self._failures,
            keeping_models=len(self._listing.models),
            retry_in_seconds=retry_delay(self._failures, self.refresh_seconds),
        )

    def _check_shadowed(self) -> None:
        ids = shadowed(self._listing, self._prefix, [(c.listing, c.prefix) for c in self._earlier])
        if ids != self._shadowed and ids:
            self._log.warning(
                "catalog_duplicate_ids",
                catalog=self._name,
                served_by=[c.name for c in self._earlier],
                count=len(ids),
                ids=ids[:_SHOWN_IDS],
            )
        self._shadowed = ids

    def status(self) -> dict[str, object]:
        """For /health: state, model count, the list's age, the last error and when the next fetch comes."""
        now = time.monotonic()
        return {
            "state": self._state(),
            "models": len(self._listing.models),
            "age_seconds": None if self._loaded_at is None else round(now - self._loaded_at, 1),
            "loaded_at": _iso(self._loaded_wall),
            "last_error": self._error,
            "last_error_at": _iso(self._error_wall),
            "consecutive_failures": self._failures,
            "next_refresh_in_seconds": None if self._next_at is None else round(max(0.0, self._next_at - now), 1),
            "refresh_seconds": self.refresh_seconds,
            "hidden": self._listing.hidden,
            "invalid": self._listing.invalid,
            "shadowed": self._shadowed[:_SHOWN_IDS],
        }

    def _state(self) -> str:
        """ok · stale (the last fetch failed; the older list is served) · unavailable (no list yet) · loading."""
        if self._loaded_at is not None:
            return "stale" if self._failures else "ok"
        return "unavailable" if self._failures else "loading"


class _FetchError(Exception):
    """Why one fetch failed, in words safe to log and show: never the URL's query or the token."""


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="seconds")


def catalogs_from_config(config: Config) -> tuple[Catalog, ...]:
    """One Catalog per `type: catalog` provider, in config order, each knowing the ones before and after it."""
    catalogs = tuple(Catalog.from_config(n, p) for n, p in config.providers.items() if p.type == "catalog")
    link(catalogs)
    return catalogs


def link(catalogs: Sequence[Catalog]) -> None:
    """Tell each catalog which come before it (they win shared ids) and after it (their overlap may change)."""
    for i, catalog in enumerate(catalogs):
        catalog._earlier, catalog._later = tuple(catalogs[:i]), tuple(catalogs[i + 1 :])
