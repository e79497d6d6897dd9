"""Properties of compute_claim over generated case files (hypothesis)."""
import datetime as dt
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st
from law_builders import make_case

from law import ClaimOptions, compute_claim
from law.segments import semester_label

FIRST, LAST = dt.date(2023, 1, 1), dt.date(2026, 12, 31)   # the packaged book covers this span
dates = st.dates(min_value=FIRST, max_value=LAST)
amounts = st.integers(min_value=1, max_value=5_000_000).map(lambda cents: f"{D(cents) / 100:.2f}")
options = st.builds(ClaimOptions, imputation=st.sampled_from(["interest_first", "principal_first"]),
                    day_count=st.sampled_from(["actual_365", "actual_actual"]))


@st.composite
def cases(draw):
    # A small pool of shared dates makes collisions likely: payments on due dates, same-day payments.
    pool = draw(st.lists(dates, min_size=1, max_size=5))
    some_date = st.sampled_from(pool) | dates
    n = draw(st.integers(1, 6))
    invoices = []
    for i in range(n):
        due = draw(some_date)
        invoices.append({"number": f"F-{i}", "issue_date": (due - dt.timedelta(days=draw(st.integers(0, 60)))).isoformat(),
                         "due_date": due.isoformat(), "amount": draw(amounts)})
    payments = []
    for _ in range(draw(st.integers(0, 6))):
        p = {"date": draw(some_date).isoformat(), "amount": draw(amounts)}
        target = draw(st.none() | st.sampled_from([x["number"] for x in invoices]))
        if target:
            p["invoice_number"] = target
        payments.append(p)
    kind = draw(st.sampled_from(["b2b", "b2c_notice", "b2c_no_notice", "individual"]))
    kw = {}
    if kind != "b2b":
        kw["debtor"] = "consumer"
    if kind == "individual":
        kw["creditor"] = "individual"
    if kind in ("b2c_notice", "individual"):
        kw["notice"] = draw(some_date).isoformat()
    return invoices, payments, kw


def build(invoices, payments, kw):
    return make_case(invoices, payments, **kw)


@settings(max_examples=150, deadline=None)
@given(cases(), dates, options)
def test_totals_are_sums_of_lines_and_imputations(data, as_of, opts):
    s = compute_claim(build(*data), as_of, opts)
    zero = D("0.00")
    assert s.interest_accrued == sum((ln.amount for ln in s.lines), zero)
    assert s.indemnities == sum((ln.amount for ln in s.indemnity_lines), zero)
    assert s.interest_paid == sum((i.to_interest for i in s.imputations), zero)
    assert s.principal - s.principal_outstanding == sum((i.to_principal for i in s.imputations), zero)
    assert s.credit == sum((i.to_credit for i in s.imputations), zero)
    assert s.paid == s.principal - s.principal_outstanding + s.interest_paid + s.credit
    assert s.interest_outstanding == s.interest_accrued - s.interest_paid >= 0
    assert s.total_outstanding == s.principal_outstanding + s.interest_outstanding + s.indemnities
    for field in ("principal_outstanding", "interest_accrued", "interest_paid", "indemnities"):
        assert getattr(s, field) == sum((getattr(b, field if field != "indemnities" else "indemnity")
                                         for b in s.invoices), zero)
    for b in s.invoices:
        mine = [ln for ln in s.lines if ln.invoice == b.number]
        assert b.interest_accrued == sum((ln.amount for ln in mine), zero)
        assert 0 <= b.principal_outstanding <= b.amount
        for prev, nxt in zip(mine, mine[1:], strict=False):   # contiguous, non-overlapping, in date order
            assert prev.end == nxt.start
        for ln in mine:
            assert b.interest_start is not None and ln.start >= b.interest_start and ln.end <= as_of
            assert ln.days == (ln.end - ln.start).days > 0
            assert semester_label(ln.start + dt.timedelta(days=1)) == semester_label(ln.end)   # no straddling
            assert ln.amount == (ln.principal * ln.rate * ln.days / (100 * ln.divisor)).quantize(D("0.01"), "ROUND_HALF_UP")
    if s.credit > 0:
        assert s.principal_outstanding == 0 and s.interest_outstanding == 0
    for p in data[1]:
        if dt.date.fromisoformat(p["date"]) > as_of:
            assert any(p["date"] in w for w in s.warnings)


@settings(max_examples=100, deadline=None)
@given(cases(), dates, st.integers(0, 400), options)
def test_paying_everything_leaves_only_indemnities(data, pay_day, later, opts):
    invoices, payments, kw = data
    payments = [p for p in payments if p["date"] <= pay_day.isoformat()]
    before = compute_claim(build(invoices, payments, kw), pay_day, opts)
    due = before.principal_outstanding + before.interest_outstanding
    if due > 0:
        payments = payments + [{"date": pay_day.isoformat(), "amount": f"{due:.2f}"}]
    as_of = min(pay_day + dt.timedelta(days=later), LAST)
    after = compute_claim(build(invoices, payments, kw), as_of, opts)
    assert after.principal_outstanding == 0 and after.interest_outstanding == 0 and after.credit == before.credit
    assert after.total_outstanding == after.indemnities
    assert after.interest_accrued == before.interest_accrued   # nothing accrues after the last payment
    assert all(ln.end <= pay_day for ln in after.lines)


@settings(max_examples=100, deadline=None)
@given(cases(), dates, options, st.randoms(use_true_random=False))
def test_results_never_depend_on_input_order(data, as_of, opts, rnd):
    invoices, payments, kw = data
    shuffled_inv, shuffled_pay = invoices[:], payments[:]
    rnd.shuffle(shuffled_inv)
    rnd.shuffle(shuffled_pay)
    one = compute_claim(build(invoices, payments, kw), as_of, opts).to_dict()
    two = compute_claim(build(shuffled_inv, shuffled_pay, kw), as_of, opts).to_dict()
    assert one == two


@settings(max_examples=60, deadline=None)
@given(cases(), dates, dates, options)
def test_without_payments_interest_only_grows(data, a, b, opts):
    invoices, _, kw = data
    early, late = sorted((a, b))
    case = build(invoices, [], kw)
    assert compute_claim(case, early, opts).interest_accrued <= compute_claim(case, late, opts).interest_accrued
