"""Usage ledger: idempotent batch writes, query filters, spend grouping computed in SQL."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from portico.store.base import LedgerQuery, SpendGroup, SpendLine
from portico.store.records import AttemptRow, LedgerRow
from portico.store.sql import SqlStore

T0 = 1_750_000_000_000  # 2025-06-15T15:06:40Z
DAY = 86_400_000


def row(i: int, **kw: object) -> LedgerRow:
    base: dict[str, object] = {"request_id": f"req_{i:05d}", "ts_ms": T0 + i, "key_id": "vk_1",
                               "team": "blue", "model_requested": "gpt-4o"}
    base.update(kw)
    return LedgerRow(**base)  # type: ignore[arg-type]


async def count(store: SqlStore) -> int:
    return len(await store.query_ledger(LedgerQuery(limit=1_000_000)))


async def test_full_row_round_trip(store: SqlStore) -> None:
    full = row(1, provider="openai", deployment="openai-east", upstream_model="gpt-4o-2024-08-06",
               attempts=[AttemptRow(deployment="azure", status=503,
                                    error_code="upstream_unavailable", latency_ms=12),
                         AttemptRow(deployment="openai-east", status=200, latency_ms=340)],
               tokens_in=1200, tokens_out=300, tokens_cached=1000, tokens_cache_write=5,
               cost_micros=4_567, cost_estimated=True, price_missing=False, latency_ms=360,
               ttft_ms=120, status="partial", http_status=200, error_code="upstream_timeout",
               stream=True, endpoint="chat")
    minimal = row(2, key_id=None, team=None)
    await store.write_ledger([full, minimal])
    assert await store.query_ledger(LedgerQuery()) == [full, minimal]


async def test_write_is_idempotent(store: SqlStore) -> None:
    await store.write_ledger([row(i) for i in range(10)])
    changed = row(3, cost_micros=999)
    await store.write_ledger([row(i) for i in range(5, 15)] + [changed, row(14), row(14)])
    assert await count(store) == 15
    got = await store.query_ledger(LedgerQuery(since_ms=T0 + 3, until_ms=T0 + 4))
    assert got == [row(3)]  # first write wins


async def test_large_batch(store: SqlStore) -> None:
    await store.write_ledger([row(i) for i in range(2500)])
    await store.write_ledger([row(i) for i in range(2500)])
    assert await count(store) == 2500


async def test_query_filters(store: SqlStore) -> None:
    rows = [row(i, key_id=f"vk_{i % 3}", team=("red" if i % 2 else "blue")) for i in range(30)]
    await store.write_ledger(list(reversed(rows)))
    assert await store.query_ledger(LedgerQuery(limit=1000)) == rows  # oldest first
    assert await store.query_ledger(LedgerQuery(since_ms=T0 + 10, until_ms=T0 + 13)) == rows[10:13]
    assert await store.query_ledger(LedgerQuery(key_id="vk_1")) == rows[1::3]
    assert await store.query_ledger(LedgerQuery(team="red")) == rows[1::2]
    assert await store.query_ledger(LedgerQuery(key_id="vk_0", team="blue")) == rows[0::6]
    assert await store.query_ledger(LedgerQuery(limit=4)) == rows[:4]


def expected_spend(rows: list[LedgerRow], group: SpendGroup) -> list[SpendLine]:
    acc: dict[str, list[int]] = defaultdict(lambda: [0] * 7)
    for r in rows:
        if group == "key":
            g = r.key_id or ""
        elif group == "team":
            g = r.team or ""
        elif group == "model":
            g = r.model_requested
        elif group == "provider":
            g = r.provider or ""
        else:
            g = dt.datetime.fromtimestamp(r.ts_ms / 1000, dt.UTC).date().isoformat()
        a = acc[g]
        for idx, v in enumerate((1, r.status == "ok", r.tokens_in, r.tokens_out,
                                 r.tokens_cached, r.cost_micros, r.price_missing)):
            a[idx] += int(v)
    return [SpendLine(group=g, requests=a[0], ok_requests=a[1], tokens_in=a[2], tokens_out=a[3],
                      tokens_cached=a[4], cost_micros=a[5], price_missing=a[6])
            for g, a in sorted(acc.items())]


def random_rows(n: int) -> list[LedgerRow]:
    rnd = random.Random(7)
    midnight = T0 - T0 % DAY
    out = []
    for i in range(n):
        # Cluster around UTC midnights so off-by-one day bucketing would show.
        ts = midnight + rnd.choice([-1, 0, 1, 2]) * DAY + rnd.choice([-1, 0, 1, 3_600_000])
        out.append(row(i, ts_ms=ts, key_id=rnd.choice(["vk_a", "vk_b", None]),
                       team=rnd.choice(["red", "blue", None]),
                       model_requested=rnd.choice(["gpt-4o", "claude-sonnet", "gemini"]),
                       provider=rnd.choice(["openai", "anthropic", None]),
                       tokens_in=rnd.randrange(5000), tokens_out=rnd.randrange(2000),
                       tokens_cached=rnd.randrange(100),
                       cost_micros=rnd.randrange(10**10),  # sums past 2**31
                       price_missing=rnd.random() < 0.2,
                       status=rnd.choice(["ok", "ok", "error", "partial", "cancelled"])))
    return out


async def test_spend_by_every_group(store: SqlStore) -> None:
    rows = random_rows(400)
    await store.write_ledger(rows)
    for group in ("key", "team", "model", "provider", "day"):
        assert await store.spend(group, LedgerQuery()) == expected_spend(rows, group), group


async def test_spend_respects_filters(store: SqlStore) -> None:
    rows = random_rows(300)
    await store.write_ledger(rows)
    since = min(r.ts_ms for r in rows) + DAY
    until = since + DAY
    q = LedgerQuery(since_ms=since, until_ms=until, team="red")
    kept = [r for r in rows if since <= r.ts_ms < until and r.team == "red"]
    assert kept
    assert await store.spend("model", q) == expected_spend(kept, "model")
    assert await store.spend("day", q) == expected_spend(kept, "day")
    assert await store.spend("key", LedgerQuery(key_id="vk_a")) == expected_spend(
        [r for r in rows if r.key_id == "vk_a"], "key")


async def test_spend_on_empty_ledger(store: SqlStore) -> None:
    assert await store.spend("day", LedgerQuery()) == []
