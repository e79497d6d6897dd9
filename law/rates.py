"""The rate book: taux de l'intérêt légal and ECB main refinancing rates, as sourced data.

Packaged rows (law/data) are merged with an operator overlay directory holding files of the
same names; an overlay row wins over a packaged one for the same period, and a later overlay
row wins over an earlier one (appending is how an operator corrects a rate).

ECB rows are rate *changes*: a row states the MRO rate in force from its date. The book only
vouches for dates up to its latest row, so a semester whose reference date lies beyond it has
no rate (a "confirmation" row restating an unchanged rate extends that coverage).
"""
from __future__ import annotations

import bisect
import csv
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ._data import DATA_DIR, parse_bool, parse_date, parse_decimal, read_rows, require_source

__all__ = [
    "RateBook", "TauxLegalRow", "AnnualRateRow", "EcbRow", "load_rate_book", "list_rates",
    "add_rate", "TAUX_LEGAL_FILE", "TAUX_LEGAL_ANNUAL_FILE", "ECB_MRO_FILE",
]

TAUX_LEGAL_FILE = "taux_legal.csv"
TAUX_LEGAL_ANNUAL_FILE = "taux_legal_annual.csv"
ECB_MRO_FILE = "ecb_mro.csv"
_TAUX_LEGAL_COLUMNS = ("semester", "start", "end", "particulier", "autres", "source", "verified")
_ANNUAL_COLUMNS = ("year", "taux_legal", "source", "verified")
_ECB_COLUMNS = ("effective_date", "mro", "source", "verified")
_SEMESTER = re.compile(r"^(\d{4})-S([12])$")
Origin = Literal["packaged", "overlay"]


@dataclass(frozen=True)
class TauxLegalRow:
    semester: str
    start: dt.date
    end: dt.date
    particulier: Decimal     # creditor is a natural person not acting for professional needs
    autres: Decimal          # all other cases
    source: str
    verified: bool
    origin: Origin = "packaged"


@dataclass(frozen=True)
class AnnualRateRow:
    year: int
    rate: Decimal            # single rate before 2015
    source: str
    verified: bool
    origin: Origin = "packaged"


@dataclass(frozen=True)
class EcbRow:
    effective_date: dt.date
    rate: Decimal            # MRO rate in percent ("mro" would shadow type.mro)
    source: str
    verified: bool
    origin: Origin = "packaged"


@dataclass(frozen=True)
class RateBook:
    taux_legal: Mapping[str, TauxLegalRow]
    taux_legal_annual: Mapping[int, AnnualRateRow]
    ecb_mro: tuple[EcbRow, ...]          # sorted by effective_date, one row per date

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ecb_dates", [r.effective_date for r in self.ecb_mro])

    def mro_in_force(self, day: dt.date) -> EcbRow | None:
        """The MRO row in force on `day`, or None if the book does not cover that day."""
        dates: list[dt.date] = self._ecb_dates  # type: ignore[attr-defined]
        if not dates or day > dates[-1]:
            return None
        i = bisect.bisect_right(dates, day)
        return self.ecb_mro[i - 1] if i else None

    def next_mro_change(self, day: dt.date) -> dt.date | None:
        dates: list[dt.date] = self._ecb_dates  # type: ignore[attr-defined]
        i = bisect.bisect_right(dates, day)
        return dates[i] if i < len(dates) else None


def semester_dates(semester: str) -> tuple[dt.date, dt.date]:
    m = _SEMESTER.match(semester)
    if not m:
        raise ValueError(f"semester must look like YYYY-S1 or YYYY-S2, not {semester!r}")
    year, half = int(m.group(1)), m.group(2)
    if half == "1":
        return dt.date(year, 1, 1), dt.date(year, 6, 30)
    return dt.date(year, 7, 1), dt.date(year, 12, 31)


def _rate_value(text: str, where: str, *, allow_negative: bool = False) -> Decimal:
    value = parse_decimal(text, where)
    if (value < 0 and not allow_negative) or abs(value) >= 100:
        raise ValueError(f"{where}: rate {text!r} is out of range")
    return value


