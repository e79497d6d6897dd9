"""French renderings for the figures printed in a décompte."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre")


def fr_rate(rate: Decimal) -> str:
    """2.15 → "2,15"; at least two decimals, as rates are published."""
    text = f"{rate:.2f}" if rate == rate.quantize(Decimal("0.01")) else format(rate.normalize(), "f")
    return text.replace(".", ",")


def fr_date(day: dt.date) -> str:
    """2025-07-01 → "1er juillet 2025"."""
    d = "1er" if day.day == 1 else str(day.day)
    return f"{d} {_MONTHS[day.month - 1]} {day.year}"


def fr_money(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",") + " €"
