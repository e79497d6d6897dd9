"""Registered-mail tracking numbers: UPU S10 and La Poste domestic."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = [
    "TrackingNumber",
    "TrackingNumberError",
    "parse_tracking_number",
    "s10_check_digit",
]

TrackingKind = Literal["s10", "laposte"]

_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# ASCII only: `\d` would accept any Unicode digit (RA٤٧٣١٢٤٨٢٩FR), which no label carries.
_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_LAPOSTE = re.compile(r"[0-9][A-Z][0-9]{11}")
# Babel lists these pseudo-regions next to the ISO 3166-1 codes; no post office issues them.
_NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})


class TrackingNumberError(ValueError):
    """A tracking number that breaks a rule; `rule` is a stable code callers can map."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class TrackingNumber:
    value: str
    kind: TrackingKind
    service_indicator: str
    country: str | None

    def __str__(self) -> str:
        return self.value


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of an 8-digit serial (weights 8 6 4 2 3 5 9 7, mod 11)."""
    if not re.fullmatch(r"[0-9]{8}", serial):
        raise ValueError("an S10 serial is exactly 8 digits")
    check = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(check, check)


@lru_cache(maxsize=1)
def _iso_countries() -> frozenset[str]:
    from babel import Locale

    return frozenset(
        code
        for code in Locale("en").territories
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


def _normalise(raw: str) -> str:
    # Clerks copy numbers from stickers printed in groups ("RA 4731 2482 9 FR").
    # Checked before upper(): "ſ".upper() is an ASCII "S".
    compact = "".join(raw.split())
    if not compact.isascii():
        raise TrackingNumberError(
            "format", "tracking number must be ASCII letters and digits (0-9, A-Z)"
        )
    return compact.upper()


def parse_tracking_number(raw: str) -> TrackingNumber:
    """Parse and check a tracking number, ignoring spaces and case.

    La Poste domestic numbers (digit, letter, eleven digits: ``1A01234567890``) are
    checked for format only: their check-digit algorithm is not published and the
    one sample we have fits no known scheme reliably, so verifying it could reject
    genuine numbers.
    """
    value = _normalise(raw)
    if not value:
        raise TrackingNumberError("format", "tracking number is empty")
    if value[0] in "0123456789":
        if not _LAPOSTE.fullmatch(value):
            raise TrackingNumberError(
                "laposte.format",
                "La Poste number must be a digit, a letter and 11 digits",
            )
        return TrackingNumber(value, "laposte", value[:2], None)
    if value[:2].isalpha():
        if not _S10.fullmatch(value):
            raise TrackingNumberError(
                "s10.format", "S10 number must be 2 letters, 9 digits and 2 letters"
            )
        expected = s10_check_digit(value[2:10])
        if int(value[10]) != expected:
            raise TrackingNumberError(
                "s10.check_digit", f"S10 check digit is wrong (expected {expected})"
            )
        country = value[11:]
        if country not in _iso_countries():
            raise TrackingNumberError(
                "s10.country", f"S10 country code {country} is not an ISO 3166-1 code"
            )
        return TrackingNumber(value, "s10", value[:2], country)
    raise TrackingNumberError(
        "format", "not an S10 (RA473124829FR) or La Poste (1A01234567890) number"
    )
