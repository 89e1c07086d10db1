"""Direct `provider/model` names resolve to single-deployment groups, with bounded memory."""

from __future__ import annotations

import pytest

from portico.adapters.providers import builtin_providers
from portico.config.model import PorticoConfig, ProviderConfig, UpstreamKeyConfig
from portico.errors import ModelNotFound
from portico.routing.catalog import MAX_DIRECT_GROUPS, ModelCatalog, build_catalog


def catalog() -> ModelCatalog:
    cfg = PorticoConfig(providers={"openai": ProviderConfig(
        keys=[UpstreamKeyConfig(id="k", key="env:T_KEY")])})
    return build_catalog(cfg, builtin_providers(), environ={"T_KEY": "sk-x"})


def test_direct_names_resolve_and_unknown_providers_do_not() -> None:
    cat = catalog()
    group = cat.resolve("openai/gpt-4.1")
    assert [t.model for t in group.deployments[0].targets] == ["gpt-4.1"]
    assert cat.resolve("openai/gpt-4.1") is group
    for name in ("anthropic/claude", "gpt-4.1", "openai/", "/x"):
        with pytest.raises(ModelNotFound):
            cat.resolve(name)


def test_direct_groups_are_bounded() -> None:
    cat = catalog()
    for i in range(MAX_DIRECT_GROUPS + 50):
        cat.resolve(f"openai/m{i}")
    assert len(cat._direct) == MAX_DIRECT_GROUPS
