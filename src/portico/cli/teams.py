"""`portico teams create|list|show|archive`: teams in the configured store, each change audited.

Settings given here override `limits.teams[name]` from the config field by field.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import click
import msgspec

from portico.cli._common import config_option, load
from portico.config.model import PorticoConfig
from portico.errors import InvalidRequest
from portico.pipeline.teams import effective_settings, validate_name, validate_settings
from portico.store import open_store
from portico.store.base import Store
from portico.store.records import AuditEvent, DataClass, PiiMode, TeamRecord, TeamSettings

T = TypeVar("T")
_MICROS = Decimal(1_000_000)


def _run(config_path: str | None, work: Callable[[Store, PorticoConfig], Awaitable[T]]) -> T:
    cfg = load(config_path)

    async def main() -> T:
        store = await open_store(cfg.store.url)
        try:
            await store.migrate()
            return await work(store, cfg)
        except InvalidRequest as exc:
            raise click.ClickException(exc.message) from exc
        finally:
            await store.close()

    return asyncio.run(main())


def _now_ms() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


def _usd(value: str | None, flag: str) -> int | None:
    """USD written on the command line to integer micro-USD, exactly (no float)."""
    if value is None:
        return None
    try:
        return int(Decimal(value) * _MICROS)
    except InvalidOperation as exc:
        raise click.BadParameter("a USD amount like 25 or 12.50", param_hint=flag) from exc


async def _audit(store: Store, action: str, name: str, detail: dict[str, object]) -> None:
    now = _now_ms()
    await store.append_audit([AuditEvent(
        event_id=f"cli-{action}-{name}-{now}-{uuid.uuid4().hex[:8]}", ts_ms=now, kind="admin",
        actor="cli", action=action, target=f"team:{name}", detail=detail)])


@click.group()
def teams() -> None:
    """Teams: stored limits, budgets and policy shared by their keys."""


@teams.command("create")
@config_option
@click.option("--name", required=True)
@click.option("--rpm", type=int, default=None, help="Requests per minute across the team.")
@click.option("--tpm", type=int, default=None, help="Tokens per minute across the team.")
@click.option("--max-parallel", type=int, default=None)
@click.option("--budget-daily-usd", default=None)
@click.option("--budget-monthly-usd", default=None)
@click.option("--budget-quarterly-usd", default=None)
@click.option("--models", default="", help="Comma-separated allowed models (default: all).")
@click.option("--pii-mode", type=click.Choice(["off", "detect", "mask", "block"]), default=None)
@click.option("--data-class", type=click.Choice(["public", "internal", "sensitive"]),
              default=None)
def teams_create(config_path: str | None, name: str, rpm: int | None, tpm: int | None,
                 max_parallel: int | None, budget_daily_usd: str | None,
                 budget_monthly_usd: str | None, budget_quarterly_usd: str | None, models: str,
                 pii_mode: PiiMode | None, data_class: DataClass | None) -> None:
    """Create a team; prints its id."""
    settings = TeamSettings(
        requests_per_minute=rpm, tokens_per_minute=tpm, max_parallel=max_parallel,
        budget_micros_daily=_usd(budget_daily_usd, "--budget-daily-usd"),
        budget_micros_monthly=_usd(budget_monthly_usd, "--budget-monthly-usd"),
        budget_micros_quarterly=_usd(budget_quarterly_usd, "--budget-quarterly-usd"),
        allowed_models=[m for m in models.split(",") if m], pii_mode=pii_mode,
        data_class=data_class)

    async def work(store: Store, cfg: PorticoConfig) -> str:
        validate_name(name)
        validate_settings(settings)
        rec = TeamRecord(id="team_" + uuid.uuid4().hex[:20], name=name,
                         created_at_ms=_now_ms(), settings=settings)
        await store.create_team(rec)
        await _audit(store, "team.create", name, {"after": msgspec.to_builtins(rec)})
        return f"{rec.id}\t{rec.name}"

    click.echo(_run(config_path, work))


@teams.command("list")
@config_option
@click.option("--all", "include_archived", is_flag=True, help="Include archived teams.")
def teams_list(config_path: str | None, include_archived: bool) -> None:
    """List stored teams, and teams only in the config (id shown as '-')."""

    async def work(store: Store, cfg: PorticoConfig) -> str:
        stored = await store.list_teams(include_archived=True)
        lines = {r.name: "\t".join([r.id, r.name, "archived" if r.archived else "active",
                                     "configured" if r.name in cfg.limits.teams else ""])
                 for r in stored if include_archived or not r.archived}
        taken = {r.name for r in stored}
        lines |= {n: f"-\t{n}\tactive\tconfigured" for n in cfg.limits.teams if n not in taken}
        return "\n".join(lines[n].rstrip() for n in sorted(lines)) or "no teams"

    click.echo(_run(config_path, work))


@teams.command("show")
@config_option
@click.argument("name")
def teams_show(config_path: str | None, name: str) -> None:
    """A team as JSON: stored record, whether the config lists it, and effective settings."""

    async def work(store: Store, cfg: PorticoConfig) -> str:
        rec = await store.get_team(name)
        configured = cfg.limits.teams.get(name)
        if rec is None and configured is None:
            raise click.ClickException(f"no team {name!r}")
        return msgspec.json.encode({
            "team": rec, "configured": configured is not None,
            "effective": effective_settings(configured, rec.settings if rec else None),
        }).decode()

    click.echo(_run(config_path, work))


@teams.command("archive")
@config_option
@click.argument("name")
def teams_archive(config_path: str | None, name: str) -> None:
    """Archive a team: its keys are refused from then on; the name is never reused."""

    async def work(store: Store, cfg: PorticoConfig) -> bool:
        before = await store.get_team(name)
        at_ms = _now_ms()
        if before is None or not await store.archive_team(name, at_ms):
            return False
        await _audit(store, "team.archive", name, {
            "before": msgspec.to_builtins(before),
            "after": msgspec.to_builtins(msgspec.structs.replace(before, archived_at_ms=at_ms))})
        return True

    if not _run(config_path, work):
        raise click.ClickException(f"no active stored team {name!r}")
    click.echo(f"archived {name}")
