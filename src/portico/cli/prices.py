"""`portico prices import FILE` and `portico prices show MODEL`."""

from __future__ import annotations

from pathlib import Path

import click

from portico.accounting.catalog_io import UnknownModel, import_prices, show_price
from portico.accounting.prices import PriceCatalog


@click.group()
def prices() -> None:
    """The price catalog."""


@prices.command("import")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", default="prices.json", show_default=True,
              help="Catalog file to write (use it as prices override in config).")
def import_cmd(src: str, out: str) -> None:
    """Import a LiteLLM-format model price JSON file."""
    n = import_prices(Path(src), Path(out))
    click.echo(f"imported {n} price entries into {out}")


@prices.command("show")
@click.argument("model")
def show(model: str) -> None:
    """Show the price history of MODEL (provider/model or a bare model name)."""
    try:
        click.echo(show_price(PriceCatalog.load_builtin(), model))
    except UnknownModel as exc:
        raise click.ClickException(f"no price known for {model!r}") from exc
