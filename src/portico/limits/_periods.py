"""UTC calendar periods for budgets: the state key of the period holding `now`, and its end."""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from portico.limits.base import BudgetPeriod


def _start_and_end(period: BudgetPeriod, now: float) -> tuple[dt.datetime, dt.datetime]:
    day = dt.datetime.fromtimestamp(now, tz=dt.UTC).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    match period:
        case BudgetPeriod.DAILY:
            return day, day + dt.timedelta(days=1)
        case BudgetPeriod.MONTHLY:
            start = day.replace(day=1)
            months = 1
        case BudgetPeriod.QUARTERLY:
            start = day.replace(day=1, month=3 * ((day.month - 1) // 3) + 1)
            months = 3
        case _:
            assert_never(period)
    month0 = start.month - 1 + months
    return start, start.replace(year=start.year + month0 // 12, month=month0 % 12 + 1)


def period_key(period: BudgetPeriod, now: float) -> str:
    """"2025-06-03" (daily), "2025-06" (monthly), "2025-Q2" (quarterly), from the UTC date."""
    start, _ = _start_and_end(period, now)
    match period:
        case BudgetPeriod.DAILY:
            return start.strftime("%Y-%m-%d")
        case BudgetPeriod.MONTHLY:
            return start.strftime("%Y-%m")
        case BudgetPeriod.QUARTERLY:
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        case _:
            assert_never(period)


def period_end(period: BudgetPeriod, now: float) -> float:
    """Epoch seconds at which the period holding `now` ends (a new budget starts)."""
    return _start_and_end(period, now)[1].timestamp()
