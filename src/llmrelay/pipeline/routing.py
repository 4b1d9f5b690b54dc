"""Model name (+ an optional `provider` pin) → Plan: the deployments that may serve the request.

Built once from the config at start-up. A model entry's group (and its fallbacks' groups) come out
ordered by the load-balancing `Strategy` (pipeline/balancing.py); pinned, catalog and ad-hoc plans
are one deployment with no fallbacks. Resolution order: a `provider` field naming a configured
provider; an exact model entry (entries sharing a name form a weighted group); a model that a remote
catalog lists (pipeline/catalog_routes.py; the lists change as they refresh); `PROVIDER/MODEL` with a
configured provider's name as prefix; a provider's `match` patterns; otherwise 404.

    >>> router = Router(config)
    >>> router.plan("gpt-4o-mini").deployments[0].target.model
    'gpt-4o-mini-2024-07-18'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import translate
from typing import TYPE_CHECKING

from llmrelay.config.load import EMBEDDED_DEFAULT, ConfigError
from llmrelay.config.model import Config, ModelConfig, ProviderConfig, TimeoutsConfig
from llmrelay.errors import ModelNotFoundError, NotFoundError
from llmrelay.pipeline.catalog_routes import CatalogRoutes, check_catalog_config
from llmrelay.providers.base import Target
from llmrelay.providers.catalog import CatalogView
from llmrelay.providers.registry import PROVIDERS, ProviderSpec
from llmrelay.providers.template import OPTION as TEMPLATE_OPTION
from llmrelay.transport.pool import Timeouts, UpstreamSpec

if TYPE_CHECKING:
    from llmrelay.pipeline.balancing import Strategy


@dataclass(frozen=True, slots=True)
class Deployment:
    public_name: str
    target: Target
    spec: ProviderSpec
    weight: int = 1
    passthrough_auth: bool = False
    narrowed: Mapping[str, bool] = field(default_factory=dict)
    """Capabilities the model entry turns off (see ModelConfig.capabilities)."""
    max_retries: int = 2
    timeouts: Timeouts = field(default_factory=Timeouts)
    key: str = field(init=False, repr=False, compare=False)
    """`provider/upstream-model`: what its load, latency and cooldown are kept under (made once)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.target.provider}/{self.target.model}")

    def capabilities(self) -> dict[str, bool]:
        return {name: offered and self.narrowed.get(name, True) for name, offered in self.spec.capabilities().items()}


