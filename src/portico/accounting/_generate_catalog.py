"""Regenerate the shipped price catalog (data/prices.json) from a LiteLLM price map.

Run by maintainers, never by the gateway: `python -m portico.accounting._generate_catalog
../shared/reference/litellm-model-prices.json`; commit the resulting data file.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

from portico.accounting.catalog_io import write_catalog
from portico.accounting.litellm_prices import import_litellm

log = logging.getLogger(__name__)

DEFAULT_DEST = Path(__file__).resolve().parent / "data" / "prices.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path, help="LiteLLM model_prices JSON file")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--source-label", default="litellm 1.108.7 model_prices (MIT)")
    args = parser.parse_args(argv)
    entries = import_litellm(args.source)
    write_catalog(args.dest, entries, source=args.source_label)
    per_provider = Counter(e.provider for e in entries)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("wrote %d entries to %s: %s", len(entries), args.dest,
             dict(sorted(per_provider.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
