"""Legal calendar: holidays, CPC 641/642 arithmetic, prescription, the deadlines of a case."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from law_builders import d, inv, load_fixture, make_case

from law import (
    add_months,
    case_deadlines,
    easter_sunday,
    is_working_day,
    payment_deadline,
    prescription_end,
    procedural_deadline,
    public_holidays,
    region_for_postal_code,
)


@pytest.mark.parametrize("pc,region", [
    ("57000", "alsace_moselle"), ("67000", "alsace_moselle"), ("68100", "alsace_moselle"),
    ("67 000", "alsace_moselle"), ("75001", "national"), ("56000", "national"), ("2A004", "national"),
    ("97110", "national"), (None, "national"), ("", "national"), ("670", "national"),
])
def test_region_for_postal_code(pc, region):
    assert region_for_postal_code(pc) == region


@pytest.mark.parametrize("year,easter", [(2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"),
                                         (2016, "2016-03-27"), (2000, "2000-04-23")])
def test_easter(year, easter):
    assert easter_sunday(year) == d(easter)


def test_public_holidays_2026():
    national = public_holidays(2026, "national")
    assert sorted(national) == [d(x) for x in (
        "2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25",
        "2026-07-14", "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25")]
    alsace = public_holidays(2026, "alsace_moselle")
    assert set(alsace) - set(national) == {d("2026-04-03"), d("2026-12-26")}
    assert alsace[d("2026-04-03")] == "Vendredi saint"
    national[d("2026-06-01")] = "mutating the copy"
    assert d("2026-06-01") not in public_holidays(2026, "national")


def test_working_days():
    assert is_working_day(d("2026-04-03"), "national")
    assert not is_working_day(d("2026-04-03"), "alsace_moselle")
    assert not is_working_day(d("2026-07-14"), "national")
    assert not is_working_day(d("2026-05-02"), "national")   # Saturday
    with pytest.raises(ValueError):
        is_working_day(d("2026-05-04"), "corse")  # type: ignore[arg-type]


def test_case11_prescription_never_moves_procedure_does():
    # A prescription ending Saturday 2016-04-23 ends that day; a procedural delay moves to Monday.
    assert prescription_end(d("2011-04-23"), 5) == d("2016-04-23")
    assert procedural_deadline(d("2016-03-23"), months=1, region="national") == d("2016-04-25")


@pytest.mark.parametrize("start,kw,region,expected", [
    ("2026-01-31", {"months": 1}, "national", "2026-03-02"),        # 28 Feb 2026 is a Saturday
    ("2024-01-31", {"months": 1}, "national", "2024-02-29"),        # month end, leap year
    ("2026-04-03", {"months": 1}, "national", "2026-05-04"),        # 3 May 2026 is a Sunday
    ("2026-12-11", {"days": 15}, "national", "2026-12-28"),         # day 0 excluded → Sat 26 Dec
    ("2026-03-03", {"months": 1}, "national", "2026-04-03"),        # Good Friday: working day
    ("2026-03-03", {"months": 1}, "alsace_moselle", "2026-04-07"),  # Good Fri, Sat, Sun, Easter Mon
    ("2025-11-26", {"months": 1}, "national", "2025-12-26"),
    ("2025-11-26", {"months": 1}, "alsace_moselle", "2025-12-29"),  # 26 Dec, then the weekend
    ("2026-06-14", {"months": 1}, "national", "2026-07-15"),        # 14 July
    ("2026-01-31", {"months": 1, "days": 2}, "national", "2026-03-02"),   # months first: 28 Feb + 2
])
def test_case12_cpc_641_642(start, kw, region, expected):
    assert procedural_deadline(d(start), region=region, **kw) == d(expected)


@pytest.mark.parametrize("ordonnance,expected,months", [
    ("2026-08-31", "2027-03-01", 6),   # 6 months → Sun 28 Feb 2027 → Mon 1 Mar
    ("2026-09-01", "2026-12-01", 3),   # new regime (décret 2026-96 art. 9)
    ("2026-11-30", "2027-03-01", 3),   # 28 Feb 2027 is a Sunday
])
def test_case13_ip_signification(ordonnance, expected, months):
    deadlines = case_deadlines(make_case([inv("A", "2026-01-31", "10.00")]), d("2026-09-01"),
                               ordonnance_date=d(ordonnance))
    [ip] = [x for x in deadlines if x.kind == "ip_signification"]
    assert ip.date == d(expected)
    assert f"{months} mois" in ip.basis and "2026-96" in ip.basis and ip.invoice is None


def test_prescription_end_month_end_and_validation():
    assert prescription_end(d("2024-02-29"), 1) == d("2025-02-28")
    assert prescription_end(d("2024-02-29"), 4) == d("2028-02-29")
    with pytest.raises(ValueError):
        procedural_deadline(d("2026-01-01"), days=-1, region="national")


def test_payment_deadline_uses_the_debtors_region():
    # Mise en demeure effective 2025-12-11, 15 days → Friday 26 Dec 2025.
    assert payment_deadline(d("2025-12-11"), 15, "75011") == d("2025-12-26")
    assert payment_deadline(d("2025-12-11"), 15, "67000") == d("2025-12-29")
    assert payment_deadline(d("2025-12-11"), 15, None) == d("2025-12-26")


def test_payment_deadline_takes_the_debtors_region_over_a_postcode():
    from casefiles.model import CaseFile
    from law.deadlines import debtor_region
    data = make_case([inv("A", "2026-01-31", "10.00")], postal_code="68159").model_dump(mode="json")
    data["debtor"]["address"].update(city="Mannheim", country="DE")
    mannheim = CaseFile.model_validate(data)
    region = debtor_region(mannheim)
    # 26 March 2026 + 8 days = Good Friday 3 April: a working day outside Alsace-Moselle
    assert region == "national" and payment_deadline(d("2026-03-26"), 8, region=region) == d("2026-04-03")
    assert payment_deadline(d("2026-03-26"), 8, region="alsace_moselle") == d("2026-04-07")
    with pytest.raises(ValueError):
        payment_deadline(d("2026-03-26"), -1, region=region)
    notices = case_deadlines(mannheim, d("2026-03-27"), notices=[(d("2026-03-26"), 8)])
    assert [x.date for x in notices if x.kind == "payment_deadline"] == [d("2026-04-03")]
    with pytest.raises(ValueError):
        case_deadlines(mannheim, d("2026-03-27"), notices=[(d("2026-03-26"), -1)])


def test_case_deadlines_for_the_b2b_fixture():
    case = load_fixture("case-b2b.json")   # debtor in Strasbourg (67): Alsace-Moselle holidays
    out = case_deadlines(case, d("2026-06-30"), notices=[(d("2025-11-26"), 30)], ordonnance_date=d("2026-03-03"))
    assert [(x.kind, x.date, x.invoice) for x in out] == [
        ("payment_deadline", d("2025-12-29"), None),     # 26 Dec 2025 is a holiday in Alsace-Moselle
        ("ip_signification", d("2026-09-03"), None),     # 6 months (ordonnance before 2026-09-01)
        ("prescription", d("2030-10-31"), "F-2025-0412"),  # 5 years, L110-4, from the due date
        ("prescription", d("2030-12-15"), "F-2025-0467"),
    ]
    presc = out[2]
    assert "L110-4" in presc.basis and "achèvement" in presc.basis
    assert "n'interrompt pas" in presc.description and "2240" in presc.description
    assert "expiré" in out[0].description and "expiré" not in presc.description


def test_prescription_durations_by_relationship():
    b2c = case_deadlines(load_fixture("case-b2c.json"), d("2026-06-30"))
    [p] = b2c
    assert p.date == d("2027-12-02") and "L218-2" in p.basis          # professional vs consumer: 2 years
    civil = case_deadlines(make_case([inv("A", "2025-01-31", "10.00")], creditor="individual", debtor="consumer"),
                           d("2026-01-01"))
    assert civil[0].date == d("2030-01-31") and "2224" in civil[0].basis


def test_deadlines_are_sorted_by_date():
    case = make_case([inv("B", "2025-06-30", "10.00"), inv("A", "2025-01-31", "10.00")])
    out = case_deadlines(case, d("2026-01-01"), notices=[(d("2026-03-02"), 8), (d("2026-01-05"), 15)])
    assert [x.date for x in out] == sorted(x.date for x in out)
    assert out[0].kind == "payment_deadline" and out[0].date == d("2026-01-20")


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31)),
       st.integers(0, 400), st.integers(0, 30), st.sampled_from(["national", "alsace_moselle"]))
def test_procedural_deadline_is_the_first_working_day_on_or_after_the_raw_term(start, days, months, region):
    end = procedural_deadline(start, days=days, months=months, region=region)
    assert is_working_day(end, region)
    raw = add_months(start, months) + dt.timedelta(days=days)
    assert raw <= end and all(not is_working_day(raw + dt.timedelta(n), region) for n in range((end - raw).days))
    assert (end - raw).days <= 5   # at most a long weekend plus Alsace's Good Friday / 26 Dec


def test_deadline_helpers_are_reachable_from_law_calendar():
    from law import calendar
    assert calendar.case_deadlines is case_deadlines and calendar.payment_deadline is payment_deadline
    out = case_deadlines(make_case([inv("A", "2025-01-31", "10.00")]), d("2025-02-01"))
    assert out[0].to_dict() == {"kind": "prescription", "date": "2030-01-31", "basis": out[0].basis,
                                "description": out[0].description, "invoice": "A"}
    with pytest.raises(AttributeError):
        calendar.no_such_name  # noqa: B018
