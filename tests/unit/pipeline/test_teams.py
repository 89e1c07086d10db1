"""Team directory: config overridden by stored settings, cached single-flight lookups, archived
teams' keys refused at auth without a store read per request, and stored team limits applied
by the inbound-limit and budget hooks."""

from __future__ import annotations

import asyncio

import pytest

from portico.clock import ManualClock
from portico.config.model import BudgetLimits, LimitsConfig, TeamConfig
from portico.errors import (
    AuthError,
    BudgetExceeded,
    GatewayUnavailable,
    InvalidRequest,
    RateLimited,
)
from portico.limits import MemoryLimiter
from portico.pipeline.budget import BudgetHook
from portico.pipeline.inbound_limits import InboundLimitsHook
from portico.pipeline.keys import CACHE_TTL_SECONDS, KeyService
from portico.pipeline.teams import TeamDirectory, effective_settings, validate_settings
from portico.secret import Secret
from portico.store.records import TeamRecord, TeamSettings

from ._capacity_support import T0, ctx, key, request
from .test_keys import CountingKeys


class MemoryTeams:
    """An in-memory TeamStore that counts reads and can be made slow or broken."""

    def __init__(self, *teams: TeamRecord) -> None:
        self.rows = {t.name: t for t in teams}
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.broken = False

    async def create_team(self, rec: TeamRecord) -> None:
        self.rows[rec.name] = rec

    async def get_team(self, name: str) -> TeamRecord | None:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.broken:
            raise OSError("database down")
        return self.rows.get(name)

    async def list_teams(self, include_archived: bool = False) -> list[TeamRecord]:
        return sorted(self.rows.values(), key=lambda t: t.name)

    async def update_team_settings(self, name: str,
                                   settings: TeamSettings) -> TeamRecord | None:
        rec = self.rows.get(name)
        if rec is None or rec.archived:
            return None
        rec.settings = settings
        return rec

    async def archive_team(self, name: str, at_ms: int) -> bool:
        rec = self.rows.get(name)
        if rec is None or rec.archived:
            return False
        rec.archived_at_ms = at_ms
        return True


def stored(name: str, archived: bool = False, **settings: object) -> TeamRecord:
    return TeamRecord(id=f"team_{name}", name=name, created_at_ms=1,
                      settings=TeamSettings(**settings),  # type: ignore[arg-type]
                      archived_at_ms=5 if archived else None)


CONFIG = LimitsConfig(teams={"red": TeamConfig(
    requests_per_minute=10, max_parallel=3, budget=BudgetLimits(daily_usd=1.5,
                                                                monthly_usd=20))})


def test_stored_fields_override_config_field_by_field() -> None:
    merged = effective_settings(CONFIG.teams["red"], TeamSettings(
        requests_per_minute=2, budget_micros_monthly=5_000_000, allowed_models=["gpt-4o"]))
    assert merged == TeamSettings(requests_per_minute=2, max_parallel=3,
                                  budget_micros_daily=1_500_000,
                                  budget_micros_monthly=5_000_000, allowed_models=["gpt-4o"])
    assert effective_settings(None, None) == TeamSettings()
    assert effective_settings(CONFIG.teams["red"], None).budget_micros_daily == 1_500_000


def test_settings_must_be_positive() -> None:
    validate_settings(TeamSettings(requests_per_minute=1))
    with pytest.raises(InvalidRequest) as bad:
        validate_settings(TeamSettings(budget_micros_daily=0))
    assert bad.value.param == "budget_micros_daily"


async def test_lookup_merges_and_caches_for_the_ttl() -> None:
    store, clock = MemoryTeams(stored("red", requests_per_minute=2), stored("blue")), \
        ManualClock()
    teams = TeamDirectory(store, CONFIG, clock)
    red = await teams.lookup("red")
    assert red is not None and red.configured and red.stored is not None
    assert red.settings.requests_per_minute == 2 and red.settings.max_parallel == 3
    for _ in range(100):
        assert await teams.lookup("red") == red
    assert store.reads == 1
    assert await teams.lookup("nobody") is None
    assert await teams.lookup("nobody") is None and store.reads == 2
    store.rows["red"].settings = TeamSettings(requests_per_minute=7)
    clock.advance(CACHE_TTL_SECONDS + 0.1)
    again = await teams.lookup("red")
    assert again is not None and again.settings.requests_per_minute == 7


async def test_concurrent_misses_share_one_read_and_forget_drops_the_entry() -> None:
    store = MemoryTeams(stored("red"))
    teams = TeamDirectory(store, LimitsConfig(), ManualClock())
    store.gate = asyncio.Event()
    waiters = [asyncio.create_task(teams.lookup("red")) for _ in range(20)]
    await asyncio.sleep(0)
    store.gate.set()
    assert all(t is not None for t in await asyncio.gather(*waiters))
    assert store.reads == 1
    teams.forget("red")
    await teams.lookup("red")
    assert store.reads == 2


