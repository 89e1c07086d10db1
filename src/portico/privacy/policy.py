"""Data classes and policy rules: which deployments may receive a request of a given class.

Pure functions over `DataPolicy` (the provider spec's, with config overrides already applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from portico.adapters.base import DataPolicy
from portico.config.model import PolicyRule
from portico.store.records import DataClass

DATA_CLASSES: Final[tuple[DataClass, ...]] = ("public", "internal", "sensitive")
_RANK: Final = {name: i for i, name in enumerate(DATA_CLASSES)}


def parse_data_class(value: str) -> DataClass | None:
    """The data class named by `value` (case-insensitive), or None when it names none."""
    wanted = value.strip().lower()
    for name in DATA_CLASSES:
        if name == wanted:
            return name
    return None


def rank(data_class: DataClass) -> int:
    return _RANK[data_class]


def higher(a: DataClass, b: DataClass) -> DataClass:
    """The more restrictive of two classes."""
    return a if _RANK[a] >= _RANK[b] else b


def violates(rule: PolicyRule, policy: DataPolicy) -> bool:
    """Whether a deployment with `policy` breaks `rule`.

    A self-hosted deployment keeps data with the operator: it meets the training and retention
    conditions by construction, but regions still have to be declared to match.
    """
    own = policy.self_hosted
    if rule.self_hosted_only and not own:
        return True
    if rule.no_training and policy.trains_on_data and not own:
        return True
    if rule.zero_retention and not (policy.zero_retention_available or own):
        return True
    if rule.max_retention_days is not None and not own and (
            policy.retention_days is None or policy.retention_days > rule.max_retention_days):
        return True
    return rule.regions is not None and not set(rule.regions) & set(policy.regions)


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """The configured rules. A rule binds its own class and every more sensitive class."""

    rules: tuple[PolicyRule, ...]

    @classmethod
    def of(cls, rules: Sequence[PolicyRule]) -> PolicyBook:
        return cls(tuple(rules))

    def binding(self, data_class: DataClass) -> tuple[PolicyRule, ...]:
        level = _RANK[data_class]
        return tuple(r for r in self.rules if _RANK[r.data_class] <= level)



def first_violation(rules: Sequence[PolicyRule], policy: DataPolicy) -> str | None:
    """The name of the first rule `policy` breaks, or None when it complies with all."""
    for rule in rules:
        if violates(rule, policy):
            return rule.name
    return None
