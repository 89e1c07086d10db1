"""Config pieces for data-policy tests: the demo's OpenAI simulator behind providers that differ
only in their data policy, so routing decisions show in which upstream model was asked for."""

from __future__ import annotations

import msgspec

from portico.config.model import (
    DataPolicyConfig,
    DeploymentConfig,
    ModelGroupConfig,
    PorticoConfig,
    ProviderConfig,
)


def training_split(cfg: PorticoConfig) -> dict[str, ProviderConfig]:
    """`cfg`'s providers plus `trainer` (trains on API data) and `careful` (does not), both
    copies of its `openai` provider: the same simulator behind two data policies."""
    base = cfg.providers["openai"]
    return {
        **cfg.providers,
        "trainer": msgspec.structs.replace(
            base, type="openai", data_policy=DataPolicyConfig(trains_on_data=True)),
        "careful": msgspec.structs.replace(
            base, type="openai", data_policy=DataPolicyConfig(trains_on_data=False)),
    }


def group(name: str, *deployments: tuple[str, str]) -> ModelGroupConfig:
    """A model group of (provider, upstream model) deployments, in order."""
    return ModelGroupConfig(name=name, deployments=[
        DeploymentConfig(provider=p, model=m) for p, m in deployments])
