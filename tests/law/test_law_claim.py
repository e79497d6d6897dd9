"""compute_claim: regimes, rates, segments, imputation, indemnities, warnings, fixtures."""
import datetime as dt
from decimal import Decimal as D

import pytest
from law_builders import d, inv, load_fixture, make_case, pay

from law import ClaimOptions, MissingRateError, compute_claim, load_rate_book


def lines_of(st, invoice=None):
    return [(ln.start, ln.end, ln.days, ln.principal, ln.rate, ln.amount)
            for ln in st.lines if invoice is None or ln.invoice == invoice]


def assert_consistent(st):
    assert st.interest_accrued == sum((ln.amount for ln in st.lines), D(0))
    assert st.indemnities == sum((ln.amount for ln in st.indemnity_lines), D(0))
    assert st.interest_outstanding == st.interest_accrued - st.interest_paid
    assert st.total_outstanding == st.principal_outstanding + st.interest_outstanding + st.indemnities
    assert st.paid == (st.principal - st.principal_outstanding) + st.interest_paid + st.credit


# --- The example case files ------------------------------------------------------------------

def test_b2b_fixture_hand_computed_as_of_2026_06_30():
    st = compute_claim(load_fixture("case-b2b.json"), d("2026-06-30"))
    assert st.regime == "commercial"
    # Rates: 2025-S2 = MRO 2.15 on 1 Jul 2025 + 10 = 12.15 ; 2026-S1 = MRO 2.15 on 1 Jan 2026 + 10 = 12.15.
    # F-2025-0412 (4 800.00, due 2025-10-31), 1 500.00 paid 2026-01-20 and designated:
    #   (2025-10-31, 2025-12-31]  61 d × 4 800.00 × 12.15 / 36 500 = 97.4663 → 97.47
    #   (2025-12-31, 2026-01-20]  20 d × 4 800.00 × 12.15 / 36 500 = 31.9562 → 31.96
    #   payment: interest first 97.47 + 31.96 = 129.43, principal 1 500 − 129.43 = 1 370.57 → 3 429.43 left
    #   (2026-01-20, 2026-06-30] 161 d × 3 429.43 × 12.15 / 36 500 = 183.7940 → 183.79
    assert lines_of(st, "F-2025-0412") == [
        (d("2025-10-31"), d("2025-12-31"), 61, D("4800.00"), D("12.15"), D("97.47")),
        (d("2025-12-31"), d("2026-01-20"), 20, D("4800.00"), D("12.15"), D("31.96")),
        (d("2026-01-20"), d("2026-06-30"), 161, D("3429.43"), D("12.15"), D("183.79")),
    ]
    # F-2025-0467 (2 350.40, due 2025-12-15), nothing paid:
    #   (2025-12-15, 2025-12-31]  16 d × 2 350.40 × 12.15 / 36 500 = 12.5183 → 12.52
    #   (2025-12-31, 2026-06-30] 181 d × 2 350.40 × 12.15 / 36 500 = 141.6132 → 141.61
    assert lines_of(st, "F-2025-0467") == [
        (d("2025-12-15"), d("2025-12-31"), 16, D("2350.40"), D("12.15"), D("12.52")),
        (d("2025-12-31"), d("2026-06-30"), 181, D("2350.40"), D("12.15"), D("141.61")),
    ]
    [imp] = st.imputations
    assert (imp.invoice, imp.to_interest, imp.to_principal, imp.designated) == ("F-2025-0412", D("129.43"), D("1370.57"), True)
    # Both invoices were unpaid at the end of their due date: 2 × 40 € (D441-5).
    assert [(ln.invoice, ln.amount) for ln in st.indemnity_lines] == [("F-2025-0412", D("40.00")), ("F-2025-0467", D("40.00"))]
    # Totals: principal 4 800.00 + 2 350.40 = 7 150.40 ; outstanding 3 429.43 + 2 350.40 = 5 779.83
    # interest 97.47 + 31.96 + 183.79 + 12.52 + 141.61 = 467.35, paid 129.43, outstanding 337.92
    # total 5 779.83 + 337.92 + 80.00 = 6 197.75
    assert (st.principal, st.paid, st.principal_outstanding) == (D("7150.40"), D("1500.00"), D("5779.83"))
    assert (st.interest_accrued, st.interest_paid, st.interest_outstanding) == (D("467.35"), D("129.43"), D("337.92"))
    assert (st.indemnities, st.credit, st.total_outstanding) == (D("80.00"), D("0.00"), D("6197.75"))
    assert st.lines[0].basis == "taux BCE 2,15 % au 1er juillet 2025 + 10 points"
    assert st.lines[1].basis == "taux BCE 2,15 % au 1er janvier 2026 + 10 points"
    assert all(ln.verified for ln in st.lines) and st.warnings == ()
    assert_consistent(st)
    assert st.to_dict()["total_outstanding"] == "6197.75"


