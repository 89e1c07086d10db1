"""Planner: ordered and weighted groups, fallbacks appended across groups, cycles cut."""

from __future__ import annotations

import random
from collections import Counter

from portico.adapters.providers import builtin_providers
from portico.config.model import (
    DeploymentConfig,
    ModelGroupConfig,
    PorticoConfig,
    ProviderConfig,
)
from portico.routing.catalog import ModelCatalog, build_catalog
from portico.routing.planner import Planner


def catalog(strategy: str = "ordered") -> ModelCatalog:
    providers = {"openai": ProviderConfig(base_url="http://127.0.0.1:9/v1", internal=True)}
    models = [
        ModelGroupConfig(name="main", strategy=strategy,  # type: ignore[arg-type]
                         deployments=[DeploymentConfig(provider="openai", model="a", weight=9),
                                      DeploymentConfig(provider="openai", model="b", weight=1)],
                         fallbacks=["backup"]),
        ModelGroupConfig(name="backup", deployments=[DeploymentConfig(provider="openai",
                                                                      model="c")],
                         fallbacks=["main"]),
    ]
    return build_catalog(PorticoConfig(providers=providers, models=models), builtin_providers())


def test_ordered_then_fallbacks_without_cycles() -> None:
    cat = catalog()
    plan = Planner(cat, random.Random(0)).plan(cat.resolve("main"))
    assert [d.model for d in plan] == ["a", "b", "c"]
    back = Planner(cat, random.Random(0)).plan(cat.resolve("backup"))
    assert [d.model for d in back] == ["c", "a", "b"]


def test_weighted_order_follows_weights() -> None:
    cat = catalog("weighted")
    planner = Planner(cat, random.Random(3))
    firsts = Counter(planner.plan(cat.resolve("main"))[0].model for _ in range(2000))
    assert 0.85 < firsts["a"] / 2000 < 0.95
    assert all(planner.plan(cat.resolve("main"))[-1].model == "c" for _ in range(50))
