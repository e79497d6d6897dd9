"""The décompte: principal, late interest, indemnities and how each payment was imputed.

Payments are replayed in date order over per-invoice ledgers. An invoice's accrual is only
cut at a payment date when that payment is actually imputed to it, so the printed segments
are exactly the ones the imputation relied on.
"""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from casefiles.model import CaseFile, CreditorKind, InterestBasis, Invoice, PaymentIn

from ._conventions import NO_NOTICE_WARNING, describe
from ._fmt import fr_money
from ._rate_periods import Category, RateBasis, RateResolver
from .constants import legal_constant
from .rates import RateBook, load_rate_book
from .segments import DAY_COUNTS, divisor_for, interest_amount
from .statement import (
    ClaimOptions,
    ClaimStatement,
    Imputation,
    IndemnityLine,
    InterestLine,
    InvoiceBalance,
)

__all__ = ["compute_claim"]

_ZERO = Decimal("0.00")
_IMPUTATIONS = ("interest_first", "principal_first")
_DEFAULT_OPTIONS = ClaimOptions()


@dataclass
class _Ledger:
    invoice: Invoice
    start: dt.date | None            # exclusive start of accrual; None: no interest runs
    cursor: dt.date | None           # accrual committed up to this day (inclusive)
    principal: Decimal
    accrued: Decimal = _ZERO
    interest_paid: Decimal = _ZERO
    principal_paid_by_due: Decimal = _ZERO
    lines: list[InterestLine] = field(default_factory=list)

    def interest_due(self) -> Decimal:
        return self.accrued - self.interest_paid

    def settled(self) -> bool:
        return self.principal <= 0 and self.accrued <= self.interest_paid


@dataclass(frozen=True)
class _Plan:
    regime: str
    resolver: RateResolver | None
    notice_date: dt.date | None
    conventions: dict[str, str]
    lacks_notice: bool      # civil interest is due but no mise en demeure was recorded


def _plan(case: CaseFile, book: RateBook, options: ClaimOptions) -> _Plan:
    """Regime, rate basis and start rule: the legal choices, made once per case."""
    commercial = case.is_commercial
    category: Category = "particulier" if case.creditor.kind == CreditorKind.individual else "autres"
    li = case.late_interest
    default: RateBasis = "ecb_plus_10" if commercial else "legal_rate"
    chosen = li.basis.value if li else default
    resolver = None
    lacks_notice = False
    if chosen != InterestBasis.none.value:
        if commercial or case.formal_notice_date:
            resolver = RateResolver(
                book, chosen, category,  # type: ignore[arg-type]
                contract_rate=li.annual_rate if li else None,
                contract_ref=case.contract.reference if case.contract else None)
        else:
            lacks_notice = True
    conventions = describe(commercial=commercial, notice_date=case.formal_notice_date, basis=chosen,
                           forced=li is not None and chosen != default, category=category,
                           contract_rate=li.annual_rate if li else None, options=options)
    return _Plan("commercial" if commercial else "civil", resolver, case.formal_notice_date, conventions,
                 lacks_notice)


def _payment_key(p: PaymentIn) -> tuple[object, ...]:
    """Total order on payments so that the result never depends on input order."""
    return (p.date, p.invoice_number is None, p.invoice_number or "", p.amount, p.method or "",
            p.reference or "")


