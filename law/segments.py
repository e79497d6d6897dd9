"""The arithmetic a judge re-checks: principal × rate / 100 × days / divisor, per segment.

Accrual covers each day D with start < D <= end. A segment never straddles the end of a
semester (rates change on 1 January and 1 July) nor of a year (so the actual/actual divisor is
constant within it), and ends on every extra break given (a payment date: that day still
accrues on the old principal).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

__all__ = [
    "CENT", "DayCount", "Segment", "interest_amount", "accrual_segments", "divisor_for",
    "semester_label", "semester_bounds",
]

CENT = Decimal("0.01")
DayCount = Literal["actual_365", "actual_actual"]
DAY_COUNTS: tuple[str, ...] = ("actual_365", "actual_actual")
_ONE_DAY = dt.timedelta(days=1)


def interest_amount(principal: Decimal, rate: Decimal, days: int, divisor: int = 365) -> Decimal:
    """Simple interest for one segment, rounded half-up to the cent (service-public F783)."""
    if days < 0:
        raise ValueError("days must not be negative")
    return (principal * rate * days / (100 * divisor)).quantize(CENT, rounding=ROUND_HALF_UP)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def divisor_for(day: dt.date, day_count: DayCount) -> int:
    """365 always (official calculators), or the length of the day's year (older F783 text)."""
    if day_count == "actual_365":
        return 365
    if day_count == "actual_actual":
        return 366 if _is_leap(day.year) else 365
    raise ValueError(f"unknown day count {day_count!r}; expected one of {DAY_COUNTS}")


def semester_label(day: dt.date) -> str:
    return f"{day.year}-S{1 if day.month <= 6 else 2}"


def semester_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    if day.month <= 6:
        return dt.date(day.year, 1, 1), dt.date(day.year, 6, 30)
    return dt.date(day.year, 7, 1), dt.date(day.year, 12, 31)


@dataclass(frozen=True)
class Segment:
    start: dt.date   # exclusive
    end: dt.date     # inclusive
    days: int
    divisor: int


def accrual_segments(start: dt.date, end: dt.date, *, day_count: DayCount = "actual_365",
                     breaks: Iterable[dt.date] = ()) -> list[Segment]:
    """Split the accrual (start, end] at semester ends and at each break date (inclusive end)."""
    cuts = sorted({b for b in breaks if start < b < end})
    out: list[Segment] = []
    cursor = start
    for stop in [*cuts, end]:
        while cursor < stop:
            first = cursor + _ONE_DAY
            last = min(semester_bounds(first)[1], stop)
            out.append(Segment(cursor, last, (last - cursor).days, divisor_for(first, day_count)))
            cursor = last
    return out
