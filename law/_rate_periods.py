"""Which annual rate applies on a given day, under each basis, and why (for the printed line)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ._fmt import fr_date, fr_rate
from .constants import legal_constant
from .rates import RateBook
from .segments import semester_bounds, semester_label
from .statement import MissingRateError

Category = Literal["particulier", "autres"]
RateBasis = Literal["ecb_plus_10", "legal_rate", "contract"]
_ONE_DAY = dt.timedelta(days=1)
_CATEGORY_TEXT = {"particulier": "créancier personne physique", "autres": "autres cas"}


@dataclass(frozen=True)
class RatePeriod:
    first: dt.date      # inclusive
    last: dt.date       # inclusive, never beyond the end of the semester
    rate: Decimal
    label: str          # semester the period belongs to, e.g. "2026-S1"
    basis: str          # French, printed on the interest line
    source: str
    verified: bool


def missing_basis(basis: RateBasis, category: Category) -> str:
    """The name MissingRateError gives the rate that is lacking."""
    if basis == "ecb_plus_10":
        points = legal_constant("l441_10_points")
        return f"BCE + {points.value if points else '?'} points"
    return f"taux légal ({_CATEGORY_TEXT[category]})"


class RateResolver:
    """Answers "which rate on this day" for one basis; caches per semester, as rates are fixed
    for a semester (L441-10 since 2013, taux légal since 2015)."""

    def __init__(self, book: RateBook, basis: RateBasis, category: Category = "autres",
                 contract_rate: Decimal | None = None, contract_ref: str | None = None):
        if basis == "contract" and contract_rate is None:
            raise ValueError("a contractual rate is required when late_interest.basis is contract")
        self.book, self.basis, self.category = book, basis, category
        self.contract_rate, self.contract_ref = contract_rate, contract_ref
        self._cache: dict[tuple[int, bool], RatePeriod] = {}

    def period(self, day: dt.date) -> RatePeriod:
        key = (day.year, day.month <= 6)
        cached = self._cache.get(key)
        if cached is not None and cached.first <= day <= cached.last:
            return cached
        found = self._compute(day)
        if (found.first, found.last) == semester_bounds(day):
            self._cache[key] = found
        return found

    def _missing(self, day: dt.date) -> MissingRateError:
        return MissingRateError(semester_label(day), missing_basis(self.basis, self.category))

    def _compute(self, day: dt.date) -> RatePeriod:
        first, last = semester_bounds(day)
        label = semester_label(day)
        if self.basis == "contract":
            assert self.contract_rate is not None
            source = "contrat" + (f" {self.contract_ref}" if self.contract_ref else "") + " (late_interest.annual_rate)"
            return RatePeriod(first, last, self.contract_rate, label,
                              f"taux contractuel {fr_rate(self.contract_rate)} % l'an", source, True)
        if self.basis == "legal_rate":
            return self._legal(day, first, last, label)
        return self._ecb(day, first, last, label)

    def _legal(self, day: dt.date, first: dt.date, last: dt.date, label: str) -> RatePeriod:
        row = self.book.taux_legal.get(label)
        if row is not None:
            rate = row.particulier if self.category == "particulier" else row.autres
            return RatePeriod(first, last, rate, label,
                              f"taux légal {label}, {_CATEGORY_TEXT[self.category]}", row.source, row.verified)
        periodicity = legal_constant("taux_legal_periodicity", on=day)
        annual = self.book.taux_legal_annual.get(day.year)
        if periodicity is not None and periodicity.value == "annual" and annual is not None:
            return RatePeriod(first, last, annual.rate, label,
                              f"taux légal {day.year} (taux annuel unique)", annual.source, annual.verified)
        raise self._missing(day)

    def _ecb(self, day: dt.date, first: dt.date, last: dt.date, label: str) -> RatePeriod:
        points_row = legal_constant("l441_10_points", on=day)
        reference = legal_constant("l441_10_rate_reference", on=day)
        if points_row is None or reference is None:
            raise self._missing(day)
        points = points_row.decimal()
        if reference.value == "semester":
            row = self.book.mro_in_force(first)
            if row is None:
                raise self._missing(day)
            basis = f"taux BCE {fr_rate(row.rate)} % au {fr_date(first)} + {points_row.value} points"
            return RatePeriod(first, last, row.rate + points, label, basis,
                              row.source, row.verified)
        # Before 2013: the rate of the most recent operation, so it changes mid-semester.
        row = self.book.mro_in_force(day)
        if row is None:
            raise self._missing(day)
        following = self.book.next_mro_change(day)
        period_last = min(last, following - _ONE_DAY) if following else last
        basis = (f"taux BCE {fr_rate(row.rate)} % (opération la plus récente, depuis le "
                 f"{fr_date(row.effective_date)}) + {points_row.value} points")
        return RatePeriod(max(first, row.effective_date), period_last, row.rate + points, label, basis,
                          row.source, row.verified)


def applicable_rate(book: RateBook, day: dt.date, *, basis: Literal["ecb_plus_10", "legal_rate"] = "ecb_plus_10",
                    category: Category = "autres") -> RatePeriod:
    """The statutory rate applying on `day` (L441-10 default or taux légal), with its source.

    Raises MissingRateError when the book does not hold it.
    """
    if basis not in ("ecb_plus_10", "legal_rate"):
        raise ValueError("basis must be ecb_plus_10 or legal_rate")
    if category not in _CATEGORY_TEXT:
        raise ValueError("category must be particulier or autres")
    return RateResolver(book, basis, category).period(day)