def test_b2c_fixture_civil_from_the_formal_notice():
    case = load_fixture("case-b2c.json")
    st = compute_claim(case, d("2026-06-30"))
    assert st.regime == "civil" and st.indemnities == D("0.00") and st.indemnity_lines == ()
    # Creditor is a company → "autres cas" (2.62 % in 2026-S1), from the notice of 2026-03-02:
    # 120 d × 645.90 × 2.62 / 36 500 = 5.5636 → 5.56
    assert lines_of(st) == [(d("2026-03-02"), d("2026-06-30"), 120, D("645.90"), D("2.62"), D("5.56"))]
    assert st.lines[0].basis == "taux légal 2026-S1, autres cas"
    assert st.invoices[0].interest_start == d("2026-03-02")
    assert st.total_outstanding == D("651.46")


def test_b2c_fixture_into_unverified_2026_s2_warns():
    st = compute_claim(load_fixture("case-b2c.json"), d("2026-09-30"))
    # 92 d × 645.90 × 2.75 / 36 500 = 4.4770 → 4.48, on the unconfirmed 2026-S2 row.
    assert lines_of(st)[1] == (d("2026-06-30"), d("2026-09-30"), 92, D("645.90"), D("2.75"), D("4.48"))
    assert st.lines[1].verified is False
    [warning] = st.warnings
    assert "2026-S2" in warning and "NON CONFIRMÉ" in warning


# --- Rates and segments --------------------------------------------------------------------------

def test_case5_due_2024_06_20_paid_2024_07_10():
    # 10 days at 14.50 % (2024-S1) and 10 days at 14.25 % (2024-S2):
    #   10 000 × 14.50 × 10 / 36 500 = 39.726 → 39.73 ; 10 000 × 14.25 × 10 / 36 500 = 39.041 → 39.04
    # The debtor pays principal + interest = 10 078.77 on 2024-07-10: nothing left but the 40 € indemnity.
    case = make_case([inv("A", "2024-06-20", "10000.00")], [pay("2024-07-10", "10078.77", "A")])
    st = compute_claim(case, d("2024-12-31"))
    assert lines_of(st) == [
        (d("2024-06-20"), d("2024-06-30"), 10, D("10000.00"), D("14.50"), D("39.73")),
        (d("2024-06-30"), d("2024-07-10"), 10, D("10000.00"), D("14.25"), D("39.04")),
    ]
    assert (st.principal_outstanding, st.interest_outstanding, st.credit) == (D("0.00"), D("0.00"), D("0.00"))
    assert st.total_outstanding == D("40.00")


def test_2022_s2_frozen_at_10_percent_despite_the_july_hike():
    st = compute_claim(make_case([inv("A", "2022-06-30", "10000.00")]), d("2022-12-31"))
    # 184 d × 10 000 × 10.00 / 36 500 = 504.109 → 504.11, one segment for the whole semester.
    assert lines_of(st) == [(d("2022-06-30"), d("2022-12-31"), 184, D("10000.00"), D("10.00"), D("504.11"))]
    assert st.lines[0].basis == "taux BCE 0,00 % au 1er juillet 2022 + 10 points"


