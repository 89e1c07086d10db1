"""Effective team settings: `limits.teams[name]` from the config, overridden field by field by
the team's stored settings. Lookups are cached for the key cache's TTL and single-flight, so the
hot path reads the store at most once per team per TTL per process (limits, budgets, model
access, PII mode and data class all read them).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

import msgspec

from portico.accounting.estimate import usd_to_micros
from portico.clock import Clock
from portico.config.model import LimitsConfig, TeamConfig
from portico.errors import GatewayUnavailable, InvalidRequest
from portico.pipeline.keys import CACHE_TTL_SECONDS, REFRESH_AHEAD_SECONDS
from portico.store.base import TeamStore
from portico.store.records import TeamRecord, TeamSettings

log = logging.getLogger("portico.teams")
_CACHE_MAX = 10_000
# Names appear in URLs, limiter scopes and ledger rows: keep them plain.
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True, slots=True)
class Team:
    """A team as the hooks see it: merged settings, and whether the store has archived it."""

    name: str
    settings: TeamSettings
    configured: bool                 # listed under limits.teams
    stored: TeamRecord | None = None

    @property
    def archived(self) -> bool:
        return self.stored is not None and self.stored.archived


def from_config(cfg: TeamConfig) -> TeamSettings:
    budget = cfg.budget
    return TeamSettings(
        requests_per_minute=cfg.requests_per_minute, tokens_per_minute=cfg.tokens_per_minute,
        max_parallel=cfg.max_parallel,
        budget_micros_daily=usd_to_micros(budget.daily_usd) if budget else None,
        budget_micros_monthly=usd_to_micros(budget.monthly_usd) if budget else None,
        budget_micros_quarterly=usd_to_micros(budget.quarterly_usd) if budget else None,
    )


def effective_settings(cfg: TeamConfig | None, stored: TeamSettings | None) -> TeamSettings:
    """Config first; every stored field that is set (not None, not an empty list) wins."""
    base = from_config(cfg) if cfg is not None else TeamSettings()
    if stored is None:
        return base
    overrides = {f: getattr(stored, f) for f in TeamSettings.__struct_fields__
                 if getattr(stored, f) not in (None, [])}
    return msgspec.structs.replace(base, **overrides)


def validate_name(name: str) -> None:
    if not TEAM_NAME.match(name):
        raise InvalidRequest("a team name is 1-200 letters, digits, '.', '_' or '-', starting "
                             "with a letter or digit", param="name")


def validate_settings(settings: TeamSettings) -> None:
    """Limits and budgets are positive integers; 0 or less would lock the team out silently."""
    for field in TeamSettings.__struct_fields__:
        value = getattr(settings, field)
        if isinstance(value, int) and value <= 0:
            raise InvalidRequest(f"{field} must be a positive integer", param=field)


class TeamDirectory:
    """Cached, single-flight team lookups over a `TeamStore` (None: the config alone)."""

    def __init__(self, store: TeamStore | None, config: LimitsConfig, clock: Clock,
                 *, ttl: float = CACHE_TTL_SECONDS) -> None:
        self._store = store
        self._config = config
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Team | None]] = {}
        self._inflight: dict[str, asyncio.Future[Team | None]] = {}

    async def lookup(self, name: str) -> Team | None:
        """The team's effective settings (None: neither stored nor configured)."""
        if self._store is None:
            return self._merge(name, None)
        cached = self._cache.get(name)
        now = self._clock.monotonic()
        if cached is not None and cached[0] > now:
            if cached[0] - now < REFRESH_AHEAD_SECONDS and name not in self._inflight:
                self._start(name)   # refresh ahead, as the key cache does
            return cached[1]
        return await asyncio.shield(self._inflight.get(name) or self._start(name))

    async def settings_of(self, name: str | None) -> TeamSettings | None:
        """A team's effective settings for the request path: None (and nothing read) for a
        key without a team, and for a team neither stored nor configured."""
        if name is None:
            return None
        team = await self.lookup(name)
        return team.settings if team is not None else None

    def _start(self, name: str) -> asyncio.Future[Team | None]:
        future = asyncio.ensure_future(self._fetch(name))
        self._inflight[name] = future
        future.add_done_callback(lambda f: self._done(name, f))
        return future

    def _done(self, name: str, future: asyncio.Future[Team | None]) -> None:
        self._inflight.pop(name, None)
        if not future.cancelled():
            future.exception()  # a failed background refresh is logged in _fetch, not raised

    async def require_usable(self, name: str) -> Team:
        """For minting keys: read the store now (not the cache); 400 naming the team when it
        is unknown to both the store and the config, or archived."""
        team = await self._fetch(name) if self._store is not None else self._merge(name, None)
        if team is None:
            raise InvalidRequest(f"team {name!r} does not exist: create it (POST /admin/teams "
                                 "or `portico teams create`) or list it under limits.teams",
                                 param="team", code="unknown_team")
        if team.archived:
            raise InvalidRequest(f"team {name!r} is archived", param="team",
                                 code="team_archived")
        return team

    def forget(self, name: str) -> None:
        """Drop a cached entry after a change made through this process."""
        self._cache.pop(name, None)

    async def _fetch(self, name: str) -> Team | None:
        assert self._store is not None
        try:
            stored = await self._store.get_team(name)
        except Exception as exc:
            log.warning("team store lookup failed: %s", type(exc).__name__)
            raise GatewayUnavailable("the team store is unavailable; retry shortly",
                                     code="team_store_unavailable", retry_after=1.0) from exc
        team = self._merge(name, stored)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[name] = (self._clock.monotonic() + self._ttl, team)
        return team

    def _merge(self, name: str, stored: TeamRecord | None) -> Team | None:
        cfg = self._config.teams.get(name)
        if cfg is None and stored is None:
            return None
        return Team(name=name, settings=effective_settings(
            cfg, stored.settings if stored else None), configured=cfg is not None,
            stored=stored)
