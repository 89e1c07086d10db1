"""The data-policy stage: data class resolution, rule evaluation, routing filter, header."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from portico.adapters.base import DataPolicy, Target
from portico.adapters.providers import builtin_providers
from portico.clock import ManualClock
from portico.config.model import LimitsConfig, PolicyConfig, PolicyRule
from portico.errors import InvalidRequest
from portico.pipeline.context import RequestContext
from portico.pipeline.policy_hook import PolicyHook
from portico.pipeline.teams import TeamDirectory
from portico.privacy.policy import PolicyBook, violates
from portico.schema.chat import ChatRequest, UserMessage
from portico.schema.embeddings import EmbeddingRequest
from portico.store.records import DataClass, KeyRecord, KeySettings, TeamRecord, TeamSettings

from .test_teams import MemoryTeams

REQ = ChatRequest(model="m", messages=[UserMessage(content="hi")])
CLOUD = DataPolicy(retention_days=30, trains_on_data=False, zero_retention_available=False,
                   regions=("us",))


class Headers:
    def __init__(self, *pairs: tuple[str, str]) -> None:
        self._pairs = pairs

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._pairs if k.lower() == key.lower()]


def ctx(own: DataClass | None = None, pii: bool = False, *headers: str) -> RequestContext:
    key = KeyRecord(id="vk_1", name="k", key_hash="h", prefix="p", created_at_ms=0,
                    settings=KeySettings(data_class=own))
    c = RequestContext(request_id="r", started=0.0, ts_ms=0, key=key,
                       headers=Headers(*(("X-Portico-Data-Class", h) for h in headers)))
    if pii:
        c.pii_counts = {"EMAIL": 1}
    return c


def target(name: str, policy: DataPolicy) -> Target:
    spec = dataclasses.replace(builtin_providers()["openai"], data_policy=policy)
    return Target(deployment=name, provider=spec, model="m", base_url="http://x", api_key=None,
                  key_id="k")


def hook(*rules: PolicyRule, default: DataClass = "internal") -> PolicyHook:
    return PolicyHook(PolicyConfig(default_data_class=default, rules=list(rules)))


@pytest.mark.parametrize(("own", "header", "pii", "expected"), [
    (None, None, False, "internal"),          # the config default
    ("public", None, False, "public"),        # the key's class
    (None, "public", False, "public"),        # no key class: the header chooses
    ("internal", "Sensitive", False, "sensitive"),   # the header may raise...
    ("sensitive", "public", False, "sensitive"),     # ...never lower a key's class
    ("public", None, True, "sensitive"),      # detected PII makes it sensitive
])
async def test_data_class(own: DataClass | None, header: str | None, pii: bool,
                          expected: DataClass) -> None:
    c = ctx(own, pii, *([header] if header is not None else []))
    await hook().before(c, REQ)
    assert c.data_class == expected


@pytest.mark.parametrize("values", [("secret",), ("public", "public")])
async def test_invalid_or_repeated_header_is_a_400(values: tuple[str, ...]) -> None:
    with pytest.raises(InvalidRequest) as info:
        await hook().before(ctx(None, False, *values), REQ)
    assert info.value.status == 400 and info.value.param == "x-portico-data-class"


async def test_no_binding_rule_sets_no_filter() -> None:
    c = ctx("internal")
    await hook(PolicyRule(name="r", data_class="sensitive", no_training=True)).before(c, REQ)
    assert c.target_filter is None and c.policy_decisions == []


async def test_filter_names_the_violated_rule_and_records_decisions() -> None:
    rules = (PolicyRule(name="eu-only", data_class="internal", regions=["eu"]),
             PolicyRule(name="no-training", data_class="sensitive", no_training=True))
    c = ctx("sensitive")
    await hook(*rules).before(c, REQ)
    assert c.target_filter is not None
    trains = dataclasses.replace(CLOUD, trains_on_data=True, regions=("eu",))
    assert c.target_filter(target("a", trains)) == "no-training"
    assert c.target_filter(target("b", CLOUD)) == "eu-only"     # internal rule binds sensitive
    assert c.target_filter(target("c", dataclasses.replace(CLOUD, regions=("eu",)))) is None
    assert c.policy_decisions[0] == "class=sensitive from key; rules=eu-only,no-training"
    assert "refused a: no-training" in c.policy_decisions
    assert "refused b: eu-only" in c.policy_decisions


@pytest.mark.parametrize(("rule", "policy", "broken"), [
    (PolicyRule(name="r", data_class="public", no_training=True),
     dataclasses.replace(CLOUD, trains_on_data=True), True),
    (PolicyRule(name="r", data_class="public", max_retention_days=30), CLOUD, False),
    (PolicyRule(name="r", data_class="public", max_retention_days=7), CLOUD, True),
    (PolicyRule(name="r", data_class="public", max_retention_days=7),
     dataclasses.replace(CLOUD, retention_days=None), True),      # unknown retention fails
    (PolicyRule(name="r", data_class="public", zero_retention=True), CLOUD, True),
    (PolicyRule(name="r", data_class="public", zero_retention=True),
     dataclasses.replace(CLOUD, zero_retention_available=True), False),
    (PolicyRule(name="r", data_class="public", self_hosted_only=True), CLOUD, True),
    (PolicyRule(name="r", data_class="public", self_hosted_only=True, max_retention_days=0,
                no_training=True),
     DataPolicy(retention_days=None, trains_on_data=False, zero_retention_available=False,
                self_hosted=True), False),                       # own servers keep the data
    (PolicyRule(name="r", data_class="public", regions=["eu", "us"]), CLOUD, False),
])
def test_violates(rule: PolicyRule, policy: DataPolicy, broken: bool) -> None:
    assert violates(rule, policy) is broken


def test_a_rule_binds_its_class_and_every_higher_one() -> None:
    book = PolicyBook.of([PolicyRule(name="i", data_class="internal")])
    assert [r.name for r in book.binding("sensitive")] == ["i"]
    assert [r.name for r in book.binding("internal")] == ["i"]
    assert book.binding("public") == ()


async def test_embeddings_get_the_same_class_and_target_filter() -> None:
    rule = PolicyRule(name="no-training", data_class="sensitive", no_training=True)
    req = EmbeddingRequest(model="m", input="hi")
    c = ctx(None, True)                      # PII found upstream of us: sensitive
    assert await hook(rule).before_embeddings(c, req) is req
    assert c.data_class == "sensitive" and c.target_filter is not None
    trains = dataclasses.replace(CLOUD, trains_on_data=True)
    assert c.target_filter(target("a", trains)) == "no-training"
    assert c.policy_decisions[0] == "class=sensitive from pii; rules=no-training"
    with pytest.raises(InvalidRequest):
        await hook(rule).before_embeddings(ctx(None, False, "secret"), req)


# --- the team's data_class --------------------------------------------------------------------

def team_ctx(own: DataClass | None, *headers: str, team: str | None = "red") -> RequestContext:
    c = ctx(own, False, *headers)
    assert c.key is not None
    c.key = msgspec.structs.replace(c.key, team=team)
    return c


def team_hook(team_class: DataClass | None, *rules: PolicyRule,
              default: DataClass = "internal") -> tuple[PolicyHook, MemoryTeams]:
    store = MemoryTeams(TeamRecord(id="team_red", name="red", created_at_ms=1,
                                   settings=TeamSettings(data_class=team_class)))
    teams = TeamDirectory(store, LimitsConfig(), ManualClock())
    return PolicyHook(PolicyConfig(default_data_class=default, rules=list(rules)),
                      teams=teams), store


@pytest.mark.parametrize(("own", "team", "header", "expected", "source"), [
    (None, "sensitive", None, "sensitive", "team"),   # the team's class is the default
    (None, "public", None, "public", "team"),         # ...below the config default too
    ("public", "sensitive", None, "sensitive", "team"),  # the stricter of key and team
    ("sensitive", "public", None, "sensitive", "key"),   # ...either way round
    ("internal", "internal", None, "internal", "key"),   # a tie stays the key's
    ("public", "internal", "public", "internal", "team"),  # a header cannot go under the team
    (None, None, None, "internal", "default"),        # team sets none: the config default
    (None, "internal", "sensitive", "sensitive", "header"),  # a header may raise it...
    (None, "sensitive", "public", "sensitive", "team"),      # ...never lower it
    (None, None, "public", "public", "header"),       # only the config default may be lowered
])
def test_data_class_with_team(own: DataClass | None, team: DataClass | None,
                              header: str | None, expected: DataClass, source: str) -> None:
    c = ctx(own, False, *([header] if header is not None else []))
    assert hook().data_class(c, TeamSettings(data_class=team)) == (expected, source)


async def test_team_class_steers_routing_and_is_recorded() -> None:
    rule = PolicyRule(name="no-training", data_class="sensitive", no_training=True)
    h, store = team_hook("sensitive", rule)
    c = team_ctx(None, "public")
    await h.before(c, REQ)
    assert c.data_class == "sensitive" and c.target_filter is not None
    assert c.target_filter(target("a", dataclasses.replace(CLOUD, trains_on_data=True))) \
        == "no-training"
    assert c.policy_decisions[0] == "class=sensitive from team; rules=no-training"
    # A key's own lower class cannot undercut its team's floor; a key of no team reads nothing.
    own = team_ctx("public")
    await h.before(own, REQ)
    assert own.data_class == "sensitive" and own.target_filter is not None
    assert own.policy_decisions[0] == "class=sensitive from team; rules=no-training"
    reads = store.reads
    teamless = team_ctx(None, team=None)
    await h.before_embeddings(teamless, EmbeddingRequest(model="m", input="x"))
    assert teamless.data_class == "internal" and store.reads == reads


async def test_team_class_applies_to_embeddings() -> None:
    rule = PolicyRule(name="no-training", data_class="sensitive", no_training=True)
    h, store = team_hook("sensitive", rule)
    for _ in range(10):
        c = team_ctx(None)
        await h.before_embeddings(c, EmbeddingRequest(model="m", input="x"))
        assert c.data_class == "sensitive" and c.target_filter is not None
    assert store.reads == 1