def test_before_2013_rate_follows_each_ecb_operation():
    st = compute_claim(make_case([inv("A", "2011-06-30", "10000.00")]), d("2011-12-31"))
    assert [(ln.end, ln.days, ln.rate) for ln in st.lines] == [
        (d("2011-07-12"), 12, D("11.25")), (d("2011-11-08"), 119, D("11.50")),
        (d("2011-12-13"), 35, D("11.25")), (d("2011-12-31"), 18, D("11.00"))]


def test_semester_splits_over_several_years():
    st = compute_claim(make_case([inv("A", "2023-03-15", "1000.00")]), d("2024-08-01"))
    assert [(ln.start, ln.end, ln.rate) for ln in st.lines] == [
        (d("2023-03-15"), d("2023-06-30"), D("12.50")), (d("2023-06-30"), d("2023-12-31"), D("14.00")),
        (d("2023-12-31"), d("2024-06-30"), D("14.50")), (d("2024-06-30"), d("2024-08-01"), D("14.25"))]
    assert sum(ln.days for ln in st.lines) == (d("2024-08-01") - d("2023-03-15")).days


def test_leap_year_actual_actual_vs_actual_365():
    case = make_case([inv("A", "2023-12-01", "10000.00")])
    a365 = compute_claim(case, d("2024-01-31"))
    aact = compute_claim(case, d("2024-01-31"), ClaimOptions(day_count="actual_actual"))
    # 2023 part, 30 d at 14.00 %: 10 000 × 14 × 30 / 36 500 = 115.068 → 115.07 under both conventions.
    # 2024 part, 31 d at 14.50 %: /36 500 → 123.151 → 123.15 ; /36 600 → 122.814 → 122.81.
    assert [(ln.divisor, ln.amount) for ln in a365.lines] == [(365, D("115.07")), (365, D("123.15"))]
    assert [(ln.divisor, ln.amount) for ln in aact.lines] == [(365, D("115.07")), (366, D("122.81"))]
    assert "actual_actual" in aact.conventions["Décompte des jours"]


# --- Payments and imputation --------------------------------------------------------------------

def test_payment_on_the_due_date_means_no_interest_and_no_indemnity():
    st = compute_claim(make_case([inv("A", "2025-03-31", "1000.00")], [pay("2025-03-31", "1000.00")]),
                       d("2025-12-31"))
    assert st.lines == () and st.indemnity_lines == () and st.total_outstanding == D("0.00")
    assert st.invoices[0].principal_paid == D("1000.00")


def test_early_payments_before_the_due_date():
    full = compute_claim(make_case([inv("A", "2025-03-31", "1000.00")], [pay("2025-02-01", "1000.00", "A")]),
                         d("2025-12-31"))
    assert full.lines == () and full.total_outstanding == D("0.00")
    part = compute_claim(make_case([inv("A", "2025-03-31", "1000.00")], [pay("2025-02-01", "400.00", "A")]),
                         d("2025-04-30"))
    # 600 left from the day after the due date: 30 d × 600 × 13.15 / 36 500 = 6.484 → 6.48 ; indemnity due.
    assert lines_of(part) == [(d("2025-03-31"), d("2025-04-30"), 30, D("600.00"), D("13.15"), D("6.48"))]
    assert part.indemnities == D("40.00")
    assert part.imputations[0].to_interest == D("0.00")


def test_partial_payment_on_the_due_date_still_owes_the_indemnity():
    st = compute_claim(make_case([inv("A", "2025-03-31", "1000.00")], [pay("2025-03-31", "999.99")]), d("2025-04-01"))
    assert st.indemnities == D("40.00")


def test_not_yet_due_means_no_indemnity():
    st = compute_claim(make_case([inv("A", "2025-03-31", "1000.00")]), d("2025-03-31"))
    assert st.lines == () and st.indemnities == D("0.00") and st.total_outstanding == D("1000.00")


