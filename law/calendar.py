"""The legal calendar: public holidays (national and Alsace-Moselle) and CPC 640–642 arithmetic.

Procedural deadlines roll over to the next working day (CPC 642); prescription periods never do
(C. civ. 2229; Cass. 2e civ., 7 avr. 2016, n° 15-12.960).
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from ._data import DATA_DIR

__all__ = [
    "Region", "REGIONS", "region_for_postal_code", "public_holidays", "is_working_day",
    "next_working_day", "add_months", "procedural_deadline", "prescription_end", "easter_sunday",
]

Region = Literal["national", "alsace_moselle"]
REGIONS: tuple[str, ...] = ("national", "alsace_moselle")
_ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=1)
def _holiday_rules() -> dict[str, Any]:
    with (DATA_DIR / "holidays.json").open(encoding="utf-8") as f:
        rules = json.load(f)
    for region in REGIONS:
        if not rules.get(region, {}).get("source"):
            raise ValueError(f"holidays.json: region {region} must cite its source")
    return rules


def region_for_postal_code(pc: str | None) -> Region:
    """Bas-Rhin, Haut-Rhin and Moselle keep their local holidays (C. trav. L3134-13)."""
    if not pc:
        return "national"
    digits = "".join(pc.split())
    departments = _holiday_rules()["alsace_moselle"]["departments"]
    return "alsace_moselle" if len(digits) == 5 and digits.isdigit() and digits[:2] in departments else "national"


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (anonymous Meeus/Jones/Butcher algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _check_region(region: str) -> None:
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; expected one of {REGIONS}")


@lru_cache(maxsize=256)
def _holidays(year: int, region: str) -> Mapping[dt.date, str]:
    rules = _holiday_rules()
    easter = easter_sunday(year)
    out: dict[dt.date, str] = {}
    for name in ("national", region) if region != "national" else ("national",):
        for h in rules[name]["fixed"]:
            out[dt.date(year, h["month"], h["day"])] = h["name"]
        for h in rules[name]["easter_offsets"]:
            out[easter + dt.timedelta(days=h["offset"])] = h["name"]
    return MappingProxyType(dict(sorted(out.items())))


def public_holidays(year: int, region: Region) -> dict[dt.date, str]:
    _check_region(region)
    return dict(_holidays(year, region))


def is_working_day(d: dt.date, region: Region) -> bool:
    _check_region(region)
    return d.weekday() < 5 and d not in _holidays(d.year, region)


def next_working_day(d: dt.date, region: Region) -> dt.date:
    """`d` itself if it is a working day, else the first working day after it (CPC 642)."""
    while not is_working_day(d, region):
        d += _ONE_DAY
    return d


def add_months(d: dt.date, months: int) -> dt.date:
    """Same day of the target month, or its last day when that month is shorter (CPC 641)."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return dt.date(year, month, min(d.day, (following - _ONE_DAY).day))


def procedural_deadline(start: dt.date, *, days: int = 0, months: int = 0, region: Region) -> dt.date:
    """Last day of a CPC delay from `start`: months first, then days (the starting day is not
    counted), extended to the next working day if it falls on a Saturday, Sunday or holiday."""
    if days < 0 or months < 0:
        raise ValueError("a procedural delay runs forward: days and months must not be negative")
    _check_region(region)
    return next_working_day(add_months(start, months) + dt.timedelta(days=days), region)


def prescription_end(start: dt.date, years: int) -> dt.date:
    """Last day of a prescription period: the anniversary date (or month end); never extended."""
    if years < 0:
        raise ValueError("years must not be negative")
    return add_months(start, 12 * years)


_DEADLINE_NAMES = ("Deadline", "case_deadlines", "payment_deadline", "ip_signification_deadline")


def __getattr__(name: str) -> Any:
    """case_deadlines and friends live in law.deadlines (which builds on this module)."""
    if name in _DEADLINE_NAMES:
        from . import deadlines
        return getattr(deadlines, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
