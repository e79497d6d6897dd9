"""The rate book: packaged data, derived L441-10 rates, the operator overlay and add_rate."""
import csv
from decimal import Decimal as D

import pytest
from law_builders import d

from law import (
    MissingRateError,
    add_rate,
    applicable_rate,
    legal_constant,
    legal_constants,
    list_rates,
    load_rate_book,
)
from law._data import DATA_DIR


@pytest.fixture(scope="module")
def book():
    return load_rate_book()


def test_every_data_row_cites_a_source_and_a_verified_flag():
    for name in ("taux_legal.csv", "taux_legal_annual.csv", "ecb_mro.csv", "constants.csv"):
        with (DATA_DIR / name).open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert rows, name
        for row in rows:
            assert row["source"].strip(), (name, row)
            assert row["verified"] in ("true", "false"), (name, row)


def test_only_the_unconfirmed_rows_are_unverified(book):
    unverified = [(r["kind"], r["period"]) for r in list_rates(book) if not r["verified"]]
    assert sorted(unverified) == [("ecb_mro", "2026-07-01"), ("taux_legal", "2026-S2")]
    assert book.taux_legal["2026-S2"].particulier == D("6.84")
    assert book.taux_legal["2026-S2"].autres == D("2.75")


@pytest.mark.parametrize("semester,particulier,autres", [
    ("2015-S1", "4.06", "0.93"), ("2020-S2", "3.11", "0.84"), ("2023-S2", "6.82", "4.22"),
    ("2024-S1", "8.01", "5.07"), ("2025-S2", "6.65", "2.76"), ("2026-S1", "6.67", "2.62"),
])
def test_taux_legal_values(book, semester, particulier, autres):
    row = book.taux_legal[semester]
    assert (row.particulier, row.autres, row.verified) == (D(particulier), D(autres), True)


@pytest.mark.parametrize("semester,floor", [
    ("2026-S1", "7.86"), ("2025-S2", "8.28"), ("2024-S1", "15.21"), ("2024-S2", "14.76"), ("2022-S2", "2.31"),
])
def test_case4_published_floors_match_three_times_autres(book, semester, floor):
    # Cross-check of the data against independently published L441-10 floors (3 × taux légal).
    assert 3 * book.taux_legal[semester].autres == D(floor)


@pytest.mark.parametrize("year,floor", [(2012, "2.13"), (2014, "0.12")])
def test_case4_pre_2015_floors(book, year, floor):
    assert 3 * book.taux_legal_annual[year].rate == D(floor)


@pytest.mark.parametrize("day,rate,mro_date", [
    ("2023-01-15", "12.50", "1er janvier 2023"),
    ("2023-12-31", "14.00", "1er juillet 2023"),
    ("2024-06-21", "14.50", "1er janvier 2024"),   # the 12 June 2024 cut does not affect S1
    ("2024-07-01", "14.25", "1er juillet 2024"),
    ("2022-12-31", "10.00", "1er juillet 2022"),   # frozen despite the 27 July 2022 hike
    ("2025-03-01", "13.15", "1er janvier 2025"),
    ("2025-09-01", "12.15", "1er juillet 2025"),
    ("2026-06-30", "12.15", "1er janvier 2026"),
    ("2014-07-01", "10.15", "1er juillet 2014"),
])
def test_case5_l441_10_rate_by_semester(book, day, rate, mro_date):
    period = applicable_rate(book, d(day))
    assert period.rate == D(rate)
    assert mro_date in period.basis and period.basis.endswith("+ 10 points")
    assert period.verified


def test_before_2013_the_most_recent_operation_applies(book):
    # 2011-S2: MRO 1.25 until 12 July, 1.50 from the 13 July 2011 operation.
    before, after = applicable_rate(book, d("2011-07-12")), applicable_rate(book, d("2011-07-13"))
    assert (before.rate, before.first, before.last) == (D("11.25"), d("2011-07-01"), d("2011-07-12"))
    assert (after.rate, after.first, after.last) == (D("11.50"), d("2011-07-13"), d("2011-11-08"))