def test_overpayment_becomes_credit_not_imputed_on_indemnities():
    case = make_case([inv("A", "2025-01-31", "1000.00")], [pay("2025-03-03", "1200.00", "A")])
    st = compute_claim(case, d("2025-06-30"))
    # 31 d × 1 000 × 13.15 / 36 500 = 11.168 → 11.17 of interest, then 1 000 of principal; 188.83 credit.
    assert [(i.invoice, i.to_interest, i.to_principal, i.to_credit) for i in st.imputations] == [
        ("A", D("11.17"), D("1000.00"), D("0.00")), (None, D("0.00"), D("0.00"), D("188.83"))]
    assert st.credit == D("188.83")
    assert st.indemnities == D("40.00") and st.total_outstanding == D("40.00")
    assert_consistent(st)


def test_undesignated_payment_goes_to_the_oldest_due_invoice_first():
    case = make_case([inv("A", "2025-01-31", "1000.00"), inv("B", "2025-02-28", "2000.00"),
                      inv("C", "2025-01-15", "500.00")], [pay("2025-03-31", "1000.00")])
    st = compute_claim(case, d("2025-06-30"))
    # C (due 15 Jan): 75 d × 500 × 13.15 / 36 500 = 13.510 → 13.51 interest + 500 principal = 513.51
    # A (due 31 Jan): 59 d × 1 000 × 13.15 / 36 500 = 21.256 → 21.26 interest, 486.49 − 21.26 = 465.23 principal
    assert [(i.invoice, i.to_interest, i.to_principal, i.designated) for i in st.imputations] == [
        ("C", D("13.51"), D("500.00"), False), ("A", D("21.26"), D("465.23"), False)]
    by_number = {b.number: b for b in st.invoices}
    assert by_number["A"].principal_outstanding == D("534.77")
    assert by_number["B"].principal_outstanding == D("2000.00")
    # A after the payment: 91 d × 534.77 × 13.15 / 36 500 = 17.532 → 17.53.
    assert lines_of(st, "A")[-1] == (d("2025-03-31"), d("2025-06-30"), 91, D("534.77"), D("13.15"), D("17.53"))
    # B was never touched: its accrual is cut only at the semester end.
    assert [ln.end for ln in st.lines if ln.invoice == "B"] == [d("2025-06-30")]
    assert [b.number for b in st.invoices] == ["C", "A", "B"]          # imputation order
    assert [ln.invoice for ln in st.lines] == ["A", "A", "B", "C"]     # lines: by invoice number, then date
    assert_consistent(st)


def test_same_due_date_goes_by_invoice_number():
    case = make_case([inv("F-2", "2025-01-31", "100.00"), inv("F-1", "2025-01-31", "100.00")],
                     [pay("2025-01-31", "150.00")])
    st = compute_claim(case, d("2025-01-31"))
    assert [(i.invoice, i.to_principal) for i in st.imputations] == [("F-1", D("100.00")), ("F-2", D("50.00"))]


def test_designated_excess_flows_to_the_other_invoices_by_due_date():
    case = make_case([inv("A", "2025-01-31", "1000.00"), inv("B", "2025-02-28", "500.00")],
                     [pay("2025-02-28", "800.00", "B")])
    st = compute_claim(case, d("2025-02-28"))
    # B is not late yet on its due date: 500 principal. The 300 left goes to A:
    # 28 d × 1 000 × 13.15 / 36 500 = 10.088 → 10.09 interest, then 289.91 principal.
    assert [(i.invoice, i.to_interest, i.to_principal, i.designated) for i in st.imputations] == [
        ("B", D("0.00"), D("500.00"), True), ("A", D("10.09"), D("289.91"), False)]
    assert st.indemnities == D("40.00")   # only A was late


def test_principal_first_leaves_the_interest_outstanding():
    case = make_case([inv("A", "2025-01-31", "1000.00")], [pay("2025-03-03", "500.00")])
    st = compute_claim(case, d("2025-03-03"), ClaimOptions(imputation="principal_first"))
    assert [(i.to_interest, i.to_principal) for i in st.imputations] == [(D("0.00"), D("500.00"))]
    assert st.interest_outstanding == D("11.17")
    st2 = compute_claim(case, d("2025-03-03"))
    assert [(i.to_interest, i.to_principal) for i in st2.imputations] == [(D("11.17"), D("488.83"))]
    assert "1343-1" in st2.conventions["Imputation des paiements"]