async def test_store_outage_is_503() -> None:
    store = MemoryTeams()
    store.broken = True
    with pytest.raises(GatewayUnavailable):
        await TeamDirectory(store, LimitsConfig(), ManualClock()).lookup("red")


async def test_require_usable_reads_fresh_and_names_the_team() -> None:
    store = MemoryTeams(stored("gone", archived=True))
    teams = TeamDirectory(store, CONFIG, ManualClock())
    assert await teams.lookup("blue") is None           # cached as missing...
    await store.create_team(stored("blue"))
    assert (await teams.require_usable("blue")).name == "blue"   # ...but minting reads fresh
    assert (await teams.require_usable("red")).configured         # config-only is fine
    with pytest.raises(InvalidRequest) as unknown:
        await teams.require_usable("ghosts")
    assert "ghosts" in unknown.value.message and unknown.value.code == "unknown_team"
    with pytest.raises(InvalidRequest) as archived:
        await teams.require_usable("gone")
    assert archived.value.code == "team_archived"


async def test_keys_of_archived_teams_are_refused_without_a_read_per_request() -> None:
    clock = ManualClock()
    store = MemoryTeams(stored("red"))
    teams = TeamDirectory(store, LimitsConfig(), clock)
    svc = KeyService(CountingKeys(), Secret("pepper"), clock, Secret("sk-master"), teams=teams)
    plain, rec = await svc.create(name="a", team="red")
    with pytest.raises(InvalidRequest, match="nobody"):
        await svc.create(name="b", team="nobody")
    clock.advance(CACHE_TTL_SECONDS + 0.1)   # minting cached the team; start cold
    store.reads = 0
    for _ in range(50):
        assert (await svc.authenticate(plain)).id == rec.id
    assert store.reads == 1
    await store.archive_team("red", 9)                   # by another replica
    clock.advance(CACHE_TTL_SECONDS + 0.1)
    with pytest.raises(AuthError) as refused:
        await svc.authenticate(plain)
    assert refused.value.message == "Incorrect API key provided."
    with pytest.raises(InvalidRequest, match="archived"):
        await svc.create(name="c", team="red")


async def test_stored_team_rpm_spans_its_keys() -> None:
    now = [T0]
    store = MemoryTeams(stored("red", requests_per_minute=2))
    hook = InboundLimitsHook(MemoryLimiter(clock=lambda: now[0]), LimitsConfig(),
                             lambda c, r: (10, 10),
                             teams=TeamDirectory(store, LimitsConfig(), ManualClock()))
    for i, kid in enumerate(("vk_a", "vk_b")):
        await hook.before(ctx(f"r{i}", key(team="red", key_id=kid)), request())
    with pytest.raises(RateLimited):
        await hook.before(ctx("r3", key(team="red", key_id="vk_a")), request())
    await hook.before(ctx("r4", key(team="blue", key_id="vk_c")), request())


async def test_stored_rpm_overrides_a_looser_config_limit() -> None:
    cfg = LimitsConfig(teams={"red": TeamConfig(requests_per_minute=100)})
    store = MemoryTeams(stored("red", requests_per_minute=1))
    hook = InboundLimitsHook(MemoryLimiter(clock=lambda: T0), cfg, lambda c, r: (10, 10),
                             teams=TeamDirectory(store, cfg, ManualClock()))
    await hook.before(ctx("a", key(team="red")), request())
    with pytest.raises(RateLimited):
        await hook.before(ctx("b", key(team="red", key_id="vk_2")), request())


async def test_stored_team_budget_applies() -> None:
    store = MemoryTeams(stored("red", budget_micros_quarterly=120_000))
    hook = BudgetHook(MemoryLimiter(clock=lambda: T0), LimitsConfig(), lambda c, r: 50_000,
                      teams=TeamDirectory(store, LimitsConfig(), ManualClock()))
    await hook.before(ctx("a", key(team="red", key_id="vk_a")), request())
    await hook.before(ctx("b", key(team="red", key_id="vk_b")), request())
    with pytest.raises(BudgetExceeded):
        await hook.before(ctx("c", key(team="red", key_id="vk_c")), request())


async def test_settings_of_reads_nothing_without_a_team() -> None:
    store = MemoryTeams(stored("red", pii_mode="block", data_class="sensitive"))
    teams = TeamDirectory(store, CONFIG, ManualClock())
    assert await teams.settings_of(None) is None and store.reads == 0
    red = await teams.settings_of("red")
    assert red is not None and (red.pii_mode, red.data_class, red.max_parallel) == \
        ("block", "sensitive", 3)
    assert await teams.settings_of("nobody") is None
