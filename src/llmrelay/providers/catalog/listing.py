"""The catalog's model list: parse the body the catalog serves into models with their routes and prices.

The body is `{"models": [...]}` or a bare list (reference §7.1). Each entry needs `model_version` (the
public id) and `handle`; entries whose handle is `unavailable` or `/test` are hidden, and malformed
entries are dropped and counted, so one bad entry never costs the whole list.

    >>> listing = parse_list(b'{"models":[{"model_version":"m","handle":"/openai/v1/chat/completions"}]}',
    ...                      "https://llm.example")
    >>> listing.get("m").route.base_url
    'https://llm.example/openai/v1'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from llmrelay.errors import UpstreamProtocolError
from llmrelay.providers.catalog.handles import RAW_PREFIX, Route, resolve_handle
from llmrelay.providers.common import json_reply

HIDDEN_HANDLES = frozenset({"unavailable", "/test"})
"""Handles that mark an entry as not to be served (reference §7.1)."""


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One served entry of the list. `route` is None when no adapter fits the handle (e.g. audio)."""

    id: str
    handle: str
    route: Route | None
    family: str | None = None
    vendor: str | None = None
    aliases: tuple[str, ...] = ()
    """`specific_versions`: other ids that reach the same entry (sent upstream as the client named them)."""
    prompt_price_1k: Decimal | None = None
    completion_price_1k: Decimal | None = None

    @property
    def owned_by(self) -> str:
        """The family, else the vendor, else the handle's first path segment (`/fireworks/…` → fireworks)."""
        if self.family:
            return self.family
        if self.vendor:
            return self.vendor
        path = self.handle[len(RAW_PREFIX) :] if self.handle.startswith(RAW_PREFIX + "/") else self.handle
        return path.strip("/").split("/", 1)[0] or "catalog"


@dataclass(frozen=True, slots=True)
class CatalogList:
    """A parsed list: the served models in list order, looked up by id or alias; what was left out, counted."""

    models: tuple[CatalogModel, ...] = ()
    hidden: int = 0
    invalid: int = 0
    _index: Mapping[str, CatalogModel] = field(init=False, repr=False, compare=False)
    _upstream: Mapping[str, CatalogModel] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, CatalogModel] = {}
        for model in self.models:  # a model_version wins over another entry's alias of the same name
            index.setdefault(model.id, model)
        for model in self.models:
            for alias in model.aliases:
                index.setdefault(alias, model)
        upstream = {m.route.model: m for m in reversed(self.models) if m.route is not None and m.route.model}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_upstream", upstream)

    def get(self, model_id: str) -> CatalogModel | None:
        return self._index.get(model_id)

    def find_upstream(self, model: str) -> CatalogModel | None:
        """The entry for an upstream model id: an id or alias, or the model a handle names (Gemini's)."""
        return self._index.get(model) or self._upstream.get(model)

    def ids(self) -> Iterable[str]:
        """Every id a request may use: each model_version and each alias."""
        return self._index.keys()


EMPTY = CatalogList()


def parse_list(body: bytes, origin: str) -> CatalogList:
    """The list in `body`; raises UpstreamProtocolError when it is not a list of models at all."""
    parsed = json_reply(body, "The model catalog answered", an_object=False)
    entries = parsed.get("models") if isinstance(parsed, dict) else parsed
    if not isinstance(entries, list):
        raise UpstreamProtocolError('The model catalog answered with JSON that is not {"models": [...]} or a list.')
    models: list[CatalogModel] = []
    seen: set[str] = set()
    hidden = invalid = 0
    for entry in entries:
        model = _model(entry, origin)
        if model is None:
            invalid += 1
        elif model.handle.strip() in HIDDEN_HANDLES:
            hidden += 1
        elif model.id in seen:
            invalid += 1
        else:
            seen.add(model.id)
            models.append(model)
    return CatalogList(tuple(models), hidden, invalid)


def _model(entry: object, origin: str) -> CatalogModel | None:
    if not isinstance(entry, dict):
        return None
    model_id, handle = entry.get("model_version"), entry.get("handle")
    if not isinstance(model_id, str) or not model_id.strip() or not isinstance(handle, str):
        return None
    if handle.strip() not in HIDDEN_HANDLES and not handle.startswith("/"):
        return None
    versions = entry.get("specific_versions")
    aliases = (
        tuple(v for v in versions if isinstance(v, str) and v and v != model_id) if isinstance(versions, list) else ()
    )
    return CatalogModel(
        id=model_id,
        handle=handle,
        route=resolve_handle(handle, origin),
        family=_text(entry.get("model_family")),
        vendor=_text(entry.get("vendor")),
        aliases=aliases,
        prompt_price_1k=_price(entry.get("prompt_price_1k")),
        completion_price_1k=_price(entry.get("completion_price_1k")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _price(value: Any) -> Decimal | None:
    """A non-negative finite number (a float read by its shortest repr), else None: a bad price is no price."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        price = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


def public_ids(listing: CatalogList, prefix: str) -> Iterator[str]:
    """The ids clients use for a catalog's models: each id and alias behind the catalog's prefix."""
    return (prefix + model_id for model_id in listing.ids())


def shadowed(listing: CatalogList, prefix: str, earlier: Iterable[tuple[CatalogList, str]]) -> list[str]:
    """Ids of this catalog that an earlier-configured catalog also serves (the earlier one keeps them)."""
    taken: set[str] = set()
    for other, other_prefix in earlier:
        taken.update(public_ids(other, other_prefix))
    return sorted(i for i in public_ids(listing, prefix) if i in taken)
