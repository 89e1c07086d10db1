"""Orders a model group's deployments (ordered or weighted) and appends its fallback groups."""

from __future__ import annotations

import random

from portico.routing.catalog import Deployment, ModelCatalog, ModelGroup

MAX_FALLBACK_DEPTH = 4


class Planner:
    def __init__(self, catalog: ModelCatalog, rng: random.Random) -> None:
        self._catalog = catalog
        self._rng = rng

    def plan(self, group: ModelGroup) -> list[Deployment]:
        out: list[Deployment] = []
        seen: set[str] = set()
        self._extend(group, out, seen, 0)
        return out

    def _extend(self, group: ModelGroup, out: list[Deployment], seen: set[str],
                depth: int) -> None:
        if group.name in seen or depth > MAX_FALLBACK_DEPTH:
            return
        seen.add(group.name)
        out.extend(self._order(group))
        for name in group.fallbacks:
            self._extend(self._catalog.resolve(name), out, seen, depth + 1)

    def _order(self, group: ModelGroup) -> list[Deployment]:
        deps = list(group.deployments)
        if group.strategy != "weighted" or len(deps) < 2:
            return deps
        # Weighted shuffle (Efraimidis-Spirakis): each order drawn with weight-proportional odds.
        keyed = [(self._rng.random() ** (1.0 / max(d.weight, 1)), i)
                 for i, d in enumerate(deps)]
        keyed.sort(reverse=True)
        return [deps[i] for _, i in keyed]