def _read_taux_legal(path: Path, origin: Origin) -> list[TauxLegalRow]:
    rows = []
    for where, r in read_rows(path, _TAUX_LEGAL_COLUMNS):
        try:
            start, end = semester_dates(r["semester"])
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if (r["start"] and parse_date(r["start"], where) != start) or (r["end"] and parse_date(r["end"], where) != end):
            raise ValueError(f"{where}: start/end do not match semester {r['semester']}")
        rows.append(TauxLegalRow(r["semester"], start, end, _rate_value(r["particulier"], where),
                                 _rate_value(r["autres"], where), require_source(r["source"], where),
                                 parse_bool(r["verified"], where), origin))
    return rows


def _read_annual(path: Path, origin: Origin) -> list[AnnualRateRow]:
    rows = []
    for where, r in read_rows(path, _ANNUAL_COLUMNS):
        if not r["year"].isdigit():
            raise ValueError(f"{where}: year must be a number, not {r['year']!r}")
        rows.append(AnnualRateRow(int(r["year"]), _rate_value(r["taux_legal"], where),
                                  require_source(r["source"], where), parse_bool(r["verified"], where), origin))
    return rows


def _read_ecb(path: Path, origin: Origin) -> list[EcbRow]:
    return [EcbRow(parse_date(r["effective_date"], where), _rate_value(r["mro"], where, allow_negative=True),
                   require_source(r["source"], where), parse_bool(r["verified"], where), origin)
            for where, r in read_rows(path, _ECB_COLUMNS)]


def _read_all(directory: Path, origin: Origin) -> tuple[list[TauxLegalRow], list[AnnualRateRow], list[EcbRow]]:
    def maybe(name: str, reader: Any) -> list[Any]:
        path = directory / name
        return reader(path, origin) if path.is_file() else []
    return (maybe(TAUX_LEGAL_FILE, _read_taux_legal), maybe(TAUX_LEGAL_ANNUAL_FILE, _read_annual),
            maybe(ECB_MRO_FILE, _read_ecb))


@lru_cache(maxsize=1)
def _packaged() -> tuple[list[TauxLegalRow], list[AnnualRateRow], list[EcbRow]]:
    return _read_all(DATA_DIR, "packaged")


def load_rate_book(extra_dir: Path | None = None) -> RateBook:
    """Packaged rates merged with the operator overlay (overlay rows win for the same period)."""
    taux, annual, ecb = _packaged()
    if extra_dir is not None:
        o_taux, o_annual, o_ecb = _read_all(Path(extra_dir), "overlay")
        taux, annual, ecb = taux + o_taux, annual + o_annual, ecb + o_ecb
    # Later rows win: packaged rows come first, then overlay rows in file order.
    by_semester = {r.semester: r for r in taux}
    by_year = {r.year: r for r in annual}
    by_date = {r.effective_date: r for r in ecb}
    return RateBook(
        taux_legal=MappingProxyType(dict(sorted(by_semester.items(), key=lambda kv: kv[1].start))),
        taux_legal_annual=MappingProxyType(dict(sorted(by_year.items()))),
        ecb_mro=tuple(by_date[d] for d in sorted(by_date)),
    )


def list_rates(book: RateBook) -> list[dict[str, Any]]:
    """Every row of the book, for display: kind, period, values, source, verified, origin."""
    out: list[dict[str, Any]] = []
    for a in book.taux_legal_annual.values():
        out.append({"kind": "taux_legal_annual", "period": str(a.year), "taux_legal": format(a.rate, "f"),
                    "source": a.source, "verified": a.verified, "origin": a.origin})
    for t in book.taux_legal.values():
        out.append({"kind": "taux_legal", "period": t.semester, "start": t.start.isoformat(),
                    "end": t.end.isoformat(), "particulier": format(t.particulier, "f"),
                    "autres": format(t.autres, "f"), "source": t.source, "verified": t.verified,
                    "origin": t.origin})
    for e in book.ecb_mro:
        out.append({"kind": "ecb_mro", "period": e.effective_date.isoformat(),
                    "effective_date": e.effective_date.isoformat(), "mro": format(e.rate, "f"),
                    "source": e.source, "verified": e.verified, "origin": e.origin})
    return out


