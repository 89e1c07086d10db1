"""The gateway's price catalog: the shipped one with config overrides (`prices:` entries and a
`prices_file:` catalog), and the start-up check that flags deployed models without a price."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from portico.accounting.catalog_io import read_catalog
from portico.accounting.prices import PriceCatalog, PriceEntry

log = logging.getLogger("portico.prices")


def gateway_catalog(entries: Sequence[PriceEntry], prices_file: str | None,
                    base: PriceCatalog | None = None) -> PriceCatalog:
    """`base` (the shipped catalog) overridden by the file, then by inline entries (inline
    wins for a model named in both)."""
    catalog = base or PriceCatalog.load_builtin()
    if prices_file:
        catalog = catalog.with_overrides(read_catalog(Path(prices_file)))
    if entries:
        catalog = catalog.with_overrides(entries)
    return catalog


def flag_unpriced(catalog: PriceCatalog, deployed: Iterable[tuple[str, str]],
                  at_ms: int) -> list[tuple[str, str]]:
    """Log a warning for every deployed (provider, model) with no price now; return them.
    Their ledger rows carry `price_missing` (cost unknown, not zero) and budgets reserve 0."""
    missing = catalog.missing(deployed, at_ms=at_ms)
    for provider, model in missing:
        log.warning("no price for %s/%s: its spend is recorded as price_missing and its "
                    "requests reserve no budget; add it under `prices:`", provider, model)
    return missing
