"""Check digits of French business and bank identifiers.

Each function answers None when the value is valid, else a short English message,
so callers can attach it to the JSON pointer of the field that carried the value.
Digits are ASCII digits only: Python's \\d and str.isdigit also take "١٢٣" and "²".
"""
from __future__ import annotations

import re

__all__ = ["check_siren", "check_siret", "check_french_vat", "check_vat", "check_iban", "luhn_ok", "vat_key",
           "EU_VAT_PREFIXES"]

# SIRETs of La Poste's establishments (SIREN 356000000) do not follow Luhn: INSEE
# numbers them so that the digit sum is a multiple of 5 instead.
_LA_POSTE_SIREN = "356000000"

# VAT prefixes of the EU member states (Greece is EL, not GR) and XI, Northern Ireland's prefix for
# trade in goods under the Windsor Framework.
EU_VAT_PREFIXES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
})


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_siren(value: str) -> str | None:
    if not re.fullmatch(r"[0-9]{9}", value):
        return "SIREN must be 9 digits"
    if not luhn_ok(value):
        return "SIREN check digit is wrong (Luhn)"
    return None


def check_siret(value: str) -> str | None:
    if not re.fullmatch(r"[0-9]{14}", value):
        return "SIRET must be 14 digits"
    if value.startswith(_LA_POSTE_SIREN):
        if luhn_ok(value) or sum(map(int, value)) % 5 == 0:
            return None
        return "SIRET check digit is wrong (La Poste rule: digit sum must be a multiple of 5)"
    if not luhn_ok(value):
        return "SIRET check digit is wrong (Luhn)"
    return None


def vat_key(siren: str) -> int:
    return (12 + 3 * (int(siren) % 97)) % 97


def check_french_vat(value: str) -> str | None:
    """French intra-community VAT number: FR + 2-character key + SIREN.

    Legacy numbers with an alphanumeric key cannot be checked offline; they are accepted.
    """
    if not value.isascii():    # before upper(): "ı".upper() is "I"
        return "French VAT number must be FR, a 2-character key and the 9-digit SIREN"
    v = value.replace(" ", "").upper()
    m = re.fullmatch(r"FR([0-9A-Z]{2})([0-9]{9})", v)
    if not m:
        return "French VAT number must be FR, a 2-character key and the 9-digit SIREN"
    key, siren = m.groups()
    if not key.isdecimal():   # the pattern made it ASCII
        return None
    if int(key) != vat_key(siren):
        return f"French VAT key is wrong: expected FR{vat_key(siren):02d}{siren}"
    return None


def check_vat(value: str) -> str | None:
    """An EU VAT number: French numbers in full (key and SIREN); other member states by format only,
    their check algorithms differ by country and the VIES service is online."""
    v = value.replace(" ", "").upper() if value.isascii() else ""
    if v[:2] not in EU_VAT_PREFIXES:
        return "VAT number must start with the prefix of an EU member state (FR, BE, DE, EL…)"
    if v.startswith("FR"):
        return check_french_vat(v)
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{2,12}", v):
        return "EU VAT number must be the country prefix and 2 to 12 letters or digits"
    return None


def check_iban(value: str) -> str | None:
    v = value.replace(" ", "").upper() if value.isascii() else ""
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", v):
        return "IBAN must be a country code, 2 check digits and the account identifier"
    if v.startswith("FR") and len(v) != 27:
        return "a French IBAN has 27 characters"
    rearranged = v[4:] + v[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    if int(number) % 97 != 1:
        return "IBAN check digits are wrong (mod 97)"
    return None
