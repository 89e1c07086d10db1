"""`portico breakers --url http://HOST:PORT`: circuit breaker states from a running gateway's
admin route, authenticated with the master key from PORTICO_MASTER_KEY."""

from __future__ import annotations

import asyncio
import os

import click
import msgspec

from portico.errors import GatewayError
from portico.routing.breaker import BreakerView
from portico.upstream.client import admin_get

MASTER_KEY_ENV = "PORTICO_MASTER_KEY"


class _Views(msgspec.Struct):
    data: list[BreakerView]


def render(views: list[BreakerView]) -> str:
    if not views:
        return "no breaker has seen traffic yet"
    head = f"{'deployment':<48} {'state':<10} {'calls':>6} {'fails':>6} {'consec':>6} {'open s':>7}"
    lines = [head]
    for v in views:
        lines.append(f"{v.deployment:<48} {v.state:<10} {v.window_calls:>6} "
                     f"{v.window_failures:>6} {v.consecutive_failures:>6} "
                     f"{v.open_remaining:>7.1f}")
    return "\n".join(lines)


@click.command("breakers")
@click.option("--url", required=True, help="The gateway's base URL, e.g. http://127.0.0.1:4000")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def breakers(url: str, as_json: bool) -> None:
    """Show each deployment's circuit breaker (closed, open, half_open)."""
    key = os.environ.get(MASTER_KEY_ENV)
    if not key:
        raise click.ClickException(f"set {MASTER_KEY_ENV} to the gateway's master key")
    try:
        status, body = asyncio.run(admin_get(url.rstrip("/") + "/admin/breakers",
                                             {"authorization": f"Bearer {key}"}))
    except GatewayError as exc:
        raise click.ClickException(exc.message) from exc
    if status != 200:
        raise click.ClickException(f"the gateway answered HTTP {status}: "
                                   f"{body[:200].decode('utf-8', 'replace')}")
    if as_json:
        click.echo(body.decode())
        return
    try:
        views = msgspec.json.decode(body, type=_Views).data
    except msgspec.DecodeError as exc:
        raise click.ClickException("the gateway's answer is not a breaker list") from exc
    click.echo(render(views))
