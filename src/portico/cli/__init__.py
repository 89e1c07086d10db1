"""The `portico` command: serve, check-config, keys, spend, prices, audit, simulate."""

from __future__ import annotations

import click

from portico.cli.admin import audit, keys, spend
from portico.cli.audit_scan import audit_scan
from portico.cli.breakers import breakers
from portico.cli.prices import prices
from portico.cli.serve import check_config, serve, simulate
from portico.cli.teams import teams


@click.group()
@click.version_option(package_name="portico")
def main() -> None:
    """Portico, an OpenAI-compatible LLM gateway."""


for command in (serve, check_config, simulate, keys, spend, prices, audit, breakers):
    main.add_command(command)
audit.add_command(audit_scan)
main.add_command(teams)