def test_principal_first_pays_interest_with_what_remains():
    case = make_case([inv("A", "2025-01-31", "1000.00")], [pay("2025-03-03", "1011.17")])
    st = compute_claim(case, d("2025-06-30"), ClaimOptions(imputation="principal_first"))
    # Two steps of the same payment: the principal, then the interest with what remains.
    assert [(i.to_interest, i.to_principal) for i in st.imputations] == [
        (D("0.00"), D("1000.00")), (D("11.17"), D("0.00"))]
    assert st.total_outstanding == D("40.00") and st.credit == D("0.00")


def test_principal_first_pays_every_principal_before_any_interest():
    invoices = [inv("A", "2025-01-31", "1000.00"), inv("B", "2025-02-28", "1000.00")]
    case = make_case(invoices, [pay("2025-03-31", "1500.00")])
    st = compute_claim(case, d("2025-03-31"), ClaimOptions(imputation="principal_first"))
    # Principal only, oldest due date first: A's 1 000, then 500 of B's; A's interest stays due.
    assert [(i.invoice, i.to_interest, i.to_principal) for i in st.imputations] == [
        ("A", D("0.00"), D("1000.00")), ("B", D("0.00"), D("500.00"))]
    assert {b.number: b.principal_outstanding for b in st.invoices} == {"A": D("0.00"), "B": D("500.00")}
    # A: 59 d × 1 000 × 13.15 / 36 500 = 21.256 → 21.26; B: 31 d × 1 000 × 13.15 / 36 500 = 11.168 → 11.17.
    assert st.interest_outstanding == D("32.43") and st.credit == D("0.00")
    # What is left once every principal is paid settles interest, oldest invoice first, then credit.
    more = make_case(invoices, [pay("2025-03-31", "2025.00")])
    st2 = compute_claim(more, d("2025-03-31"), ClaimOptions(imputation="principal_first"))
    assert [(i.invoice, i.to_interest, i.to_principal) for i in st2.imputations] == [
        ("A", D("0.00"), D("1000.00")), ("B", D("0.00"), D("1000.00")),
        ("A", D("21.26"), D("0.00")), ("B", D("3.74"), D("0.00"))]
    assert st2.interest_outstanding == D("7.43") and st2.credit == D("0.00")
    assert_consistent(st2)


def test_payment_day_accrues_on_the_old_principal():
    case = make_case([inv("A", "2025-01-31", "1000.00")], [pay("2025-02-10", "500.00")])
    st = compute_claim(case, d("2025-02-20"))
    assert [(ln.end, ln.days, ln.principal) for ln in st.lines] == [
        (d("2025-02-10"), 10, D("1000.00")), (d("2025-02-20"), 10, D("503.60"))]


def test_payments_after_as_of_are_ignored_with_a_warning():
    case = make_case([inv("A", "2025-01-31", "1000.00")], [pay("2025-07-01", "1000.00")])
    st = compute_claim(case, d("2025-06-30"))
    assert st.paid == D("0.00") and st.imputations == () and st.principal_outstanding == D("1000.00")
    assert any("2025-07-01" in w and "non pris en compte" in w for w in st.warnings)


def test_results_do_not_depend_on_input_order():
    invoices = [inv("A", "2025-01-31", "1000.00"), inv("B", "2025-02-28", "2000.00"), inv("C", "2025-01-15", "500.00")]
    payments = [pay("2025-03-31", "700.00"), pay("2025-03-31", "300.00", "B"), pay("2025-02-15", "100.00")]
    one = compute_claim(make_case(invoices, payments), d("2025-06-30")).to_dict()
    two = compute_claim(make_case(invoices[::-1], payments[::-1]), d("2025-06-30")).to_dict()
    assert one == two


# --- Regimes, bases and indemnities ---------------------------------------------------------------

