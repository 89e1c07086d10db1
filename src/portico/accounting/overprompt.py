"""Over-prompting: the input share of tokens per key and per model over a bucketed window.

A key (or model) is flagged when its input share stays above the threshold: in the window as a
whole and in every bucket that saw traffic, with at least `min_requests` requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import msgspec

from portico.store.records import LedgerRow

Dimension = Literal["key", "model"]


class InputShare(msgspec.Struct, kw_only=True):
    dimension: Dimension
    name: str
    requests: int
    tokens_in: int
    tokens_out: int
    input_share: float
    min_bucket_share: float          # the lowest share of any bucket with traffic
    over_prompting: bool


@dataclass(slots=True)
class _Bucket:
    index: int
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class InputShareWindow:
    """Bucketed counters; O(1) per request, old buckets dropped as time moves on."""

    def __init__(self, *, window_seconds: float = 3600.0, buckets: int = 12,
                 threshold: float = 0.8, min_requests: int = 10) -> None:
        self.window = window_seconds
        self.width = window_seconds / buckets
        self.threshold = threshold
        self.min_requests = min_requests
        self._series: dict[tuple[Dimension, str], list[_Bucket]] = {}

    def add(self, dimension: Dimension, name: str, at: float, tokens_in: int,
            tokens_out: int) -> None:
        index = math.floor(at / self.width)
        series = self._series.setdefault((dimension, name), [])
        if not series or series[-1].index != index:
            if series and series[-1].index > index:   # out of order (a replayed row): find it
                found = next((b for b in series if b.index == index), None)
                if found is None:
                    return
                bucket = found
            else:
                bucket = _Bucket(index)
                series.append(bucket)
        else:
            bucket = series[-1]
        bucket.requests += 1
        bucket.tokens_in += tokens_in
        bucket.tokens_out += tokens_out

    def report(self, now: float) -> list[InputShare]:
        oldest = math.floor((now - self.window) / self.width)
        out: list[InputShare] = []
        for (dimension, name), series in list(self._series.items()):
            live = [b for b in series if b.index > oldest]
            if not live:
                del self._series[(dimension, name)]
                continue
            series[:] = live
            out.append(self._share(dimension, name, live))
        return sorted(out, key=lambda s: (s.dimension, -s.input_share, s.name))

    def _share(self, dimension: Dimension, name: str, live: list[_Bucket]) -> InputShare:
        tin = sum(b.tokens_in for b in live)
        tout = sum(b.tokens_out for b in live)
        requests = sum(b.requests for b in live)
        share = tin / (tin + tout) if tin + tout else 0.0
        shares = [b.tokens_in / (b.tokens_in + b.tokens_out)
                  for b in live if b.tokens_in + b.tokens_out]
        low = min(shares) if shares else 0.0
        flagged = (requests >= self.min_requests and share > self.threshold
                   and low > self.threshold)
        return InputShare(dimension=dimension, name=name, requests=requests, tokens_in=tin,
                          tokens_out=tout, input_share=round(share, 4),
                          min_bucket_share=round(low, 4), over_prompting=flagged)


def input_shares(rows: Iterable[LedgerRow], now: float, *, window_seconds: float = 86400.0,
                 buckets: int = 24, threshold: float = 0.8,
                 min_requests: int = 10) -> list[InputShare]:
    """Input shares by key and model from ledger rows (successful requests only)."""
    win = InputShareWindow(window_seconds=window_seconds, buckets=buckets, threshold=threshold,
                           min_requests=min_requests)
    for row in sorted(rows, key=lambda r: r.ts_ms):
        if row.status != "ok":
            continue
        at = row.ts_ms / 1000
        if row.key_id is not None:
            win.add("key", row.key_id, at, row.tokens_in, row.tokens_out)
        win.add("model", row.model_requested, at, row.tokens_in, row.tokens_out)
    return win.report(now)
