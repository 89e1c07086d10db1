"""The spend report behind `portico spend report` and GET /v1/spend: the store's spend lines plus
input share, cost per successful request and the over-prompting flag (key and model groups)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from portico.accounting.overprompt import InputShare, input_shares
from portico.store.base import LedgerQuery, SpendGroup, SpendLine, UsageStore

DEFAULT_WINDOW_MS = 86_400_000   # over-prompting looks at the last day unless `since` says
LEDGER_SCAN_LIMIT = 200_000


class SpendReportLine(SpendLine, kw_only=True):
    """A store spend line plus what the report derives from it."""

    input_share: float                 # tokens_in / (tokens_in + tokens_out)
    cost_per_ok_micros: int | None     # cost / successful requests (None without any)
    over_prompting: bool | None = None  # key and model groups only


async def over_prompting(store: UsageStore, q: LedgerQuery, now_ms: int, *,
                         threshold: float = 0.8, min_requests: int = 10) -> list[InputShare]:
    since = q.since_ms if q.since_ms is not None else now_ms - DEFAULT_WINDOW_MS
    rows = await store.query_ledger(LedgerQuery(since_ms=since, until_ms=q.until_ms,
                                                key_id=q.key_id, team=q.team,
                                                limit=LEDGER_SCAN_LIMIT))
    return input_shares(rows, now_ms / 1000, window_seconds=max(1.0, (now_ms - since) / 1000),
                        threshold=threshold, min_requests=min_requests)


async def spend_report(store: UsageStore, group: SpendGroup, q: LedgerQuery,
                       now_ms: int) -> list[SpendReportLine]:
    lines = await store.spend(group, q)
    flags: dict[str, bool] = {}
    if group in ("key", "model"):
        flags = {s.name: s.over_prompting for s in await over_prompting(store, q, now_ms)
                 if s.dimension == group}
    out = []
    for ln in lines:
        total = ln.tokens_in + ln.tokens_out
        out.append(SpendReportLine(
            **msgspec.structs.asdict(ln),
            input_share=round(ln.tokens_in / total, 4) if total else 0.0,
            cost_per_ok_micros=ln.cost_micros // ln.ok_requests if ln.ok_requests else None,
            over_prompting=flags.get(ln.group, False) if group in ("key", "model") else None,
        ))
    return out


def usd(micros: int) -> str:
    return f"{Decimal(micros) / 1_000_000:.6f}"


def render_table(group: SpendGroup, lines: list[SpendReportLine]) -> str:
    out = [f"{group:<32} {'requests':>9} {'tokens_in':>10} {'tokens_out':>10} {'input%':>7} "
           f"{'cost_usd':>12} {'usd/ok_req':>11} {'unpriced':>8} {'over-prompt':>11}"]
    for ln in lines:
        share = f"{100 * ln.input_share:.1f}" if ln.tokens_in + ln.tokens_out else "-"
        per_ok = usd(ln.cost_per_ok_micros) if ln.cost_per_ok_micros is not None else "-"
        flag = "-" if ln.over_prompting is None else ("YES" if ln.over_prompting else "no")
        out.append(f"{ln.group[:32]:<32} {ln.requests:>9} {ln.tokens_in:>10} "
                   f"{ln.tokens_out:>10} {share:>7} {usd(ln.cost_micros):>12} "
                   f"{per_ok:>11} {ln.price_missing:>8} {flag:>11}")
    return "\n".join(out)