def test_case8_indemnity_per_late_invoice_and_none_for_a_consumer():
    invoices = [inv("A", "2025-01-31", "100.00"), inv("B", "2025-02-28", "100.00"), inv("C", "2025-03-31", "100.00")]
    b2b = compute_claim(make_case(invoices), d("2025-06-30"))
    assert b2b.indemnities == D("120.00") and len(b2b.indemnity_lines) == 3
    assert b2b.indemnity_lines[0].basis == "C. com. L441-10 II, D441-5"
    b2c = compute_claim(make_case(invoices, debtor="consumer", notice="2025-04-15"), d("2025-06-30"))
    assert b2c.regime == "civil" and b2c.indemnities == D("0.00") and b2c.indemnity_lines == ()


def test_no_indemnity_for_invoices_due_before_2013():
    st = compute_claim(make_case([inv("A", "2012-12-31", "100.00")]), d("2013-01-31"))
    assert st.indemnities == D("0.00")


def test_civil_without_notice_has_no_interest_and_warns():
    st = compute_claim(make_case([inv("A", "2025-01-31", "1000.00")], debtor="consumer"), d("2025-12-31"))
    assert st.regime == "civil" and st.lines == () and st.interest_accrued == D("0.00")
    assert st.invoices[0].interest_start is None
    assert any("mise en demeure" in w for w in st.warnings)
    assert st.total_outstanding == D("1000.00")
    not_due = compute_claim(make_case([inv("A", "2025-01-31", "1000.00")], debtor="consumer"), d("2025-01-31"))
    assert not_due.warnings == ()


def test_payment_naming_an_unknown_invoice_is_refused():
    with pytest.raises(ValueError, match="unknown invoice"):
        compute_claim(make_case([inv("A", "2025-01-31", "1000.00")], [pay("2025-02-01", "10.00", "Z")]),
                      d("2025-06-30"))


def test_to_dict_shows_the_credit_part_of_each_payment():
    st = compute_claim(make_case([inv("A", "2025-01-31", "100.00")], [pay("2025-01-31", "150.00")]), d("2025-02-01"))
    assert st.to_dict()["imputations"][-1] == {
        "payment_date": "2025-01-31", "payment_amount": "150.00", "invoice": None, "to_interest": "0.00",
        "to_principal": "0.00", "to_credit": "50.00", "designated": False}


def test_civil_individual_creditor_gets_the_particulier_rate():
    # A natural person's claim against a company is not commercial: taux légal, creditor category.
    case = make_case([inv("A", "2026-01-15", "1000.00")], creditor="individual", notice="2026-02-01")
    st = compute_claim(case, d("2026-03-03"))
    # 30 d × 1 000 × 6.67 / 36 500 = 5.482 → 5.48
    assert lines_of(st) == [(d("2026-02-01"), d("2026-03-03"), 30, D("1000.00"), D("6.67"), D("5.48"))]
    assert st.lines[0].basis == "taux légal 2026-S1, créancier personne physique"


def test_civil_notice_before_the_due_date_runs_from_the_due_date():
    case = make_case([inv("A", "2026-03-01", "1000.00")], debtor="consumer", notice="2026-02-01")
    st = compute_claim(case, d("2026-03-31"))
    assert st.lines[0].start == d("2026-03-01") and st.lines[0].days == 30


def test_pre_2015_civil_claims_use_the_annual_rate():
    case = make_case([inv("A", "2014-01-31", "100000.00")], debtor="consumer", notice="2014-02-28")
    st = compute_claim(case, d("2014-12-31"))
    assert [(ln.rate, ln.basis) for ln in st.lines] == [(D("0.04"), "taux légal 2014 (taux annuel unique)")] * 2


def test_contract_rate_keeps_the_regime_start_rule():
    li = {"basis": "contract", "annual_rate": "15"}
    b2b = compute_claim(make_case([inv("A", "2025-01-31", "1000.00")], late_interest=li, contract="CGV-2024"),
                        d("2025-03-02"))
    # 30 d × 1 000 × 15 / 36 500 = 12.329 → 12.33, from the day after the due date.
    assert lines_of(b2b) == [(d("2025-01-31"), d("2025-03-02"), 30, D("1000.00"), D("15"), D("12.33"))]
    assert b2b.lines[0].basis == "taux contractuel 15,00 % l'an" and "CGV-2024" in b2b.lines[0].rate_source
    civil = compute_claim(make_case([inv("A", "2025-01-31", "1000.00")], debtor="consumer", late_interest=li),
                          d("2025-03-02"))
    assert civil.lines == () and civil.warnings