def test_legal_rate_categories_and_annual_rates(book):
    assert applicable_rate(book, d("2026-02-01"), basis="legal_rate").rate == D("2.62")
    p = applicable_rate(book, d("2026-02-01"), basis="legal_rate", category="particulier")
    assert p.rate == D("6.67") and "créancier personne physique" in p.basis
    old = applicable_rate(book, d("2012-05-01"), basis="legal_rate", category="particulier")
    assert old.rate == D("0.71") and "2012" in old.basis


def test_missing_rates(book):
    with pytest.raises(MissingRateError) as exc:
        applicable_rate(book, d("2027-01-01"))
    assert (exc.value.semester, exc.value.basis) == ("2027-S1", "BCE + 10 points")
    with pytest.raises(MissingRateError) as exc:
        applicable_rate(book, d("2027-03-01"), basis="legal_rate")
    assert (exc.value.semester, exc.value.basis) == ("2027-S1", "taux légal (autres cas)")
    with pytest.raises(MissingRateError) as exc:
        applicable_rate(book, d("2027-03-01"), basis="legal_rate", category="particulier")
    assert exc.value.basis == "taux légal (créancier personne physique)"
    with pytest.raises(MissingRateError) as exc:   # BCE + 10 only from 2009 (LME)
        applicable_rate(book, d("2008-11-01"))
    assert exc.value.semester == "2008-S2"
    with pytest.raises(MissingRateError):
        applicable_rate(book, d("2005-03-01"), basis="legal_rate")


def test_unverified_2026_s2_rates_are_usable_but_flagged(book):
    p = applicable_rate(book, d("2026-08-01"))
    assert (p.rate, p.verified) == (D("12.40"), False)
    assert "NON CONFIRMÉ" in p.source


def test_overlay_rows_win_and_extend_the_book(tmp_path):
    (tmp_path / "taux_legal.csv").write_text(
        "semester,start,end,particulier,autres,source,verified\n"
        "2026-S2,2026-07-01,2026-12-31,6.90,2.80,Arrêté du 20 juin 2026 (JORF),true\n"
        "2027-S1,,,7.00,3.00,Arrêté du 18 décembre 2026 (JORF),true\n", encoding="utf-8")
    (tmp_path / "ecb_mro.csv").write_text(
        "effective_date,mro,source,verified\n2026-07-01,2.25,ECB decision,true\n2027-01-01,2.25,ECB,true\n",
        encoding="utf-8")
    book = load_rate_book(tmp_path)
    assert book.taux_legal["2026-S2"].autres == D("2.80") and book.taux_legal["2026-S2"].origin == "overlay"
    assert book.taux_legal["2027-S1"].particulier == D("7.00")
    assert applicable_rate(book, d("2026-08-01")).rate == D("12.25")
    assert applicable_rate(book, d("2027-02-01")).verified
    # The packaged book is untouched.
    assert load_rate_book().taux_legal["2026-S2"].autres == D("2.75")


def test_missing_overlay_directory_is_just_the_packaged_book(tmp_path):
    assert load_rate_book(tmp_path / "nope") == load_rate_book()


def test_malformed_overlay_is_refused_with_file_and_line(tmp_path):
    (tmp_path / "ecb_mro.csv").write_text("effective_date,mro,source,verified\n2027-01-01,2.25,ECB,yes\n")
    with pytest.raises(ValueError, match=r"ecb_mro.csv:2"):
        load_rate_book(tmp_path)
    (tmp_path / "ecb_mro.csv").write_text("effective_date,mro,source,verified\n2027-01-01,2.25,,true\n")
    with pytest.raises(ValueError, match="source"):
        load_rate_book(tmp_path)
    (tmp_path / "ecb_mro.csv").unlink()
    (tmp_path / "taux_legal.csv").write_text(
        "semester,start,end,particulier,autres,source,verified\n2027-S1,2027-07-01,,1,1,x,true\n")
    with pytest.raises(ValueError, match="do not match"):
        load_rate_book(tmp_path)


