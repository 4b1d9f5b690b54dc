"""Adapters built from a remote model catalog's data (reference §7): pure translation, no I/O.

    handles.py  a handle → the registry adapter that fits it and its base URL
    listing.py  the list body → models with routes, aliases and prices
    unwrap.py   wrapped replies (`{"response": …}`) unwrapped before the inner adapter reads them

Fetching the list on a timer is transport's job (transport/catalog.py); routing a model id to a
catalog entry is the pipeline's (pipeline/catalog_routes.py). Both meet at `CatalogView`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from llmrelay.providers.catalog.handles import Route, origin_of, resolve_handle
from llmrelay.providers.catalog.listing import EMPTY, CatalogList, CatalogModel, parse_list
from llmrelay.providers.catalog.unwrap import UnwrappedChat, UnwrappedEmbeddings, UnwrappedImages


class CatalogView(Protocol):
    """A configured catalog as routing and accounting see it: its name, its id prefix, the headers every
    upstream call carries (`Authorization: OAuth <token>`), and the list as last loaded."""

    @property
    def name(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def listing(self) -> CatalogList: ...


__all__ = [
    "EMPTY",
    "CatalogList",
    "CatalogModel",
    "CatalogView",
    "Route",
    "UnwrappedChat",
    "UnwrappedEmbeddings",
    "UnwrappedImages",
    "origin_of",
    "parse_list",
    "resolve_handle",
]
