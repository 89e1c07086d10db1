"""The price catalog: dated per-model prices and cost in integer micro-USD.

Every price is an integer number of micro-USD per 1,000,000 tokens (USD per token x 10^12),
so a cost is an exact integer sum divided once, rounded half-up, into micro-USD.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Annotated

import msgspec

from portico.schema.response import Usage

_PER_MTOK = 1_000_000  # prices are per million tokens
_EPOCH = dt.date(1970, 1, 1)
_BUILTIN_FILE = "prices.json"
CATALOG_FORMAT = 1

Rate = Annotated[int, msgspec.Meta(ge=0)]
TokenCount = Annotated[int, msgspec.Meta(ge=1)]


class PriceEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True,
                 forbid_unknown_fields=True):
    """One model's prices from `effective_from` (00:00 UTC) until a later entry supersedes it.

    Rates are integer micro-USD per 1M tokens: $2.50 per 1M tokens is `2500000`.
    A missing cache or batch rate falls back to the standard rate (see `PriceCatalog.cost`).
    """

    provider: str
    model: str
    input: Rate
    output: Rate
    effective_from: dt.date = _EPOCH
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    batch_input: Rate | None = None
    batch_output: Rate | None = None
    batch_cache_read: Rate | None = None
    batch_cache_write: Rate | None = None
    context_window: TokenCount | None = None
    max_output_tokens: TokenCount | None = None

    @property
    def effective_from_ms(self) -> int:
        start = dt.datetime.combine(self.effective_from, dt.time(), tzinfo=dt.UTC)
        return int(start.timestamp()) * 1000


# The entry in force for one request; the same shape as a catalog entry.
ModelPrice = PriceEntry


class CatalogFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The on-disk catalog (the shipped one and user files written by `portico prices import`)."""

    format: int = CATALOG_FORMAT
    source: str = ""
    entries: list[PriceEntry] = []