class _Engine:
    def __init__(self, plan: _Plan, options: ClaimOptions):
        self.plan, self.options = plan, options
        self.unverified: dict[tuple[str, str], str] = {}

    def interest_start(self, inv: Invoice) -> dt.date | None:
        if self.plan.resolver is None:
            return None
        if self.plan.regime == "commercial":
            return inv.due_date
        assert self.plan.notice_date is not None
        return max(inv.due_date, self.plan.notice_date)

    def pending(self, led: _Ledger, upto: dt.date) -> list[InterestLine]:
        """Interest lines from the last cut to `upto` on the current principal (not yet committed)."""
        resolver = self.plan.resolver
        if resolver is None or led.cursor is None or led.principal <= 0 or upto <= led.cursor:
            return []
        out = []
        cursor, principal, number = led.cursor, led.principal, led.invoice.number
        one_day = dt.timedelta(days=1)
        while cursor < upto:
            first = cursor + one_day
            period = resolver.period(first)
            last = min(period.last, upto)
            divisor = divisor_for(first, self.options.day_count)
            days = (last - cursor).days
            out.append(InterestLine(number, cursor, last, days, principal, period.rate, divisor,
                                    interest_amount(principal, period.rate, days, divisor),
                                    period.basis, period.source, period.verified))
            if not period.verified:
                self.unverified.setdefault((period.label, period.basis), period.source)
            cursor = last
        return out

    def commit(self, led: _Ledger, lines: list[InterestLine], upto: dt.date) -> None:
        led.lines.extend(lines)
        led.accrued += sum((ln.amount for ln in lines), _ZERO)
        if led.cursor is not None and upto > led.cursor:
            led.cursor = upto

    def apply(self, led: _Ledger, pay: PaymentIn, remaining: Decimal, designated: bool,
              out: list[Imputation], part: str | None = None) -> Decimal:
        """Impute up to `remaining` on one invoice; returns what is left of the payment.

        `part` is None for interest_first (interest then principal), "principal" or "interest"
        for the two passes of principal_first. The accrual is cut at the payment date only when
        something is actually imputed here.
        """
        lines = self.pending(led, pay.date)
        interest_due = led.interest_due() + sum((ln.amount for ln in lines), _ZERO)
        if part is None:
            to_interest = min(remaining, interest_due)
            to_principal = min(remaining - to_interest, led.principal)
        elif part == "principal":
            to_interest, to_principal = _ZERO, min(remaining, led.principal)
        else:
            to_interest, to_principal = min(remaining, interest_due), _ZERO
        if to_interest <= 0 and to_principal <= 0:
            return remaining
        self.commit(led, lines, pay.date)
        led.interest_paid += to_interest
        led.principal -= to_principal
        if pay.date <= led.invoice.due_date:
            led.principal_paid_by_due += to_principal
        out.append(Imputation(pay.date, pay.amount, led.invoice.number, to_interest, to_principal, designated))
        return remaining - to_interest - to_principal


def _check_options(options: ClaimOptions) -> None:
    if options.imputation not in _IMPUTATIONS:
        raise ValueError(f"unknown imputation {options.imputation!r}; expected one of {_IMPUTATIONS}")
    if options.day_count not in DAY_COUNTS:
        raise ValueError(f"unknown day_count {options.day_count!r}; expected one of {DAY_COUNTS}")