def test_add_rate_appends_to_the_overlay_and_wins(tmp_path):
    row = add_rate(tmp_path, "taux_legal", semester="2027-S1", particulier="7.01", autres=D("3.02"),
                   source="Arrêté du 17 décembre 2026, JORF", verified=True)
    assert row == {"kind": "taux_legal", "period": "2027-S1", "start": "2027-01-01", "end": "2027-06-30",
                   "particulier": "7.01", "autres": "3.02", "source": "Arrêté du 17 décembre 2026, JORF",
                   "verified": True, "origin": "overlay"}
    add_rate(tmp_path, "taux_legal", semester="2027-S1", particulier="7.01", autres="3.03",
             source="Correction : arrêté rectificatif", verified=True)
    e = add_rate(tmp_path, "ecb_mro", effective_date="2027-01-01", mro="2.00", source="ECB 16 Dec 2026",
                 verified=False)
    assert e["mro"] == "2.00" and e["effective_date"] == "2027-01-01"
    book = load_rate_book(tmp_path)
    assert book.taux_legal["2027-S1"].autres == D("3.03")   # the later overlay row wins
    assert applicable_rate(book, d("2027-02-01")).rate == D("12.00")
    listed = {(r["kind"], r["period"]): r for r in list_rates(book)}
    assert listed[("ecb_mro", "2027-01-01")]["origin"] == "overlay"
    assert listed[("ecb_mro", "2027-01-01")]["verified"] is False
    assert listed[("taux_legal", "2015-S1")]["origin"] == "packaged"
    assert listed[("taux_legal_annual", "2014")]["taux_legal"] == "0.04"


@pytest.mark.parametrize("kwargs,message", [
    ({"kind": "taux_legal", "semester": "2027-S3", "particulier": "1", "autres": "1"}, "YYYY-S1"),
    ({"kind": "taux_legal", "semester": "2027S1", "particulier": "1", "autres": "1"}, "YYYY-S1"),
    ({"kind": "taux_legal", "particulier": "1", "autres": "1"}, "semester is required"),
    ({"kind": "taux_legal", "semester": "2027-S1", "particulier": 7.01, "autres": "1"}, "not float"),
    ({"kind": "taux_legal", "semester": "2027-S1", "particulier": "abc", "autres": "1"}, "decimal"),
    ({"kind": "taux_legal", "semester": "2027-S1", "particulier": "-1", "autres": "1"}, "out of range"),
    ({"kind": "taux_legal", "semester": "2027-S1", "particulier": "NaN", "autres": "1"}, "finite"),
    ({"kind": "taux_legal", "semester": "2027-S1", "particulier": "1"}, "autres is required"),
    ({"kind": "taux_legal", "semester": "2027-S1", "particulier": "1", "autres": "1", "mro": "2"}, "ecb_mro"),
    ({"kind": "ecb_mro", "effective_date": "2027-13-01", "mro": "2"}, "YYYY-MM-DD"),
    ({"kind": "ecb_mro", "mro": "2"}, "effective_date is required"),
    ({"kind": "ecb_mro", "effective_date": "2027-01-01"}, "mro is required"),
    ({"kind": "ecb_mro", "effective_date": "2027-01-01", "mro": "2", "semester": "2027-S1"}, "taux_legal"),
    ({"kind": "bce", "effective_date": "2027-01-01", "mro": "2"}, "kind must be"),
])
def test_add_rate_validation(tmp_path, kwargs, message):
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError, match=message):
        add_rate(tmp_path, kind, source="JORF", verified=True, **kwargs)
    assert not any(tmp_path.iterdir())   # nothing written


def test_add_rate_requires_source_and_boolean_verified(tmp_path):
    with pytest.raises(ValueError, match="source"):
        add_rate(tmp_path, "ecb_mro", effective_date="2027-01-01", mro="2", source="  ", verified=True)
    with pytest.raises(ValueError, match="verified"):
        add_rate(tmp_path, "ecb_mro", effective_date="2027-01-01", mro="2", source="x", verified="yes")  # type: ignore[arg-type]


def test_legal_constants_are_versioned():
    assert legal_constant("indemnite_forfaitaire_eur", on=d("2013-01-01")).decimal() == D("40.00")
    assert legal_constant("indemnite_forfaitaire_eur", on=d("2012-12-31")) is None
    assert legal_constant("ip_signification_months", on=d("2026-08-31")).integer() == 6
    assert legal_constant("ip_signification_months", on=d("2026-09-01")).integer() == 3
    assert legal_constant("ip_signification_months").effective_from == d("2026-09-01")
    assert legal_constant("prescription_years_consumer").integer() == 2
    assert all(c.source for c in legal_constants())
    with pytest.raises(KeyError):
        legal_constant("no_such_key")