def _decimal_arg(name: str, value: Any, *, allow_negative: bool = False) -> Decimal:
    if value is None:
        raise ValueError(f"{name} is required")
    if isinstance(value, (float, bool)):
        raise ValueError(f"{name} must be given as a string or Decimal (e.g. \"2.62\"), not {type(value).__name__}")
    try:
        d = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{name} must be a decimal number, not {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"{name} must be a finite number")
    if d.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError(f"{name} has more than 4 decimals: {value!r}")
    if (d < 0 and not allow_negative) or abs(d) >= 100:
        raise ValueError(f"{name} {value!r} is out of range (percent per year)")
    return d


def _append(path: Path, columns: tuple[str, ...], row: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow(row)


def add_rate(extra_dir: Path, kind: Literal["taux_legal", "ecb_mro"], *, semester: str | None = None,
             particulier: Decimal | str | None = None, autres: Decimal | str | None = None,
             effective_date: dt.date | str | None = None, mro: Decimal | str | None = None,
             source: str, verified: bool) -> dict[str, Any]:
    """Validate one rate and append it to the overlay CSV; returns the row as list_rates shows it."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError("source is required: cite the arrêté (JORF) or the ECB decision")
    if not isinstance(verified, bool):
        raise ValueError("verified must be true or false")
    source = " ".join(source.split())
    flag = "true" if verified else "false"
    extra_dir = Path(extra_dir)
    if kind == "taux_legal":
        if effective_date is not None or mro is not None:
            raise ValueError("effective_date and mro belong to kind ecb_mro, not taux_legal")
        if not semester:
            raise ValueError("semester is required (YYYY-S1 or YYYY-S2)")
        start, end = semester_dates(semester.strip())
        p, a = _decimal_arg("particulier", particulier), _decimal_arg("autres", autres)
        row = {"semester": semester.strip(), "start": start.isoformat(), "end": end.isoformat(),
               "particulier": format(p, "f"), "autres": format(a, "f"), "source": source, "verified": flag}
        _append(extra_dir / TAUX_LEGAL_FILE, _TAUX_LEGAL_COLUMNS, row)
        return {"kind": "taux_legal", "period": row["semester"], "start": row["start"], "end": row["end"],
                "particulier": row["particulier"], "autres": row["autres"], "source": source,
                "verified": verified, "origin": "overlay"}
    if kind == "ecb_mro":
        if semester is not None or particulier is not None or autres is not None:
            raise ValueError("semester, particulier and autres belong to kind taux_legal, not ecb_mro")
        if effective_date is None:
            raise ValueError("effective_date is required (YYYY-MM-DD)")
        if isinstance(effective_date, str):
            try:
                effective_date = dt.date.fromisoformat(effective_date.strip())
            except ValueError:
                raise ValueError(f"effective_date must be YYYY-MM-DD, not {effective_date!r}") from None
        if not isinstance(effective_date, dt.date) or isinstance(effective_date, dt.datetime):
            raise ValueError("effective_date must be a date")
        m = _decimal_arg("mro", mro, allow_negative=True)
        row = {"effective_date": effective_date.isoformat(), "mro": format(m, "f"), "source": source,
               "verified": flag}
        _append(extra_dir / ECB_MRO_FILE, _ECB_COLUMNS, row)
        return {"kind": "ecb_mro", "period": row["effective_date"], "effective_date": row["effective_date"],
                "mro": row["mro"], "source": source, "verified": verified, "origin": "overlay"}
    raise ValueError(f"kind must be taux_legal or ecb_mro, not {kind!r}")
