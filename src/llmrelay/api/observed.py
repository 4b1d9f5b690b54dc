"""The gateway's `Metrics`, with label sets that follow what it serves, catalog models included.

A catalog's models arrive after start-up and change as the list refreshes, so the allowed model and
deployment names cannot be a set taken at build time: `Served` answers `in` from the names the config
fixes plus each catalog's list as it is now. A name no longer listed stops being a label value for
new series (the series already written stay, as Prometheus series do).

    >>> metrics = build_metrics(config, router, catalogs)
    >>> metrics.observe(record, status=200, latency=0.8)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llmrelay.config import metrics_env
from llmrelay.config.model import Config
from llmrelay.observability.metrics import AllowedLabels, Metrics
from llmrelay.pipeline.routing import Router
from llmrelay.providers.catalog import CatalogView


@dataclass(frozen=True, slots=True)
class Served:
    """A name the config fixes, or (for `models`) a public id some catalog lists under its prefix, or
    (for deployments) an upstream id some catalog lists. O(1) per catalog; no client string is kept."""

    fixed: frozenset[str]
    catalogs: Sequence[CatalogView] = ()
    prefixed: bool = True
    """True: public ids (`prefix` + id); False: upstream ids, looked up without a prefix."""

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        if value in self.fixed:
            return True
        for catalog in self.catalogs:
            if not self.prefixed:
                if catalog.listing.find_upstream(value) is not None:
                    return True
            elif value.startswith(catalog.prefix) and catalog.listing.get(value[len(catalog.prefix) :]) is not None:
                return True
        return False


def allowed_labels(config: Config, router: Router, catalogs: Sequence[CatalogView]) -> AllowedLabels:
    """What a label may name: the router's models, the config's providers and upstream model ids."""
    models = frozenset(entry.id for entry in router.models())  # entries and default models: no catalog yet
    upstream = frozenset(_upstream_ids(config)) | models  # a default model is its own upstream id
    return AllowedLabels(
        models=Served(models, catalogs),
        providers=frozenset(config.providers),
        deployments=Served(upstream, catalogs, prefixed=False),
    )


def build_metrics(config: Config, router: Router, catalogs: Sequence[CatalogView]) -> Metrics:
    """One per process; under `--workers N` its values live in the shared multiprocess directory."""
    return Metrics(allowed_labels(config, router, catalogs), multiprocess_dir=metrics_env.multiprocess_dir())


def _upstream_ids(config: Config) -> Iterable[str]:
    return (model.upstream_model for model in config.models)
