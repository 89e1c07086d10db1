"""Admin routes for teams: create, list, show, change settings, archive. Every change writes an
audit event with the team before and after; names are never reused once taken."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from portico.errors import InvalidRequest, NotFound
from portico.pipeline.teams import effective_settings, validate_name, validate_settings
from portico.server.body import decode, read_body
from portico.server.principal import Principal
from portico.store.records import AuditEvent, DataClass, PiiMode, TeamRecord, TeamSettings

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

_UNSET = msgspec.UNSET


class TeamCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    settings: TeamSettings | None = None


class TeamPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A merge patch of the stored settings: a field sent replaces, null clears, absent keeps."""

    requests_per_minute: int | msgspec.UnsetType | None = _UNSET
    tokens_per_minute: int | msgspec.UnsetType | None = _UNSET
    max_parallel: int | msgspec.UnsetType | None = _UNSET
    budget_micros_daily: int | msgspec.UnsetType | None = _UNSET
    budget_micros_monthly: int | msgspec.UnsetType | None = _UNSET
    budget_micros_quarterly: int | msgspec.UnsetType | None = _UNSET
    allowed_models: list[str] | msgspec.UnsetType | None = _UNSET
    pii_mode: PiiMode | msgspec.UnsetType | None = _UNSET
    data_class: DataClass | msgspec.UnsetType | None = _UNSET

    def apply(self, settings: TeamSettings) -> TeamSettings:
        changes: dict[str, object] = {}
        for field in self.__struct_fields__:
            value = getattr(self, field)
            if value is not _UNSET:
                changes[field] = [] if field == "allowed_models" and value is None else value
        return msgspec.structs.replace(settings, **changes)


class TeamView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The stored team, and what applies once `limits.teams` in the config is merged in."""

    id: str | None                   # None: a team known only from the config
    name: str
    created_at_ms: int | None = None
    archived_at_ms: int | None = None
    configured: bool = False
    settings: TeamSettings           # as stored
    effective: TeamSettings          # config overridden by the stored settings


def team_view(gw: Gateway, rec: TeamRecord) -> TeamView:
    cfg = gw.config.limits.teams.get(rec.name)
    return TeamView(id=rec.id, name=rec.name, created_at_ms=rec.created_at_ms,
                    archived_at_ms=rec.archived_at_ms, configured=cfg is not None,
                    settings=rec.settings, effective=effective_settings(cfg, rec.settings))


def _json(obj: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(obj), status_code=status, media_type="application/json")


def _audit(gw: Gateway, principal: Principal, action: str, name: str,
           detail: dict[str, object], request: Request) -> None:
    gw.journal.submit_audit(AuditEvent(
        event_id=request.state.request_id, ts_ms=int(gw.clock.wall() * 1000), kind="admin",
        actor=principal.actor, action=action, target=f"team:{name}", detail=detail))


def _forget(gw: Gateway, name: str) -> None:
    if gw.teams is not None:
        gw.teams.forget(name)


async def _existing(gw: Gateway, name: str) -> TeamRecord:
    rec = await gw.store.get_team(name)
    if rec is None:
        raise NotFound(f"no stored team {name!r}")
    return rec


async def create_team(gw: Gateway, request: Request, principal: Principal) -> Response:
    body = decode(await read_body(request, 64 * 1024), TeamCreate, 16)
    validate_name(body.name)
    settings = body.settings or TeamSettings()
    validate_settings(settings)
    rec = TeamRecord(id="team_" + uuid.uuid4().hex[:20], name=body.name,
                     created_at_ms=int(gw.clock.wall() * 1000), settings=settings)
    await gw.store.create_team(rec)
    _forget(gw, rec.name)
    view = team_view(gw, rec)
    _audit(gw, principal, "team.create", rec.name, {"after": msgspec.to_builtins(view)}, request)
    return _json(view, 201)


async def list_teams(gw: Gateway, request: Request, principal: Principal) -> Response:
    archived = request.query_params.get("include_archived", "") in {"1", "true"}
    stored = await gw.store.list_teams(include_archived=True)
    views = [team_view(gw, r) for r in stored if archived or not r.archived]
    # Teams listed only in the config exist too (keys may name them); shown with id null.
    taken = {r.name for r in stored}
    views += [TeamView(id=None, name=n, configured=True, settings=TeamSettings(),
                       effective=effective_settings(cfg, None))
              for n, cfg in gw.config.limits.teams.items() if n not in taken]
    return _json({"data": sorted(views, key=lambda v: v.name)})


async def show_team(gw: Gateway, request: Request, principal: Principal) -> Response:
    name = request.path_params["name"]
    rec = await gw.store.get_team(name)
    if rec is not None:
        return _json(team_view(gw, rec))
    cfg = gw.config.limits.teams.get(name)
    if cfg is None:
        raise NotFound(f"no team {name!r}")
    return _json(TeamView(id=None, name=name, configured=True, settings=TeamSettings(),
                          effective=effective_settings(cfg, None)))


async def update_team(gw: Gateway, request: Request, principal: Principal) -> Response:
    name = request.path_params["name"]
    patch = decode(await read_body(request, 64 * 1024), TeamPatch, 16)
    before = await _existing(gw, name)
    if before.archived:
        raise InvalidRequest(f"team {name!r} is archived", code="team_archived")
    settings = patch.apply(before.settings)
    validate_settings(settings)
    after = await gw.store.update_team_settings(name, settings)
    if after is None:   # archived between the read and the write
        raise InvalidRequest(f"team {name!r} is archived", code="team_archived")
    _forget(gw, name)
    view = team_view(gw, after)
    _audit(gw, principal, "team.update", name,
           {"before": msgspec.to_builtins(team_view(gw, before)),
            "after": msgspec.to_builtins(view)}, request)
    return _json(view)


async def archive_team(gw: Gateway, request: Request, principal: Principal) -> Response:
    name = request.path_params["name"]
    before = await _existing(gw, name)
    at_ms = int(gw.clock.wall() * 1000)
    if not await gw.store.archive_team(name, at_ms):
        raise NotFound(f"no active team {name!r}")
    _forget(gw, name)
    after = msgspec.structs.replace(before, archived_at_ms=at_ms)
    _audit(gw, principal, "team.archive", name,
           {"before": msgspec.to_builtins(team_view(gw, before)),
            "after": msgspec.to_builtins(team_view(gw, after))}, request)
    return _json({"name": name, "archived": True, "archived_at_ms": at_ms})
