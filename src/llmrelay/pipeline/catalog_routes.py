"""Model ids served by remote catalogs → the target and adapters of one request, built from the list.

Catalogs are consulted in config order, each under its `prefix`; the first that lists an id serves it.
A wrapped handle's adapters unwrap replies (providers/catalog/unwrap.py); a `/raw` handle's are the
registry's own. Every upstream call carries the catalog's headers (`Authorization: OAuth <token>`)
and no key of its own.

    >>> routes = CatalogRoutes([catalog], PROVIDERS)
    >>> target, spec = routes.find("gpt-4o-mini-2024-07-18")
    >>> target.base_url, spec.capabilities()["chat"]
    ('https://llm.example/openai/v1', True)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from llmrelay.config.load import ConfigError
from llmrelay.config.model import Config
from llmrelay.providers.base import Target
from llmrelay.providers.catalog import (
    CatalogModel,
    CatalogView,
    Route,
    UnwrappedChat,
    UnwrappedEmbeddings,
    UnwrappedImages,
    origin_of,
)
from llmrelay.providers.registry import ProviderSpec

_NOTHING = ProviderSpec(default_base_url="")
"""The spec of an entry no adapter fits (audio, realtime…): every call is one clear 400 before any I/O."""


@dataclass(frozen=True, slots=True)
class CatalogHit:
    """A catalog model found for a public id."""

    catalog: CatalogView
    model: CatalogModel
    upstream_model: str
    """The id sent upstream: the public id without the catalog's prefix (an alias stays an alias)."""


class CatalogRoutes:
    def __init__(self, catalogs: Sequence[CatalogView], registry: Mapping[str, ProviderSpec]) -> None:
        self._catalogs = tuple(catalogs)
        self._registry = registry
        self._specs: dict[tuple[str, str, bool], ProviderSpec] = {}
        self.names = frozenset(c.name for c in self._catalogs)

    def __bool__(self) -> bool:
        return bool(self._catalogs)

    def hit(self, model: str, only: str | None = None) -> CatalogHit | None:
        """The first catalog entry (config order) for `model`; with `only`, that catalog's entry only."""
        for catalog in self._catalogs:
            if (only is not None and catalog.name != only) or not model.startswith(catalog.prefix):
                continue
            upstream = model[len(catalog.prefix) :]
            entry = catalog.listing.get(upstream)
            if entry is not None:
                return CatalogHit(catalog, entry, upstream)
        return None

    def find(self, model: str, only: str | None = None) -> tuple[Target, ProviderSpec] | None:
        """The target and adapters for `model`, or None when no catalog lists it."""
        hit = self.hit(model, only)
        if hit is None:
            return None
        route = hit.model.route
        target = Target(
            provider=hit.catalog.name,
            base_url=route.base_url if route is not None else "",
            model=(route.model if route is not None and route.model else hit.upstream_model),
            headers=hit.catalog.headers,
        )
        return target, self.spec(route)

    def spec(self, route: Route | None) -> ProviderSpec:
        """The registry adapter for the route's capability alone, unwrapping when the handle wraps."""
        if route is None:
            return _NOTHING
        key = (route.provider_type, route.capability, route.wrapped)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = _spec(self._registry.get(route.provider_type), route)
        return spec

    def listed(self, taken: set[str]) -> Iterator[tuple[str, CatalogModel, ProviderSpec]]:
        """(public id, entry, adapters) of every catalog model, in config then list order; ids in
        `taken` (served by model entries, or by an earlier catalog) are left out and added to it."""
        for catalog in self._catalogs:
            for entry in catalog.listing.models:
                public = catalog.prefix + entry.id
                if public not in taken:
                    taken.add(public)
                    yield public, entry, self.spec(entry.route)


def _spec(registered: ProviderSpec | None, route: Route) -> ProviderSpec:
    """Only the route's capability: a chat handle serves no embeddings, whatever its adapter type offers.
    (The base URL lives in each target; the spec's is unused.)"""
    if registered is None:
        return _NOTHING
    if route.capability == "chat" and registered.chat is not None:
        chat = UnwrappedChat(registered.chat) if route.wrapped else registered.chat
        return ProviderSpec(default_base_url="", chat=chat)
    if route.capability == "embeddings" and registered.embeddings is not None:
        embeddings = UnwrappedEmbeddings(registered.embeddings) if route.wrapped else registered.embeddings
        return ProviderSpec(default_base_url="", embeddings=embeddings)
    if route.capability == "images" and registered.images is not None:
        images = UnwrappedImages(registered.images) if route.wrapped else registered.images
        return ProviderSpec(default_base_url="", images=images)
    return _NOTHING


def check_catalog_config(config: Config) -> None:
    """What can be checked before any list is fetched: each catalog's URL, one prefix per catalog, and no
    model entry naming a catalog (its models come from its list). Raises ConfigError."""
    seen: dict[str, str] = {}
    for name, provider in config.providers.items():
        if provider.type != "catalog":
            continue
        if origin_of(provider.url or "") is None:
            problem = "must be an http(s) URL with a host, e.g. https://llm.example/models"
            raise ConfigError(config.source, f"providers.{name}.url", problem)
        if provider.prefix in seen:
            problem = (
                f"catalogs {seen[provider.prefix]!r} and {name!r} both use the prefix {provider.prefix!r}, so a model"
                " id listed by both would be ambiguous; give one of them a different prefix"
            )
            raise ConfigError(config.source, f"providers.{name}.prefix", problem)
        seen[provider.prefix] = name
    for i, model in enumerate(config.models):
        if model.provider in config.providers and config.providers[model.provider].type == "catalog":
            problem = f"provider {model.provider!r} is a catalog: its models come from its list, under their own ids"
            raise ConfigError(config.source, f"models[{i}].provider", problem)
