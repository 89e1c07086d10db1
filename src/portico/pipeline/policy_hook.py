"""The data-policy stage: settle the request's data class and restrict routing to deployments
whose data policy complies with every rule binding that class.

The class is the stricter of the key's own and its team's, else the config default; a header may
raise a key or team class, never lower it.

Runs after the PII stage, which may have found PII and so raised the class to `sensitive`.
"""

from __future__ import annotations

from collections.abc import Callable

from portico.adapters.base import Target
from portico.config.model import PolicyConfig, PolicyRule
from portico.errors import InvalidRequest
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import BaseHook
from portico.pipeline.teams import TeamDirectory
from portico.privacy.policy import (
    DATA_CLASSES,
    PolicyBook,
    first_violation,
    higher,
    parse_data_class,
)
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest
from portico.store.records import DataClass, TeamSettings

DATA_CLASS_HEADER = "x-portico-data-class"


class PolicyHook(BaseHook):
    name = "policy"

    def __init__(self, policy: PolicyConfig, *, teams: TeamDirectory | None = None) -> None:
        self._book = PolicyBook.of(policy.rules)
        self._default: DataClass = policy.default_data_class
        self._teams = teams   # a team's data_class is its keys' default (cached lookups)

    def data_class(self, ctx: RequestContext, team: TeamSettings | None = None
                   ) -> tuple[DataClass, str]:
        """The class and where it came from: the stricter of the key's own and its team's, else
        the config default. Both are floors, as PII modes are: a team's admin sets a minimum no
        key of the team can go below, and the header may raise a floor, never lower it (only the
        config default may be lowered). Detected PII makes any request `sensitive`."""
        own = ctx.key.settings.data_class if ctx.key else None
        source = "key"
        team_class = team.data_class if team is not None else None
        if team_class is not None and (own is None or higher(team_class, own) != own):
            own, source = team_class, "team"
        cls, source = (own, source) if own is not None else (self._default, "default")
        values = ctx.headers.getlist(DATA_CLASS_HEADER)
        if values:
            # More than one header is never a valid class.
            asked = parse_data_class(values[0]) if len(values) == 1 else None
            if asked is None:
                raise InvalidRequest(
                    f"{DATA_CLASS_HEADER} must be one of {', '.join(DATA_CLASSES)}",
                    param=DATA_CLASS_HEADER, code="invalid_data_class")
            if own is None or higher(asked, own) == asked:
                cls, source = asked, "header"
        if ctx.pii_counts and cls != "sensitive":
            cls, source = "sensitive", "pii"
        return cls, source

    async def before(self, ctx: RequestContext, req: ChatRequest) -> ChatRequest:
        await self.constrain(ctx)
        return req

    async def before_embeddings(self, ctx: RequestContext, req: EmbeddingRequest
                                ) -> EmbeddingRequest:
        await self.constrain(ctx)
        return req

    async def constrain(self, ctx: RequestContext) -> None:
        """Settle the class and hand the executor the filter of the rules binding it."""
        team = (await self._teams.settings_of(ctx.team)
                if self._teams is not None and ctx.team is not None else None)
        cls, source = self.data_class(ctx, team)
        ctx.data_class = cls
        rules = self._book.binding(cls)
        if rules:
            ctx.policy_decisions.append(f"class={cls} from {source}; rules="
                                        + ",".join(r.name for r in rules))
            ctx.target_filter = _target_filter(ctx.policy_decisions, rules)


def _target_filter(decisions: list[str], rules: tuple[PolicyRule, ...]
                   ) -> Callable[[Target], str | None]:
    verdicts: dict[str, str | None] = {}

    def check(target: Target) -> str | None:
        if target.deployment in verdicts:
            return verdicts[target.deployment]
        broken = first_violation(rules, target.provider.data_policy)
        verdicts[target.deployment] = broken
        if broken is not None:
            decisions.append(f"refused {target.deployment}: {broken}")
        return broken

    return check
