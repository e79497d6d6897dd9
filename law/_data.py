"""Reading the law data files strictly: a malformed row must stop the computation, not skew it."""
from __future__ import annotations

import csv
import datetime as dt
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol, TypeVar

DATA_DIR = Path(__file__).parent / "data"


class _Versioned(Protocol):
    @property
    def effective_from(self) -> dt.date | None: ...


V = TypeVar("V", bound=_Versioned)


def in_force(versions: Iterable[V], on: dt.date | None) -> V | None:
    """The version of a row in force on `on` (the latest when `on` is None); None if none is yet.

    A version without `effective_from` has been in force for as far back as the data goes.
    """
    ordered = sorted(versions, key=lambda v: v.effective_from or dt.date.min)
    if on is not None:
        ordered = [v for v in ordered if (v.effective_from or dt.date.min) <= on]
    return ordered[-1] if ordered else None


def fold(text: str) -> str:
    """Without accents or case, so that « Société » and « SOCIETE » compare equal."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
    """Rows as (where, row) so errors can name the file and line."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return [(f"{path}:{n}", {k: (v or "").strip() for k, v in row.items() if k})
                for n, row in enumerate(reader, start=2)]


def parse_decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{where}: {text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"{where}: {text!r} is not a finite number")
    return value


def parse_date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not an ISO date (YYYY-MM-DD)") from None


def parse_bool(text: str, where: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"{where}: verified must be true or false, not {text!r}")


def require_source(text: str, where: str) -> str:
    if not text:
        raise ValueError(f"{where}: every row must cite its source")
    return text