@dataclass(frozen=True, slots=True)
class UsageCounts:
    """Token counts to bill, in OpenAI semantics: `prompt_tokens` include cached and
    cache-write tokens; `completion_tokens` include reasoning tokens."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0

    def __post_init__(self) -> None:
        if min(self.prompt_tokens, self.completion_tokens, self.cached_tokens,
               self.cache_write_tokens) < 0:
            raise ValueError(f"negative token count in {self!r}")

    @classmethod
    def from_usage(cls, usage: Usage) -> UsageCounts:
        return cls(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                   cached_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens)


@dataclass(frozen=True, slots=True)
class _Rates:
    input: int
    output: int
    cache_read: int
    cache_write: int


def _rates(price: PriceEntry, batch: bool) -> _Rates:
    if not batch:
        return _Rates(
            input=price.input,
            output=price.output,
            cache_read=price.input if price.cache_read is None else price.cache_read,
            cache_write=price.input if price.cache_write is None else price.cache_write,
        )
    # A batch rate the catalog lacks falls back to the standard one: overcharging an
    # estimate is recoverable, silently undercharging is not.
    std = _rates(price, batch=False)
    return _Rates(
        input=std.input if price.batch_input is None else price.batch_input,
        output=std.output if price.batch_output is None else price.batch_output,
        cache_read=std.cache_read if price.batch_cache_read is None else price.batch_cache_read,
        cache_write=(std.cache_write if price.batch_cache_write is None
                     else price.batch_cache_write),
    )


def _entry_key(e: PriceEntry) -> tuple[str, str]:
    return (e.provider, e.model)


class PriceCatalog:
    """Immutable, indexed price history per (provider, model). Build it once at start."""

    __slots__ = ("_entries", "_index")

    def __init__(self, entries: Iterable[PriceEntry]) -> None:
        grouped: dict[tuple[str, str], dict[dt.date, PriceEntry]] = {}
        for e in entries:
            # A later entry for the same model and date replaces an earlier one.
            grouped.setdefault(_entry_key(e), {})[e.effective_from] = e
        self._index: dict[tuple[str, str], tuple[tuple[int, ...], tuple[PriceEntry, ...]]] = {}
        for key, by_date in grouped.items():
            history = tuple(by_date[d] for d in sorted(by_date))
            self._index[key] = (tuple(e.effective_from_ms for e in history), history)
        self._entries = tuple(e for _, hist in self._index.values() for e in hist)

    @classmethod
    def load_builtin(cls) -> PriceCatalog:
        """The catalog shipped in the package (generated from LiteLLM's price map)."""
        raw = resources.files("portico.accounting").joinpath("data", _BUILTIN_FILE).read_bytes()
        return cls(msgspec.json.decode(raw, type=CatalogFile).entries)

    def with_overrides(self, entries: Iterable[PriceEntry]) -> PriceCatalog:
        """A new catalog where each (provider, model) named in `entries` takes its whole
        price history from `entries` (a negotiated price replaces the public list)."""
        overrides = list(entries)
        replaced = {_entry_key(e) for e in overrides}
        kept = [e for e in self._entries if _entry_key(e) not in replaced]
        return PriceCatalog([*kept, *overrides])

    @property
    def entries(self) -> tuple[PriceEntry, ...]:
        return self._entries

    def providers(self) -> frozenset[str]:
        return frozenset(p for p, _ in self._index)

    def history(self, provider: str, model: str) -> tuple[PriceEntry, ...]:
        found = self._index.get((provider, model))
        return found[1] if found else ()

    def lookup(self, provider: str, model: str, at_ms: int) -> ModelPrice | None:
        """The entry in force at `at_ms` (epoch ms), or None when the model has no price then."""
        found = self._index.get((provider, model))
        if found is None:
            return None
        starts, history = found
        i = bisect.bisect_right(starts, at_ms) - 1
        return history[i] if i >= 0 else None

    def missing(self, models: Iterable[tuple[str, str]], *,
                at_ms: int | None = None) -> list[tuple[str, str]]:
        """The (provider, model) pairs without a price (at `at_ms`, or ever when None),
        in input order without repeats. These must be flagged, never costed as zero."""
        out: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for key in models:
            if key in seen:
                continue
            seen.add(key)
            priced = (key in self._index if at_ms is None
                      else self.lookup(key[0], key[1], at_ms) is not None)
            if not priced:
                out.append(key)
        return out

    def cost(self, price: ModelPrice, usage: UsageCounts, *, batch: bool = False) -> int:
        """Micro-USD for `usage`, rounded half-up once. Cached and cache-write tokens are
        part of `prompt_tokens` and billed only at their own rates."""
        r = _rates(price, batch)
        uncached = max(0, usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens)
        scaled = (uncached * r.input + usage.cached_tokens * r.cache_read
                  + usage.cache_write_tokens * r.cache_write
                  + usage.completion_tokens * r.output)
        return (scaled + _PER_MTOK // 2) // _PER_MTOK

    def worst_case(self, price: ModelPrice, input_tokens: int, max_output_tokens: int) -> int:
        """An upper bound in micro-USD for a budget reservation, rounded up: every input token
        at the dearer of the input and cache-write rates, every allowed output token billed."""
        if input_tokens < 0 or max_output_tokens < 0:
            raise ValueError("token counts must not be negative")
        r = _rates(price, batch=False)
        scaled = input_tokens * max(r.input, r.cache_write) + max_output_tokens * r.output
        return -(-scaled // _PER_MTOK)


def encode_catalog(entries: Sequence[PriceEntry], source: str) -> bytes:
    """Catalog file bytes, one entry per line so that price changes diff cleanly."""
    ordered = sorted(entries, key=lambda e: (e.provider, e.model, e.effective_from))
    head = msgspec.json.encode({"format": CATALOG_FORMAT, "source": source}).decode()
    lines = ",\n".join("  " + msgspec.json.encode(e).decode() for e in ordered)
    return f'{head[:-1]},\n "entries": [\n{lines}\n ]\n}}\n'.encode()