@dataclass(frozen=True, slots=True)
class Plan:
    """`deployments`: the model's own group, best first; `fallbacks`: its fallbacks' groups then the
    `default_fallbacks`'; `context_fallbacks`: where to go when the request is too long for the model."""

    model: str
    deployments: tuple[Deployment, ...]
    fallbacks: tuple[Deployment, ...] = ()
    context_fallbacks: tuple[Deployment, ...] = ()

    @property
    def first(self) -> Deployment:
        return self.deployments[0]

    @property
    def candidates(self) -> tuple[Deployment, ...]:
        """Every deployment the walk may try, in order (run_plan skips duplicates)."""
        return self.deployments + self.fallbacks if self.fallbacks else self.deployments


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One line of /v1/models."""

    id: str
    owned_by: str
    capabilities: Mapping[str, bool]


@dataclass(frozen=True, slots=True)
class _Provider:
    name: str
    config: ProviderConfig
    spec: ProviderSpec
    target: Target
    timeouts: Timeouts


class Router:
    def __init__(
        self,
        config: Config,
        registry: Mapping[str, ProviderSpec] = PROVIDERS,
        catalogs: Sequence[CatalogView] = (),
        strategy: Strategy | None = None,
    ) -> None:
        """`catalogs`: the running catalogs (transport/catalog.py) of the config's `type: catalog` providers;
        `strategy`: how to order a group (default: weighted random, as the config's `routing_strategy` says)."""
        if strategy is None:
            from llmrelay.pipeline.balancing import LoadStats, make_strategy  # it imports this module

            strategy = make_strategy(config.routing_strategy, LoadStats())
        self.strategy = strategy
        self.skipped: dict[str, str] = {}
        check_catalog_config(config)
        catalog_names = {name for name, p in config.providers.items() if p.type == "catalog"}
        self._catalogs = CatalogRoutes([c for c in catalogs if c.name in catalog_names], registry)
        self._catalog_tries = {
            name: (config.providers[name].max_retries, _timeouts(config.providers[name], None))
            for name in catalog_names
        }
        served = {name: p for name, p in config.providers.items() if name not in catalog_names}
        self._providers = self._build_providers(config.model_copy(update={"providers": served}), registry)
        self._groups: dict[str, list[Deployment]] = {}
        for model in config.models:
            provider = self._providers.get(model.provider)
            if provider is None:
                continue
            self._groups.setdefault(model.name, []).append(_entry(provider, model))
        self._fallbacks = _names_by_model(config, "fallbacks", config.default_fallbacks)
        self._context = _names_by_model(config, "context_window_fallbacks", config.context_window_fallbacks)
        self._add_default_models()
        self._patterns = [
            (re.compile(translate(pattern)), provider)
            for provider in self._providers.values()
            for pattern in provider.config.match
        ]
        self._fixed = {
            model: Plan(model, tuple(group))
            for model, group in self._groups.items()
            if len(group) == 1 and not self._fallbacks.get(model) and not self._context.get(model)
        }
        """The plans that never change (one deployment, no fallbacks), made once."""

    def _build_providers(self, config: Config, registry: Mapping[str, ProviderSpec]) -> dict[str, _Provider]:
        providers: dict[str, _Provider] = {}
        for name, provider in config.providers.items():
            spec = registry.get(provider.type)
            if spec is None:
                problem = f"type {provider.type!r} is recognised but this version of llmrelay does not serve it yet"
                if config.source != EMBEDDED_DEFAULT:
                    raise ConfigError(config.source, f"providers.{name}.type", problem)
                self.skipped[name] = problem
                continue
            options = {"account_id": provider.account_id} if provider.account_id else {}
            default_url = spec.default_base_url
            template = config.templates.get(name)
            if template is not None:  # a template provider: its folder gives the URL, the models and the adapter's data
                spec = replace(spec, default_models=template.models)
                default_url, options[TEMPLATE_OPTION] = template.base_url, template.spec
            target = Target(
                provider=name,
                base_url=(provider.base_url or default_url).rstrip("/"),
                model="",
                api_key=provider.api_key.get_secret_value() if provider.api_key else None,
                headers=dict(provider.headers),
                options=options,
            )
            providers[name] = _Provider(name, provider, spec, target, _timeouts(provider, None))
        return providers

    def _add_default_models(self) -> None:
        """A provider with no model entries serves its type's default models (e.g. BITO's built-in names).

        A name some model entry already claims stays with that entry.
        """
        claimed = set(self._groups)
        with_entries = {d.target.provider for group in self._groups.values() for d in group}
        for provider in self._providers.values():
            if provider.name in with_entries:
                continue
            for name in provider.spec.default_models:
                if name not in claimed:
                    self._groups.setdefault(name, []).append(self._ad_hoc(provider, name, name))

    @functools.cached_property
    def has_passthrough(self) -> bool:
        """Whether any provider forwards the client's own token (then unknown tokens may be theirs)."""
        return any(p.config.auth == "passthrough" for p in self._providers.values())

    def upstream_specs(self) -> dict[str, UpstreamSpec]:
        """What the transport pool opens: one upstream per provider."""
        return {
            name: UpstreamSpec(
                p.target.base_url,
                p.timeouts,
                {"model_path": p.config.model_path, "context_window": p.config.context_window},
            )
            for name, p in self._providers.items()
        }

    def plan(self, model: str, provider: str | None = None) -> Plan:
        if provider is not None and provider in self._catalogs.names:
            return self._catalog_pinned(model, provider)
        if provider is not None:
            return self._pinned(model, provider)
        fixed = self._fixed.get(model)
        if fixed is not None:
            return fixed
        group = self._groups.get(model)
        if group is not None:
            return self._group_plan(model, group)
        listed = self._from_catalog(model) if self._catalogs else None
        if listed is not None:
            return listed
        prefix, sep, rest = model.partition("/")
        if sep and rest and prefix in self._providers:
            return Plan(model, (self._ad_hoc(self._providers[prefix], model, rest),))
        for pattern, candidate in self._patterns:
            if pattern.match(model):
                return Plan(model, (self._ad_hoc(candidate, model, model),))
        raise ModelNotFoundError(self._not_found(model), param="model")

    def _not_found(self, model: str) -> str:
        """Say what was tried, so the client (or the operator reading the log) sees why nothing matched."""
        tried = ["no model entry has that name"]
        if self._catalogs:
            tried.append(f"no catalog lists it ({', '.join(sorted(self._catalogs.names))})")
        prefix = model.partition("/")[0]
        if "/" in model:
            tried.append(f"'{prefix}' is not a configured provider")
        patterns = [p for provider in self._providers.values() for p in provider.config.match]
        tried.append(
            f"no provider's match pattern fits ({', '.join(patterns)})"
            if patterns
            else "no provider has match patterns"
        )
        return (
            f"The model '{model}' is not served by this gateway: {'; '.join(tried)}. GET /v1/models lists the models."
        )

    def _from_catalog(self, model: str, only: str | None = None) -> Plan | None:
        """The deployment of the first catalog (or of catalog `only`) that lists `model`, built from its entry."""
        found = self._catalogs.find(model, only)
        if found is None:
            return None
        retries, timeouts = self._catalog_tries.get(found[0].provider, (2, Timeouts()))
        deployment = Deployment(model, found[0], found[1], max_retries=retries, timeouts=timeouts)
        return Plan(model, (deployment,))

    def _catalog_pinned(self, model: str, catalog: str) -> Plan:
        plan = self._from_catalog(model, catalog)
        if plan is None:
            raise ModelNotFoundError(
                f"The catalog '{catalog}' does not list the model '{model}'. GET /v1/models lists the models.",
                param="model",
            )
        return plan

    def _pinned(self, model: str, provider: str) -> Plan:
        chosen = self._providers.get(provider)
        if chosen is None:
            known = ", ".join(sorted([*self._providers, *self._catalogs.names])) or "none"
            raise NotFoundError(
                f"The provider '{provider}' named in the request is not configured. Configured providers: {known}.",
                param="provider",
                code="provider_not_found",
            )
        group = [d for d in self._groups.get(model, ()) if d.target.provider == provider]
        if group:
            return Plan(model, self.strategy.order(group))
        return Plan(model, (self._ad_hoc(chosen, model, model),))

    def _group_plan(self, model: str, group: Sequence[Deployment]) -> Plan:
        ordered = self.strategy.order(group)
        fallbacks, context = self._fallbacks.get(model, ()), self._context.get(model, ())
        if not fallbacks and not context:
            return Plan(model, ordered)
        return Plan(model, ordered, self._ordered(fallbacks, model), self._ordered(context, model))

    def _ordered(self, names: Sequence[str], model: str) -> tuple[Deployment, ...]:
        out: list[Deployment] = []
        for name in names:
            if name != model:
                out.extend(self.strategy.order(self._groups.get(name, ())))
        return tuple(out)

    @staticmethod
    def _ad_hoc(provider: _Provider, public: str, upstream: str) -> Deployment:
        return Deployment(
            public_name=public,
            target=_with_model(provider.target, upstream),
            spec=provider.spec,
            passthrough_auth=provider.config.auth == "passthrough",
            max_retries=provider.config.max_retries,
            timeouts=provider.timeouts,
        )

    def models(self) -> list[ModelEntry]:
        """Model entries (and default models), then every catalog model whose id no entry already claims."""
        entries = [
            ModelEntry(name, group[0].target.provider, group[0].capabilities()) for name, group in self._groups.items()
        ]
        entries.extend(
            ModelEntry(public, entry.owned_by, spec.capabilities())
            for public, entry, spec in self._catalogs.listed(set(self._groups))
        )
        return entries

    def model(self, model_id: str) -> ModelEntry:
        group = self._groups.get(model_id)
        if group is not None:
            return ModelEntry(model_id, group[0].target.provider, group[0].capabilities())
        hit = self._catalogs.hit(model_id)
        if hit is None:
            raise ModelNotFoundError(f"The model '{model_id}' does not exist.", param="model")
        return ModelEntry(model_id, hit.model.owned_by, self._catalogs.spec(hit.model.route).capabilities())

    def describe(self) -> dict[str, dict[str, object]]:
        """Per provider: type and model count, for /health and the start-up log. No URLs, no keys."""
        counts: dict[str, int] = {}
        for group in self._groups.values():
            for d in group:
                counts[d.target.provider] = counts.get(d.target.provider, 0) + 1
        return {
            name: {"type": p.config.type, "models": counts.get(name, 0), "match": list(p.config.match)}
            for name, p in self._providers.items()
        }


def _with_model(target: Target, model: str) -> Target:
    return Target(target.provider, target.base_url, model, target.api_key, target.headers, target.options)


def _entry(provider: _Provider, model: ModelConfig) -> Deployment:
    return Deployment(
        public_name=model.name,
        target=_with_model(provider.target, model.upstream_model),
        spec=provider.spec,
        weight=model.weight,
        passthrough_auth=provider.config.auth == "passthrough",
        narrowed={str(name): on for name, on in model.capabilities.items()},
        max_retries=provider.config.max_retries if model.max_retries is None else model.max_retries,
        timeouts=provider.timeouts if model.timeouts is None else _timeouts(provider.config, model.timeouts),
    )


def _timeouts(provider: ProviderConfig, model: TimeoutsConfig | None) -> Timeouts:
    """The provider's `timeouts` (each unset one from its `timeout`), overridden by the model's."""
    given, default = provider.timeouts, provider.timeout

    def pick(name: str, fallback: float) -> float:
        value = getattr(model, name, None) if model is not None else None
        value = value if value is not None else getattr(given, name)
        return float(value) if value is not None else fallback

    return Timeouts(
        connect=pick("connect", min(default, 10.0)),
        read=pick("idle", default),
        first_byte=pick("first_byte", default),
        total=pick("total", default),
    )


def _names_by_model(config: Config, key: str, default: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per model name: the fallback names of its entries (in order, once each), then `default`'s."""
    out: dict[str, tuple[str, ...]] = {}
    for model in config.models:
        own: tuple[str, ...] = getattr(model, key)
        out[model.name] = tuple(dict.fromkeys([*out.get(model.name, ()), *own]))
    if key == "context_window_fallbacks":  # a model's own list wins over the global one
        return {name: names or tuple(default) for name, names in out.items() if names or default}
    return {name: tuple(dict.fromkeys([*names, *default])) for name, names in out.items() if names or default}
