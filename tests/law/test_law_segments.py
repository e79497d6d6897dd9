"""The per-segment arithmetic against the official worked examples (reference §13, cases 1, 2, 7)."""
from decimal import Decimal as D

import pytest
from law_builders import d

from law import accrual_segments, interest_amount


def test_case1_f20688_simple_interest_30_days():
    # 2 000 € × 30 days × 3.11 % / 36 500 = 5.1123 → 5.11 € (service-public counts 1 and 30 Sept).
    assert interest_amount(D("2000.00"), D("3.11"), 30) == D("5.11")
    # Our accrual is half-open (start < D ≤ end): starting the day before the judgment gives those 30 days.
    [seg] = accrual_segments(d("2020-08-31"), d("2020-09-30"))
    assert (seg.days, seg.divisor) == (30, 365)
    # Counting from the judgment day itself would give 29 days → 4.94 €.
    assert interest_amount(D("2000.00"), D("3.11"), 29) == D("4.94")


def test_case2_f20688_majored_interest_per_segment_rounding():
    # Signified 2015-09-17; simple rate up to 2015-11-17, then +5 points; payment 2016-04-10,
    # the payment day itself excluded, i.e. accrual (2015-09-17, 2016-04-09]. Base 36 500 in 2016 too.
    segs = accrual_segments(d("2015-09-17"), d("2016-04-09"), breaks=[d("2015-11-17")])
    assert [(s.start, s.end, s.days) for s in segs] == [
        (d("2015-09-17"), d("2015-11-17"), 61),
        (d("2015-11-17"), d("2015-12-31"), 44),
        (d("2015-12-31"), d("2016-04-09"), 100),
    ]
    rates = [D("4.29"), D("9.29"), D("9.54")]
    amounts = [interest_amount(D("2000.00"), r, s.days, s.divisor) for r, s in zip(rates, segs, strict=True)]
    # 14.339 → 14.34 ; 22.398 → 22.40 ; 52.274 → 52.27 ; sum of rounded segments = 89.01.
    assert amounts == [D("14.34"), D("22.40"), D("52.27")]
    assert sum(amounts) == D("89.01")
    assert D("2000.00") + sum(amounts) == D("2089.01")


def test_case2_with_actual_actual_uses_366_in_2016():
    segs = accrual_segments(d("2015-09-17"), d("2016-04-09"), day_count="actual_actual", breaks=[d("2015-11-17")])
    assert [s.divisor for s in segs] == [365, 365, 366]
    # 2 000 × 9.54 × 100 / 36 600 = 52.131 → 52.13 (instead of 52.27 with 36 500).
    assert interest_amount(D("2000.00"), D("9.54"), 100, segs[2].divisor) == D("52.13")


def test_case7_blog_example_36500_even_in_2000():
    # condat.blogspot 2005: 60 d at 2.74 %, 305 d at 7.74 %, 100 d at 9.26 %, all on 36 500.
    parts = [interest_amount(D("2000"), D("2.74"), 60), interest_amount(D("2000"), D("7.74"), 305),
             interest_amount(D("2000"), D("9.26"), 100)]
    assert parts == [D("9.01"), D("129.35"), D("50.74")]
    assert sum(parts) == D("189.10")


def test_segments_split_at_semester_and_year_ends():
    segs = accrual_segments(d("2023-05-15"), d("2024-02-10"))
    assert [(s.start, s.end) for s in segs] == [
        (d("2023-05-15"), d("2023-06-30")), (d("2023-06-30"), d("2023-12-31")), (d("2023-12-31"), d("2024-02-10"))]
    assert sum(s.days for s in segs) == (d("2024-02-10") - d("2023-05-15")).days


def test_break_day_belongs_to_the_earlier_segment():
    segs = accrual_segments(d("2025-01-10"), d("2025-01-20"), breaks=[d("2025-01-15"), d("2025-01-20"), d("2024-12-01")])
    assert [(s.start, s.end, s.days) for s in segs] == [
        (d("2025-01-10"), d("2025-01-15"), 5), (d("2025-01-15"), d("2025-01-20"), 5)]


def test_empty_and_invalid_inputs():
    assert accrual_segments(d("2025-01-10"), d("2025-01-10")) == []
    assert accrual_segments(d("2025-01-10"), d("2025-01-01")) == []
    with pytest.raises(ValueError):
        interest_amount(D("1"), D("1"), -1)
    with pytest.raises(ValueError):
        accrual_segments(d("2025-01-01"), d("2025-02-01"), day_count="30_360")  # type: ignore[arg-type]


def test_rounding_is_half_up():
    # 100 × 3.65 × 5 / 36 500 = 0.05 exactly; 100 × 1.825 × 5 / 36 500 = 0.025 → 0.03 (not banker's 0.02).
    assert interest_amount(D("100"), D("1.825"), 5) == D("0.03")