def test_basis_none_disables_interest_but_not_the_indemnity():
    st = compute_claim(make_case([inv("A", "2025-01-31", "1000.00")], late_interest={"basis": "none"}),
                       d("2025-06-30"))
    assert st.lines == () and st.indemnities == D("40.00") and st.total_outstanding == D("1040.00")
    assert "none" in st.conventions["Taux"]


def test_forced_bases():
    ecb_civil = compute_claim(make_case([inv("A", "2026-01-15", "1000.00")], debtor="consumer", notice="2026-02-01",
                                        late_interest={"basis": "ecb_plus_10"}), d("2026-03-03"))
    assert [ln.rate for ln in ecb_civil.lines] == [D("12.15")] and ecb_civil.indemnities == D("0.00")
    legal_b2b = compute_claim(make_case([inv("A", "2026-01-15", "1000.00")], late_interest={"basis": "legal_rate"}),
                              d("2026-02-14"))
    assert [(ln.start, ln.rate) for ln in legal_b2b.lines] == [(d("2026-01-15"), D("2.62"))]
    assert "imposé" in legal_b2b.conventions["Taux"]


def test_missing_rate_raises_with_semester_and_basis():
    with pytest.raises(MissingRateError) as exc:
        compute_claim(make_case([inv("A", "2026-10-31", "1000.00")]), d("2027-01-15"))
    assert (exc.value.semester, exc.value.basis) == ("2027-S1", "BCE + 10 points")
    with pytest.raises(MissingRateError) as exc:
        compute_claim(make_case([inv("A", "2026-10-31", "1000.00")], debtor="consumer", notice="2026-11-02"),
                      d("2027-01-15"))
    assert (exc.value.semester, exc.value.basis) == ("2027-S1", "taux légal (autres cas)")


def test_no_rate_needed_once_the_principal_is_paid():
    case = make_case([inv("A", "2026-10-31", "1000.00")], [pay("2026-11-30", "1010.19")])
    st = compute_claim(case, d("2027-03-31"))   # nothing accrues in 2027-S1, so no rate is needed
    assert st.principal_outstanding == D("0.00")


def test_unverified_rate_row_warns_with_semester_and_source():
    st = compute_claim(make_case([inv("A", "2026-06-30", "1000.00")]), d("2026-07-31"))
    assert [(ln.rate, ln.verified) for ln in st.lines] == [(D("12.40"), False)]
    [warning] = st.warnings
    assert "2026-S2" in warning and "NON CONFIRMÉ" in warning


def test_overlay_rate_book_is_used(tmp_path):
    (tmp_path / "ecb_mro.csv").write_text("effective_date,mro,source,verified\n2027-01-01,2.00,ECB,true\n")
    st = compute_claim(make_case([inv("A", "2026-12-31", "1000.00")]), d("2027-01-31"), rates=load_rate_book(tmp_path))
    assert [(ln.rate, ln.verified) for ln in st.lines] == [(D("12.00"), True)] and st.warnings == ()


def test_invalid_options_are_refused():
    case = make_case([inv("A", "2025-01-31", "1000.00")])
    with pytest.raises(ValueError):
        compute_claim(case, d("2025-06-30"), ClaimOptions(imputation="pro_rata"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compute_claim(case, d("2025-06-30"), ClaimOptions(day_count="30_360"))  # type: ignore[arg-type]


def test_conventions_are_printed():
    st = compute_claim(make_case([inv("A", "2025-01-31", "1000.00")]), d("2025-06-30"))
    for key in ("Régime", "Taux", "Point de départ des intérêts", "Période d'intérêts", "Segments",
                "Décompte des jours", "Arrondi", "Imputation des paiements", "Paiements non affectés",
                "Excédent d'un paiement affecté", "Trop-perçu", "Ordre des paiements", "Indemnité forfaitaire",
                "Ordre des lignes"):
        assert st.conventions[key], key
    assert len(st.conventions) == 14
    assert isinstance(st.as_of, dt.date)
