"""User price catalog files and the functions behind `portico prices import|show`."""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path

import msgspec
import yaml

from portico.accounting.litellm_prices import import_litellm
from portico.accounting.prices import CatalogFile, PriceCatalog, PriceEntry, encode_catalog


class UnknownModel(LookupError):
    """`show_price` found no price for the model reference."""


def read_catalog(path: Path) -> list[PriceEntry]:
    """Entries from a catalog file: JSON, or YAML when the suffix is .yaml/.yml."""
    data = path.read_bytes()
    if path.suffix in (".yaml", ".yml"):
        return msgspec.convert(yaml.safe_load(data), type=CatalogFile).entries
    return msgspec.json.decode(data, type=CatalogFile).entries


def write_catalog(path: Path, entries: list[PriceEntry], source: str) -> None:
    """Write atomically (temp file + rename), so a crash never leaves half a catalog."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(encode_catalog(entries, source))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a catalog is not secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_prices(src: Path, dest: Path) -> int:
    """Convert a LiteLLM price map at `src` into a Portico catalog file at `dest`
    (replacing it); returns the number of entries written."""
    entries = import_litellm(src)
    write_catalog(dest, entries, source=f"litellm:{src.name}")
    return len(entries)


def _usd(micros_per_mtok: int | None) -> str:
    if micros_per_mtok is None:
        return "-"
    usd = (Decimal(micros_per_mtok) / 1_000_000).normalize()
    text = f"{usd:f}"
    whole, _, frac = text.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}"


def _describe(e: PriceEntry) -> str:
    rows = [
        f"{e.provider}/{e.model}  (from {e.effective_from.isoformat()})",
        f"  input {_usd(e.input)}  output {_usd(e.output)}  per 1M tokens",
        f"  cache read {_usd(e.cache_read)}  cache write {_usd(e.cache_write)}",
        f"  batch input {_usd(e.batch_input)}  batch output {_usd(e.batch_output)}",
        f"  context window {e.context_window or '-'}  max output {e.max_output_tokens or '-'}",
    ]
    return "\n".join(rows)


def _matches(catalog: PriceCatalog, model_ref: str) -> list[PriceEntry]:
    provider, sep, rest = model_ref.partition("/")
    if sep and provider in catalog.providers():
        found = list(catalog.history(provider, rest))
        if found:
            return found
    # A bare model (which may itself contain "/", e.g. together's "meta-llama/...").
    return [e for e in catalog.entries if e.model == model_ref]


def show_price(catalog: PriceCatalog, model_ref: str) -> str:
    """Human-readable price history for "provider/model" or a bare model name (every
    provider listing it). Raises UnknownModel when nothing matches."""
    found = _matches(catalog, model_ref)
    if not found:
        raise UnknownModel(f"no price for {model_ref!r}")
    found.sort(key=lambda e: (e.provider, e.model, e.effective_from))
    return "\n".join(_describe(e) for e in found)