def compute_claim(case: CaseFile, as_of: dt.date, options: ClaimOptions = _DEFAULT_OPTIONS,
                  rates: RateBook | None = None) -> ClaimStatement:
    """The décompte of `case` on `as_of` (interest accrues up to and including that day).

    Raises MissingRateError when a day that bears interest falls in a period the rate book
    does not cover, ValueError on inconsistent input (unknown invoice, contract basis without rate).
    """
    _check_options(options)
    li = case.late_interest
    if li and li.basis == InterestBasis.contract and li.annual_rate is None:
        raise ValueError("late_interest.annual_rate is required when basis is contract")
    book = rates if rates is not None else load_rate_book()
    plan = _plan(case, book, options)
    engine = _Engine(plan, options)
    warnings: list[str] = []
    if plan.lacks_notice and any(i.due_date < as_of for i in case.invoices):
        warnings.append(NO_NOTICE_WARNING)

    invoices = sorted(case.invoices, key=lambda i: (i.due_date, i.number))
    ledgers = []
    for inv in invoices:
        start = engine.interest_start(inv)
        ledgers.append(_Ledger(inv, start, start, inv.amount))
    by_number = {led.invoice.number: led for led in ledgers}
    if len(by_number) != len(ledgers):
        raise ValueError("invoice numbers must be unique")

    imputations: list[Imputation] = []
    paid = credit = _ZERO
    first_open = 0      # ledgers before this index are settled
    # principal_first reduces principal only, on every invoice in turn; interest is settled only
    # with what is left once no principal remains.
    passes = (None,) if options.imputation == "interest_first" else ("principal", "interest")
    for pay in sorted(case.payments, key=_payment_key):
        if pay.date > as_of:
            warnings.append(f"Paiement du {pay.date.isoformat()} ({fr_money(pay.amount)}) postérieur à la "
                            f"date d'arrêté du {as_of.isoformat()} : non pris en compte.")
            continue
        paid += pay.amount
        remaining = pay.amount
        named = None
        if pay.invoice_number is not None:
            named = by_number.get(pay.invoice_number)
            if named is None:
                raise ValueError(f"payment of {pay.date.isoformat()} names unknown invoice {pay.invoice_number!r}")
        for part in passes:
            # Lazily, from the first invoice still open: a payment is usually used up by the oldest
            # open invoices, out of hundreds.
            others = (ledgers[i] for i in range(first_open, len(ledgers)) if ledgers[i] is not named)
            for led in itertools.chain([named] if named else (), others):
                if remaining <= 0:
                    break
                remaining = engine.apply(led, pay, remaining, led is named, imputations, part)
        # An invoice with neither principal nor interest left accrues nothing more: settled for good.
        while first_open < len(ledgers) and ledgers[first_open].settled():
            first_open += 1
        if remaining > 0:
            credit += remaining
            imputations.append(Imputation(pay.date, pay.amount, None, _ZERO, _ZERO, False, to_credit=remaining))

    for led in ledgers:
        engine.commit(led, engine.pending(led, as_of), as_of)

    indemnity_lines = []
    if plan.regime == "commercial":
        for led in ledgers:
            inv = led.invoice
            rule = legal_constant("indemnite_forfaitaire_eur", on=inv.due_date)
            if rule is not None and as_of > inv.due_date and led.principal_paid_by_due < inv.amount:
                indemnity_lines.append(IndemnityLine(inv.number, rule.decimal(), "C. com. L441-10 II, D441-5"))
    indemnity_of = {ln.invoice: ln.amount for ln in indemnity_lines}

    for (label, basis), source in engine.unverified.items():
        warnings.append(f"Taux non vérifié utilisé pour {label} ({basis}) — source : {source}. "
                        "À confirmer avant tout envoi.")

    balances = tuple(
        InvoiceBalance(
            number=led.invoice.number, issue_date=led.invoice.issue_date, due_date=led.invoice.due_date,
            amount=led.invoice.amount, principal_paid=led.invoice.amount - led.principal,
            principal_outstanding=led.principal, interest_accrued=led.accrued,
            interest_paid=led.interest_paid, indemnity=indemnity_of.get(led.invoice.number, _ZERO),
            interest_start=led.start)
        for led in ledgers)
    principal = sum((b.amount for b in balances), _ZERO)
    principal_outstanding = sum((b.principal_outstanding for b in balances), _ZERO)
    interest_accrued = sum((b.interest_accrued for b in balances), _ZERO)
    interest_paid = sum((b.interest_paid for b in balances), _ZERO)
    indemnities = sum((ln.amount for ln in indemnity_lines), _ZERO)
    interest_outstanding = interest_accrued - interest_paid
    return ClaimStatement(
        regime=plan.regime,  # type: ignore[arg-type]
        as_of=as_of,
        principal=principal,
        paid=paid,
        principal_outstanding=principal_outstanding,
        interest_accrued=interest_accrued,
        interest_paid=interest_paid,
        interest_outstanding=interest_outstanding,
        indemnities=indemnities,
        credit=credit,
        total_outstanding=principal_outstanding + interest_outstanding + indemnities,
        lines=tuple(ln for led in sorted(ledgers, key=lambda x: x.invoice.number) for ln in led.lines),
        indemnity_lines=tuple(indemnity_lines),
        imputations=tuple(imputations),
        invoices=balances,
        conventions=plan.conventions,
        warnings=tuple(dict.fromkeys(warnings)),
    )
