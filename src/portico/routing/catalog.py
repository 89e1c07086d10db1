"""The model catalog: configured providers, upstream keys, model groups and their targets.

Built once from config at start. Clients name a group (alias) or `provider/model` directly;
direct names become single-deployment groups on first use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from portico.adapters.base import DataPolicy, LimitDefaults, ProviderSpec, Target
from portico.config.model import (
    DataPolicyConfig,
    DeploymentConfig,
    LimitConfig,
    PorticoConfig,
    TimeoutConfig,
)
from portico.config.secrets import ConfigError, resolve_secret
from portico.config.urls import Resolver, check_upstream_url, system_resolver
from portico.errors import ModelNotFound
from portico.secret import Secret

MAX_DIRECT_GROUPS = 1024


@dataclass(frozen=True, slots=True)
class UpstreamKey:
    id: str
    secret: Secret | None
    tags: Mapping[str, str]
    limits: LimitDefaults


@dataclass(frozen=True, slots=True)
class ProviderInstance:
    name: str
    spec: ProviderSpec
    base_url: str
    keys: tuple[UpstreamKey, ...]
    api_version: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Deployment:
    provider: ProviderInstance
    model: str
    targets: tuple[Target, ...]
    weight: int = 1
    max_tokens_default: int = 4096
    context_window: int | None = None
    timeouts: TimeoutConfig = field(default_factory=TimeoutConfig)


@dataclass(frozen=True, slots=True)
class ModelGroup:
    name: str
    deployments: tuple[Deployment, ...]
    strategy: str = "ordered"
    fallbacks: tuple[str, ...] = ()
    context_fallback: str | None = None


def _limits(base: LimitDefaults, cfg: LimitConfig | None) -> LimitDefaults:
    if cfg is None:
        return base
    return LimitDefaults(
        requests_per_minute=cfg.requests_per_minute or base.requests_per_minute,
        tokens_per_minute=cfg.tokens_per_minute or base.tokens_per_minute,
        input_tokens_per_minute=cfg.input_tokens_per_minute or base.input_tokens_per_minute,
        output_tokens_per_minute=cfg.output_tokens_per_minute or base.output_tokens_per_minute,
        concurrency=cfg.concurrency or base.concurrency,
    )


def _policy(base: DataPolicy, cfg: DataPolicyConfig | None) -> DataPolicy:
    if cfg is None:
        return base
    return DataPolicy(
        retention_days=cfg.retention_days if cfg.retention_days is not None
        else base.retention_days,
        trains_on_data=base.trains_on_data if cfg.trains_on_data is None else cfg.trains_on_data,
        zero_retention_available=base.zero_retention_available if cfg.zero_retention is None
        else cfg.zero_retention,
        regions=tuple(cfg.regions) if cfg.regions is not None else base.regions,
        self_hosted=base.self_hosted if cfg.self_hosted is None else cfg.self_hosted,
    )


def _check_url(url: str, path: str, *, internal: bool, resolve: Resolver | None) -> None:
    # SSRF guard: scheme, host spelling and every resolved address (config/urls.py).
    check_upstream_url(url, path, internal=internal, resolve=resolve)


@dataclass
class ModelCatalog:
    providers: dict[str, ProviderInstance]
    groups: dict[str, ModelGroup]
    _direct: dict[str, ModelGroup] = field(default_factory=dict)

    def resolve(self, model: str) -> ModelGroup:
        group = self.groups.get(model) or self._direct.get(model)
        if group is not None:
            return group
        provider_name, sep, upstream_model = model.partition("/")
        provider = self.providers.get(provider_name) if sep else None
        if provider is None or not upstream_model:
            raise ModelNotFound(
                f"The model `{model}` does not exist or you do not have access to it.",
                param="model",
            )
        dep = build_deployment(provider, DeploymentConfig(provider=provider_name,
                                                          model=upstream_model))
        group = ModelGroup(name=model, deployments=(dep,))
        if len(self._direct) >= MAX_DIRECT_GROUPS:
            # Clients choose these names; bound the memory they can make us hold.
            self._direct.pop(next(iter(self._direct)))
        self._direct[model] = group
        return group

    def model_names(self) -> list[str]:
        """Every name a client may use: groups, then `provider/*` wildcards are not listed."""
        return sorted(self.groups)


def build_deployment(provider: ProviderInstance, cfg: DeploymentConfig,
                     path: str = "deployment") -> Deployment:
    keys = provider.keys
    if cfg.keys is not None:
        wanted = set(cfg.keys)
        unknown = wanted - {k.id for k in keys}
        if unknown:
            raise ConfigError(f"{path}.keys", f"unknown upstream key id(s) {sorted(unknown)}")
        keys = tuple(k for k in keys if k.id in wanted)
    if cfg.key_tags:
        tags = cfg.key_tags
        keys = tuple(k for k in keys if all(k.tags.get(t) == v for t, v in tags.items()))
        if not keys:
            raise ConfigError(f"{path}.key_tags", "no upstream key carries these tags")
    targets = tuple(
        Target(
            deployment=f"{provider.name}/{cfg.model}@{key.id}",
            provider=provider.spec,
            model=cfg.model,
            base_url=provider.base_url,
            api_key=key.secret,
            key_id=f"{provider.name}:{key.id}",
            api_version=provider.api_version,
            extra_headers=provider.headers,
        )
        for key in keys
    )
    return Deployment(
        provider=provider, model=cfg.model, targets=targets, weight=cfg.weight,
        max_tokens_default=cfg.max_tokens_default, context_window=cfg.context_window,
        timeouts=cfg.timeouts or TimeoutConfig(),
    )


def build_catalog(cfg: PorticoConfig, specs: Mapping[str, ProviderSpec],
                  environ: Mapping[str, str] | None = None,
                  resolve: Resolver = system_resolver) -> ModelCatalog:
    providers: dict[str, ProviderInstance] = {}
    for name, pcfg in cfg.providers.items():
        path = f"providers.{name}"
        spec = specs.get(pcfg.type or name)
        if spec is None:
            raise ConfigError(f"{path}.type", f"unknown provider type {pcfg.type or name!r}; "
                              f"known: {', '.join(sorted(specs))}")
        base_url = pcfg.base_url or spec.base_url
        if not base_url:
            raise ConfigError(f"{path}.base_url", "this provider type needs a base_url")
        # Built-in vendor URLs are constants: checked for shape, not resolved (offline start).
        _check_url(base_url, f"{path}.base_url", internal=spec.internal or pcfg.internal,
                   resolve=resolve if pcfg.base_url else None)
        policy = _policy(spec.data_policy, pcfg.data_policy)
        spec = dataclasses.replace(spec, data_policy=policy,
                                   internal=spec.internal or pcfg.internal)
        keys = tuple(
            UpstreamKey(
                id=k.id,
                secret=resolve_secret(k.key, f"{path}.keys[{i}].key", environ) if k.key else None,
                tags=dict(k.tags),
                limits=_limits(spec.limits, k.limits),
            )
            for i, k in enumerate(pcfg.keys)
        )
        if not keys:
            keys = (UpstreamKey(id="default", secret=None, tags={}, limits=spec.limits),)
        providers[name] = ProviderInstance(
            name=name, spec=spec, base_url=base_url, keys=keys,
            api_version=pcfg.api_version, headers=tuple(sorted(pcfg.headers.items())),
        )
    groups: dict[str, ModelGroup] = {}
    for gi, g in enumerate(cfg.models):
        gpath = f"models[{gi}]"
        if g.name in groups:
            raise ConfigError(f"{gpath}.name", f"duplicate model group {g.name!r}")
        if not g.deployments:
            raise ConfigError(f"{gpath}.deployments", "a model group needs a deployment")
        deps = []
        for di, d in enumerate(g.deployments):
            dpath = f"{gpath}.deployments[{di}]"
            provider = providers.get(d.provider)
            if provider is None:
                raise ConfigError(f"{dpath}.provider", f"provider {d.provider!r} is not "
                                  "configured under providers:")
            deps.append(build_deployment(provider, d, dpath))
        groups[g.name] = ModelGroup(
            name=g.name, deployments=tuple(deps), strategy=g.strategy,
            fallbacks=tuple(g.fallbacks), context_fallback=g.context_fallback,
        )
    for gi, g in enumerate(cfg.models):
        for ref in [*g.fallbacks, *([g.context_fallback] if g.context_fallback else [])]:
            if ref not in groups:
                raise ConfigError(f"models[{gi}].fallbacks", f"unknown model group {ref!r}")
    return ModelCatalog(providers=providers, groups=groups)

