"""Turns rules + amounts into backend-neutral entries (state keys, amounts) and chooses denials.

Memory and Redis backends share this so that both charge exactly the same state keys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from portico.limits._periods import period_end, period_key
from portico.limits.base import Amounts, Denied, DenyReason, LimitKind, LimitRule

# A concurrency slot frees when a holder settles; we cannot know when, so we hint a short retry.
CONCURRENCY_RETRY_HINT = 1.0
# Budget counters outlive their period this long so late settles still land.
BUDGET_GRACE_SECONDS = 7 * 86400


@dataclass(slots=True)
class Entry:
    """One rule's share of a reservation: which state it charged and how much (not frozen only
    because a frozen dataclass costs a setattr call per field, for every rule of every request;
    nothing mutates it)."""

    rule: LimitRule
    amount: int
    key: str
    # Sliding windows: the previous window's key (read, never charged); else equal to `key`.
    prev_key: str
    # Sliding windows: start of the charged window; budgets: end of the charged period.
    mark: float


def kind_code(rule: LimitRule) -> int:
    """1 bucket, 2 sliding window, 3 concurrency, 4 budget (the Lua scripts switch on it)."""
    return rule.code


def entry_for(prefix: str, rule: LimitRule, amount: int, now: float) -> Entry:
    code = rule.code
    if code == 2:
        index = math.floor(now / rule.window_seconds)
        stem = f"{prefix}:{rule.state}:sw{rule.window_seconds:g}"
        return Entry(rule, amount, f"{stem}:{index}", f"{stem}:{index - 1}",
                     index * rule.window_seconds)
    base = f"{prefix}:{rule.state}"
    if code == 4:
        key = f"{base}:{period_key(rule.period, now)}"
        return Entry(rule, amount, key, key, period_end(rule.period, now))
    return Entry(rule, amount, base, base, 0.0)


def plan(prefix: str, rules: Sequence[LimitRule], amounts: Amounts, now: float) -> list[Entry]:
    """Entries for every rule that this request touches (zero amounts skip rate/concurrency
    rules, but a budget is always checked so an exhausted budget refuses even free calls)."""
    entries = []
    for rule in rules:
        amount: int = getattr(amounts, rule.amount_field)
        if amount <= 0:
            if amount < 0:
                raise ValueError(f"negative amount for {rule.key}")
            if rule.code != 4:
                continue
        entries.append(entry_for(prefix, rule, amount, now))
    return entries


def refund_for(entry: Entry, actual: Amounts | None) -> int:
    """What to give back on settle (`actual`) or release (None); negative means extra charge."""
    if actual is None:
        return entry.amount
    rule = entry.rule
    if rule.code == 3:   # concurrency: the slot is freed
        return entry.amount
    if rule.key.kind is LimitKind.REQUESTS_PER_MINUTE:
        return 0  # a request that reached the upstream stays counted
    used: int = getattr(actual, rule.amount_field)
    return entry.amount - used


def worst(denials: Sequence[Denied]) -> Denied:
    """The denial to report: a never-fitting amount first, else the longest wait."""
    never = [d for d in denials if d.reason is DenyReason.EXCEEDS_CAPACITY]
    if never:
        return never[0]
    return max(denials, key=lambda d: d.retry_after)


def sliding_retry(cur: float, prev: float, amount: int, cap: int, *, elapsed: float,
                  window: float) -> float:
    """Seconds until `prev*(1-e/W) + cur + amount <= cap` with no new traffic."""
    room = cap - cur - amount
    if room >= 0 and prev > 0:
        return max(0.0, window * (1 - room / prev) - elapsed)
    # Not within this window: next window, `cur` becomes the decaying previous count.
    wait = window - elapsed
    if cur > 0:
        wait += max(0.0, window * (1 - (cap - amount) / cur))
    return wait
