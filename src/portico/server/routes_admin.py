"""Admin routes: virtual keys, breaker state, spend and audit. A virtual key may read only its
own usage and audit events; everything else needs the master key or an admin key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from portico.accounting.spend_report import over_prompting, spend_report
from portico.errors import InvalidRequest, NotFound, PermissionDenied
from portico.server.body import decode, read_body
from portico.server.principal import Principal
from portico.store.base import LedgerQuery, SpendGroup
from portico.store.records import AuditEvent, KeyRecord, KeySettings

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

JSON = "application/json"
SPEND_GROUPS: tuple[SpendGroup, ...] = ("key", "team", "model", "provider", "day")


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    team: str | None = None
    models: list[str] = []
    expires_at_ms: int | None = None
    is_admin: bool = False
    settings: KeySettings | None = None


class KeyView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What admins see of a key: never the hash, only a short prefix."""

    id: str
    name: str
    prefix: str
    team: str | None
    models: list[str]
    is_admin: bool
    created_at_ms: int
    expires_at_ms: int | None = None
    revoked_at_ms: int | None = None
    settings: KeySettings
    key: str | None = None      # the plain key, on creation only


def view(rec: KeyRecord, plain: str | None = None) -> KeyView:
    return KeyView(id=rec.id, name=rec.name, prefix=rec.prefix, team=rec.team,
                   models=rec.allowed_models, is_admin=rec.is_admin,
                   created_at_ms=rec.created_at_ms, expires_at_ms=rec.expires_at_ms,
                   revoked_at_ms=rec.revoked_at_ms, settings=rec.settings, key=plain)


def _json(obj: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(obj), status_code=status, media_type=JSON)


def _audit(gw: Gateway, principal: Principal, action: str, target: str,
           detail: dict[str, object], request: Request) -> None:
    gw.journal.submit_audit(AuditEvent(
        event_id=request.state.request_id, ts_ms=int(gw.clock.wall() * 1000), kind="admin",
        actor=principal.actor, action=action, target=target, detail=detail))


async def create_key(gw: Gateway, request: Request, principal: Principal) -> Response:
    body = decode(await read_body(request, 64 * 1024), KeyCreate, 16)
    if gw.master is None:
        raise InvalidRequest("virtual keys need a master key to be configured")
    plain, rec = await gw.keys.create(name=body.name, team=body.team,
                                      allowed_models=body.models,
                                      expires_at_ms=body.expires_at_ms, is_admin=body.is_admin,
                                      settings=body.settings)
    _audit(gw, principal, "key.create", rec.id,
           {"after": msgspec.to_builtins(view(rec))}, request)
    return _json(view(rec, plain), 201)


async def list_keys(gw: Gateway, request: Request, principal: Principal) -> Response:
    team = request.query_params.get("team")
    return _json({"data": [view(r) for r in await gw.store.list_keys(team)]})


async def key_info(gw: Gateway, request: Request, principal: Principal) -> Response:
    rec = await gw.store.get_key(request.path_params["key_id"])
    if rec is None:
        raise NotFound("no such key")
    return _json(view(rec))


async def revoke_key(gw: Gateway, request: Request, principal: Principal) -> Response:
    key_id = request.path_params["key_id"]
    before = await gw.store.get_key(key_id)
    if before is None or not await gw.keys.revoke(key_id):
        raise NotFound("no such key")
    _audit(gw, principal, "key.revoke", key_id,
           {"before": msgspec.to_builtins(view(before))}, request)
    return _json({"id": key_id, "revoked": True})


async def breakers(gw: Gateway, request: Request, principal: Principal) -> Response:
    return _json({"data": gw.breakers.views()})


def _query(request: Request, principal: Principal) -> LedgerQuery:
    params = request.query_params
    try:
        since = int(params["since_ms"]) if "since_ms" in params else None
        until = int(params["until_ms"]) if "until_ms" in params else None
        limit = min(int(params.get("limit", "1000")), 10_000)
    except ValueError as exc:
        raise InvalidRequest("since_ms, until_ms and limit must be integers") from exc
    key_id = params.get("key_id")
    team = params.get("team")
    if not principal.is_admin:
        # Object-level rule: a virtual key sees its own rows and nothing else.
        own = principal.key.id if principal.key else None
        if key_id is not None and key_id != own:
            raise PermissionDenied("a virtual key may read only its own usage")
        key_id, team = own, None
    return LedgerQuery(since_ms=since, until_ms=until, key_id=key_id, team=team, limit=limit)


async def spend(gw: Gateway, request: Request, principal: Principal) -> Response:
    group = request.query_params.get("group_by", "model")
    if group not in SPEND_GROUPS:
        raise InvalidRequest(f"group_by must be one of {', '.join(SPEND_GROUPS)}",
                             param="group_by")
    by: SpendGroup = group
    now_ms = int(gw.clock.wall() * 1000)
    lines = await spend_report(gw.store, by, _query(request, principal), now_ms)
    return _json({"group_by": by, "data": lines})


async def overprompting(gw: Gateway, request: Request, principal: Principal) -> Response:
    """Input share per key and model over the window (default: the last day) from the ledger,
    and this process's live window; `over_prompting` marks shares that stayed above 80%."""
    now_ms = int(gw.clock.wall() * 1000)
    shares = await over_prompting(gw.store, _query(request, principal), now_ms)
    live = gw.capacity.overprompt.report() if gw.capacity is not None else []
    return _json({"data": shares, "live": live,
                  "flagged": [s for s in shares if s.over_prompting]})


async def usage(gw: Gateway, request: Request, principal: Principal) -> Response:
    return _json({"data": await gw.store.query_ledger(_query(request, principal))})


async def audit_list(gw: Gateway, request: Request, principal: Principal) -> Response:
    q = _query(request, principal)
    actor = request.query_params.get("actor") if principal.is_admin else q.key_id
    events = await gw.store.list_audit(since_ms=q.since_ms, actor=actor, limit=q.limit)
    return _json({"data": events})


async def audit_verify(gw: Gateway, request: Request, principal: Principal) -> Response:
    return _json(await gw.store.verify_audit())


