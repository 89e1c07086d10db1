"""Model access: the key's and the team's allow-lists must both admit the model; one error for
either refusal; the team comes from the directory's cache, and keys without a team read nothing."""

from __future__ import annotations

import pytest

from portico.clock import ManualClock
from portico.config.model import LimitsConfig
from portico.errors import GatewayUnavailable, PermissionDenied
from portico.pipeline.keys import CACHE_TTL_SECONDS
from portico.pipeline.model_access import EVERY_MODEL, model_access, permits, require_model
from portico.pipeline.teams import TeamDirectory
from portico.store.records import KeyRecord, TeamSettings

from .test_teams import MemoryTeams, stored


def key(models: list[str] | None = None, team: str | None = None) -> KeyRecord:
    return KeyRecord(id="vk_1", name="k", key_hash="h", prefix="sk-", team=team,
                     allowed_models=models or [], created_at_ms=0)


def directory(**teams: list[str]) -> tuple[TeamDirectory, MemoryTeams, ManualClock]:
    store = MemoryTeams(*(stored(n, allowed_models=m) for n, m in teams.items()))
    clock = ManualClock()
    return TeamDirectory(store, LimitsConfig(), clock), store, clock


@pytest.mark.parametrize(("patterns", "model", "expected"), [
    ([], "anything", True),                          # empty: every model
    (["gpt-4o"], "gpt-4o", True),
    (["gpt-4o"], "gpt-4o-mini", False),              # names are exact, not prefixes
    (["openai/*"], "openai/gpt-4.1", True),
    (["openai/*"], "openai", False),
    (["openai/*"], "anthropic/claude", False),
    (["claude-*"], "claude-haiku", False),           # only `prefix/*` is a pattern
    (["a", "openai/*"], "a", True),
])
def test_one_list(patterns: list[str], model: str, expected: bool) -> None:
    assert permits(patterns, model) is expected


@pytest.mark.parametrize(("key_models", "team_models", "model", "expected"), [
    ([], [], "smart", True),
    (["smart", "cheap"], [], "cheap", True),
    ([], ["cheap"], "smart", False),                 # the team alone restricts
    (["smart", "cheap"], ["cheap"], "smart", False),  # both must admit it
    (["smart", "cheap"], ["cheap"], "cheap", True),
    (["openai/*"], ["openai/gpt-4o"], "openai/gpt-4o", True),
    (["openai/*"], ["openai/gpt-4o"], "openai/o3", False),
    (["smart"], ["openai/*"], "smart", False),
])
async def test_key_and_team_must_both_admit(key_models: list[str], team_models: list[str],
                                            model: str, expected: bool) -> None:
    teams, _, _ = directory(red=team_models)
    access = await model_access(key(key_models, "red"), teams)
    assert access.permits(model) is expected
    if expected:
        await require_model(key(key_models, "red"), teams, model)
    else:
        with pytest.raises(PermissionDenied):
            await require_model(key(key_models, "red"), teams, model)


async def test_refusal_is_the_key_check_error_naming_only_the_model() -> None:
    teams, _, _ = directory(red=["internal-secret-model"])
    with pytest.raises(PermissionDenied) as info:
        await require_model(key(team="red"), teams, "gpt-4o")
    err = info.value
    assert (err.status, err.code, err.param) == (403, "model_not_allowed", "model")
    assert err.message == "this key may not use the model `gpt-4o`"
    assert "internal-secret-model" not in err.message and "red" not in err.message
    with pytest.raises(PermissionDenied) as by_key:
        await require_model(key(["other"]), teams, "gpt-4o")
    assert by_key.value.message == err.message and by_key.value.code == err.code


async def test_master_and_teamless_keys_read_no_team() -> None:
    teams, store, _ = directory(red=["cheap"])
    assert await model_access(None, teams) is EVERY_MODEL
    assert await model_access(key(), teams) is EVERY_MODEL
    await require_model(key(), teams, "anything")
    await require_model(None, teams, "anything")
    assert (await model_access(key(["a"]), teams)).permits("a")
    assert store.reads == 0


async def test_team_is_read_once_per_ttl_and_changes_apply_after_it() -> None:
    teams, store, clock = directory(red=["cheap"])
    for _ in range(50):
        with pytest.raises(PermissionDenied):
            await require_model(key(team="red"), teams, "smart")
    assert store.reads == 1
    store.rows["red"].settings = TeamSettings(allowed_models=["smart"])   # another replica
    with pytest.raises(PermissionDenied):
        await require_model(key(team="red"), teams, "smart")            # still cached
    clock.advance(CACHE_TTL_SECONDS + 0.1)
    await require_model(key(team="red"), teams, "smart")
    assert store.reads == 2


async def test_unknown_team_restricts_nothing_and_a_store_outage_fails_closed() -> None:
    teams, store, _ = directory()
    await require_model(key(team="ghosts"), teams, "smart")  # neither stored nor configured
    store.broken = True
    teams.forget("ghosts")
    with pytest.raises(GatewayUnavailable):
        await require_model(key(team="ghosts"), teams, "smart")
