"""`portico keys`, `portico spend` and `portico audit`: work on the configured store directly."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
import msgspec

from portico.accounting.spend_report import over_prompting, render_table, spend_report
from portico.cli._common import config_option, load
from portico.clock import SystemClock
from portico.config.secrets import ConfigError, resolve_secret
from portico.errors import InvalidRequest
from portico.pipeline.keys import KeyService, derive_hash_secret
from portico.pipeline.teams import TeamDirectory
from portico.store import open_store
from portico.store.base import LedgerQuery, SpendGroup, Store
from portico.store.records import AuditEvent

T = TypeVar("T")
_SINCE = re.compile(r"^(\d+)([dhm])$")


def _run(config_path: str | None, work: Callable[[Store, KeyService | None], Awaitable[T]]
         ) -> T:
    cfg = load(config_path)

    async def main() -> T:
        store = await open_store(cfg.store.url)
        try:
            await store.migrate()
            service = None
            if cfg.master_key:
                try:
                    master = resolve_secret(cfg.master_key, "master_key")
                    pepper = (resolve_secret(cfg.key_hash_secret, "key_hash_secret")
                              if cfg.key_hash_secret else derive_hash_secret(master))
                except ConfigError as exc:
                    raise click.ClickException(str(exc)) from exc
                clock = SystemClock()
                service = KeyService(store, pepper, clock, master,
                                     teams=TeamDirectory(store, cfg.limits, clock))
            return await work(store, service)
        finally:
            await store.close()

    return asyncio.run(main())


def _since_ms(since: str | None) -> int | None:
    if since is None:
        return None
    m = _SINCE.match(since)
    if not m:
        raise click.BadParameter("use a span like 7d, 12h or 30m", param_hint="--since")
    unit = {"d": 86400, "h": 3600, "m": 60}[m.group(2)]
    now = dt.datetime.now(dt.UTC).timestamp()
    return int((now - int(m.group(1)) * unit) * 1000)


@click.group()
def keys() -> None:
    """Virtual keys."""


@keys.command("create")
@config_option
@click.option("--name", required=True)
@click.option("--team", default=None)
@click.option("--models", default="", help="Comma-separated allowed models (default: all).")
@click.option("--expires-days", type=float, default=None)
@click.option("--admin", "is_admin", is_flag=True)
def keys_create(config_path: str | None, name: str, team: str | None, models: str,
                expires_days: float | None, is_admin: bool) -> None:
    """Create a key; the key is printed once and never stored."""

    async def work(store: Store, service: KeyService | None) -> str:
        if service is None:
            raise click.ClickException("set master_key in the config to mint virtual keys")
        expires = None
        if expires_days is not None:
            expires = int((dt.datetime.now(dt.UTC).timestamp() + expires_days * 86400) * 1000)
        try:
            plain, rec = await service.create(
                name=name, team=team, allowed_models=[m for m in models.split(",") if m],
                expires_at_ms=expires, is_admin=is_admin)
        except InvalidRequest as exc:   # e.g. a team neither stored nor configured
            raise click.ClickException(exc.message) from exc
        await store.append_audit([AuditEvent(
            event_id=f"cli-{rec.id}", ts_ms=rec.created_at_ms, kind="admin", actor="cli",
            action="key.create", target=rec.id, detail={"name": name, "team": team})])
        return f"{rec.id}\t{plain}"

    click.echo(_run(config_path, work))


@keys.command("list")
@config_option
@click.option("--team", default=None)
def keys_list(config_path: str | None, team: str | None) -> None:
    """List keys (prefix only)."""

    async def work(store: Store, service: KeyService | None) -> str:
        rows = await store.list_keys(team)
        lines = [f"{r.id}\t{r.prefix}…\t{r.name}\tteam={r.team or '-'}\t"
                 f"{'revoked' if r.revoked_at_ms else 'active'}" for r in rows]
        return "\n".join(lines) or "no keys"

    click.echo(_run(config_path, work))


@keys.command("revoke")
@config_option
@click.argument("key_id")
def keys_revoke(config_path: str | None, key_id: str) -> None:
    """Revoke a key by id."""

    async def work(store: Store, service: KeyService | None) -> bool:
        now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        done = await store.revoke_key(key_id, now)
        if done:
            await store.append_audit([AuditEvent(
                event_id=f"cli-revoke-{key_id}-{now}", ts_ms=now, kind="admin", actor="cli",
                action="key.revoke", target=key_id)])
        return done

    if not _run(config_path, work):
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@click.group()
def spend() -> None:
    """Spend reports from the ledger."""


@spend.command("report")
@config_option
@click.option("--group-by", type=click.Choice(["key", "team", "model", "provider", "day"]),
              default="model", show_default=True)
@click.option("--since", default=None, help="e.g. 7d, 24h")
@click.option("--json", "as_json", is_flag=True)
@click.option("--overprompting", is_flag=True,
              help="Input share per key and model; flags those that stayed above 80%.")
def spend_report_cmd(config_path: str | None, group_by: SpendGroup, since: str | None,
                     as_json: bool, overprompting: bool) -> None:
    """Spend, tokens, input share, cost per successful request and the over-prompting flag
    by key, team, model, provider or day."""

    async def work(store: Store, service: KeyService | None) -> str:
        now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        q = LedgerQuery(since_ms=_since_ms(since))
        if overprompting:
            shares = await over_prompting(store, q, now_ms)
            if as_json:
                return msgspec.json.encode(shares).decode()
            rows = [f"{s.dimension:<6} {s.name[:40]:<40} {s.requests:>8} "
                    f"{100 * s.input_share:>6.1f}% {'YES' if s.over_prompting else 'no':>5}"
                    for s in shares]
            return "\n".join([f"{'kind':<6} {'name':<40} {'requests':>8} {'input%':>7} "
                              f"{'flag':>5}", *rows])
        lines = await spend_report(store, group_by, q, now_ms)
        if as_json:
            return msgspec.json.encode(lines).decode()
        return render_table(group_by, lines)

    click.echo(_run(config_path, work))


@click.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@config_option
def audit_verify(config_path: str | None) -> None:
    """Check the audit hash chain for tampering."""

    async def work(store: Store, service: KeyService | None) -> str:
        result = await store.verify_audit()
        return msgspec.json.encode(result).decode()

    click.echo(_run(config_path, work))
