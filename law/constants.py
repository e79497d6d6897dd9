"""Legal figures other than rates (indemnity, prescription, IP signification, default délais).

They live in data/constants.csv, versioned by `effective_from`, so a change of law is a new row,
not a code change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from ._data import DATA_DIR, in_force, parse_bool, parse_date, read_rows, require_source

__all__ = ["LegalConstant", "legal_constant", "legal_constants"]


@dataclass(frozen=True)
class LegalConstant:
    key: str
    value: str
    effective_from: dt.date | None   # None: in force for as far back as the data goes
    source: str
    verified: bool

    def decimal(self) -> Decimal:
        return Decimal(self.value)

    def integer(self) -> int:
        return int(self.value)

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "value": self.value,
                "effective_from": self.effective_from.isoformat() if self.effective_from else None,
                "source": self.source, "verified": self.verified}


@lru_cache(maxsize=1)
def legal_constants() -> tuple[LegalConstant, ...]:
    rows = []
    for where, r in read_rows(DATA_DIR / "constants.csv", ("key", "value", "effective_from", "source", "verified")):
        if not r["key"] or not r["value"]:
            raise ValueError(f"{where}: key and value are required")
        rows.append(LegalConstant(
            key=r["key"], value=r["value"],
            effective_from=parse_date(r["effective_from"], where) if r["effective_from"] else None,
            source=require_source(r["source"], where), verified=parse_bool(r["verified"], where)))
    return tuple(rows)


@lru_cache(maxsize=512)
def _in_force(key: str, on: dt.date | None) -> LegalConstant | None:
    versions = [c for c in legal_constants() if c.key == key]
    if not versions:
        raise KeyError(f"unknown legal constant {key!r}")
    return in_force(versions, on)


def legal_constant(key: str, on: dt.date | None = None) -> LegalConstant | None:
    """The version in force on `on` (the latest one when `on` is None); None if not yet in force.

    Raises KeyError for a key the data file does not define at all.
    """
    return _in_force(key, on)
