"""The décompte: what the claim engine answers and what letters and requêtes print.

Every figure a judge may re-check has its own line: the interest lines carry their period,
day count, principal, rate and divisor so that principal × rate / 100 × days / divisor,
rounded half-up to the cent, gives the amount printed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "ClaimOptions", "InterestLine", "IndemnityLine", "Imputation", "InvoiceBalance",
    "ClaimStatement", "MissingRateError", "fmt_money",
]

Regime = Literal["commercial", "civil"]


def fmt_money(v: Decimal) -> str:
    return f"{v:.2f}"


@dataclass(frozen=True)
class ClaimOptions:
    imputation: Literal["interest_first", "principal_first"] = "interest_first"
    day_count: Literal["actual_365", "actual_actual"] = "actual_365"


class MissingRateError(LookupError):
    """A period needs a rate the rate book does not hold (e.g. a semester not yet published)."""

    def __init__(self, semester: str, basis: str):
        super().__init__(f"no {basis} rate for {semester}")
        self.semester = semester
        self.basis = basis


@dataclass(frozen=True)
class InterestLine:
    invoice: str
    start: dt.date          # exclusive: accrual days D satisfy start < D <= end
    end: dt.date            # inclusive
    days: int
    principal: Decimal
    rate: Decimal           # annual percentage, e.g. Decimal("12.15")
    divisor: int            # 365 or 366
    amount: Decimal         # rounded half-up to the cent
    basis: str              # e.g. "BCE 2.15 % au 01/07/2025 + 10 points", "taux légal (autres cas) 2026-S1"
    rate_source: str        # citation of the rate row used
    verified: bool          # rate row marked verified in the rate book

    def to_dict(self) -> dict[str, Any]:
        return {
            "invoice": self.invoice, "from": self.start.isoformat(), "to": self.end.isoformat(),
            "days": self.days, "principal": fmt_money(self.principal), "rate": format(self.rate, "f"),
            "divisor": self.divisor, "amount": fmt_money(self.amount), "basis": self.basis,
            "rate_source": self.rate_source, "verified": self.verified,
        }


@dataclass(frozen=True)
class IndemnityLine:
    invoice: str
    amount: Decimal
    basis: str              # "C. com. D441-5"

    def to_dict(self) -> dict[str, Any]:
        return {"invoice": self.invoice, "amount": fmt_money(self.amount), "basis": self.basis}


@dataclass(frozen=True)
class Imputation:
    """How one payment was applied (Code civil 1342-10, 1343-1)."""

    payment_date: dt.date
    payment_amount: Decimal
    invoice: str | None     # None for the part reported as credit
    to_interest: Decimal
    to_principal: Decimal
    designated: bool        # the debtor named the invoice
    to_credit: Decimal = Decimal("0.00")   # the part exceeding every debt (invoice is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payment_date": self.payment_date.isoformat(), "payment_amount": fmt_money(self.payment_amount),
            "invoice": self.invoice, "to_interest": fmt_money(self.to_interest),
            "to_principal": fmt_money(self.to_principal), "to_credit": fmt_money(self.to_credit),
            "designated": self.designated,
        }


@dataclass(frozen=True)
class InvoiceBalance:
    number: str
    issue_date: dt.date
    due_date: dt.date
    amount: Decimal
    principal_paid: Decimal
    principal_outstanding: Decimal
    interest_accrued: Decimal
    interest_paid: Decimal
    indemnity: Decimal
    interest_start: dt.date | None   # exclusive start of accrual, None when no interest runs

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, Decimal):
                d[k] = fmt_money(v)
            elif isinstance(v, dt.date):
                d[k] = v.isoformat()
        return d


@dataclass(frozen=True)
class ClaimStatement:
    regime: Regime
    as_of: dt.date
    principal: Decimal
    paid: Decimal
    principal_outstanding: Decimal
    interest_accrued: Decimal
    interest_paid: Decimal
    interest_outstanding: Decimal
    indemnities: Decimal
    credit: Decimal
    total_outstanding: Decimal
    lines: tuple[InterestLine, ...]
    indemnity_lines: tuple[IndemnityLine, ...]
    imputations: tuple[Imputation, ...]
    invoices: tuple[InvoiceBalance, ...]
    conventions: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        money_fields = ("principal", "paid", "principal_outstanding", "interest_accrued", "interest_paid",
                        "interest_outstanding", "indemnities", "credit", "total_outstanding")
        out: dict[str, Any] = {"regime": self.regime, "as_of": self.as_of.isoformat()}
        out.update({k: fmt_money(getattr(self, k)) for k in money_fields})
        out["lines"] = [ln.to_dict() for ln in self.lines]
        out["indemnity_lines"] = [ln.to_dict() for ln in self.indemnity_lines]
        out["imputations"] = [i.to_dict() for i in self.imputations]
        out["invoices"] = [i.to_dict() for i in self.invoices]
        out["conventions"] = dict(self.conventions)
        out["warnings"] = list(self.warnings)
        return out
