"""French postal address blocks laid out to NF Z10-011 (6 lines of 38 characters)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

__all__ = [
    "AddressBlock",
    "AddressFormatError",
    "format_address_block",
    "validate_postal_address",
]

MAX_LINE = 38
MAX_LINES = 6

# Mail to the overseas departments and collectivities uses French 5-digit postcodes
# and no country line.
_DOMESTIC = frozenset({"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF"})

# La Poste's standard abbreviations of voie types, applied only when a line is too long.
_VOIE_ABBREVIATIONS = {
    "ALLEE": "ALL",
    "AVENUE": "AV",
    "BOULEVARD": "BD",
    "CARREFOUR": "CAR",
    "CHEMIN": "CHE",
    "CHAUSSEE": "CHS",
    "CORNICHE": "COR",
    "COURS": "CRS",
    "DOMAINE": "DOM",
    "ESPLANADE": "ESP",
    "FAUBOURG": "FG",
    "HAMEAU": "HAM",
    "IMPASSE": "IMP",
    "LOTISSEMENT": "LOT",
    "MONTEE": "MTE",
    "PASSAGE": "PAS",
    "PLACE": "PL",
    "PROMENADE": "PRO",
    "QUARTIER": "QUA",
    "RESIDENCE": "RES",
    "ROND POINT": "RPT",
    "ROUTE": "RTE",
    "SQUARE": "SQ",
    "TRAVERSE": "TRA",
    "VILLAGE": "VLGE",
}
# Second resort, still from La Poste's list: titles inside street and town names.
_TITLE_ABBREVIATIONS = {
    "SAINT": "ST",
    "SAINTE": "STE",
    "GENERAL": "GAL",
    "MARECHAL": "MAL",
    "PRESIDENT": "PDT",
    "DOCTEUR": "DR",
    "PROFESSEUR": "PR",
}
# A résidence is the building line (role 3), not the street.
_STREET_WORDS = sorted(set(_VOIE_ABBREVIATIONS) - {"RESIDENCE"}, key=len, reverse=True)
_STREET_START = re.compile(r"([0-9]|(?:RUE|" + "|".join(_STREET_WORDS) + r"|BP|CS|TSA|LIEU DIT)\b)")
_LIGATURES = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss"})


class AddressFormatError(ValueError):
    """The address cannot be laid out to the norm without losing information."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AddressBlock:
    """A postal address as stored; `format()` lays it out for an envelope."""

    name: str
    lines: list[str] = field(default_factory=list)
    postal_code: str = ""
    city: str = ""
    country: str = "FR"
    complement: str | None = None

    def format(self) -> list[str]:
        return format_address_block(
            self.name,
            self.lines,
            self.postal_code,
            self.city,
            self.country,
            complement=self.complement,
        )


def _squash(text: str) -> str:
    return " ".join(text.split())


def _postal_form(text: str) -> str:
    """Capitals without accents or punctuation, as La Poste's sorting machines read best."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return _squash(re.sub(r"[^A-Z0-9]+", " ", bare))


def _abbreviate(line: str, table: dict[str, str], *, first_only: bool) -> str:
    words = "|".join(sorted(table, key=len, reverse=True))
    return re.sub(rf"\b({words})\b", lambda m: table[m.group(1)], line, count=int(first_only))


def _fit(line: str, tables: tuple[dict[str, str], ...]) -> str:
    if len(line) <= MAX_LINE:
        return line
    for table in tables:
        # Only the voie type itself is abbreviated ("AVENUE DE LA PLACE" → "AV DE LA PLACE").
        line = _abbreviate(line, table, first_only=table is _VOIE_ABBREVIATIONS)
        if len(line) <= MAX_LINE:
            break
    return line


def _split_name(name: str) -> list[str] | None:
    """A name over 38 characters on two lines, cut at the last space that lets both fit.

    None when it fits on one line or cannot be cut without breaking a word (then it is an
    error, never a truncation).
    """
    if len(name) <= MAX_LINE:
        return None
    for cut in range(min(MAX_LINE, len(name) - 1), 0, -1):
        if name[cut] == " " and len(name) - cut - 1 <= MAX_LINE:
            return [name[:cut], name[cut + 1:]]
    return None


def _street_index(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if _STREET_START.match(_postal_form(line)):
            return i
    # No recognisable street: treat every line as a delivery line (the stricter form
    # is always acceptable on lines 2-3, the reverse is not on lines 4-6).
    return 0


@cache
def _country_name(code: str) -> str | None:
    from babel import Locale

    name = Locale("fr").territories.get(code)
    return _postal_form(name) if name and len(code) == 2 else None


def _layout(
    name: str | None,
    lines: list[str],
    postal_code: str,
    city: str,
    country: str,
    complement: str | None,
) -> tuple[list[str], list[tuple[str, str]]]:
    out: list[str] = []
    errors: list[tuple[str, str]] = []

    def add(field_name: str, text: str, abbreviations: tuple[dict[str, str], ...] = ()) -> None:
        fitted = _fit(text, abbreviations)
        if len(fitted) > MAX_LINE:
            errors.append((field_name, f"line is {len(fitted)} characters, at most {MAX_LINE}"))
        out.append(fitted)

    country_code = _squash(country).upper()
    domestic = country_code in _DOMESTIC
    country_line = None if domestic else _country_name(country_code)
    if not domestic and country_line is None:
        errors.append(("country", f"unknown ISO 3166-1 country code {country!r}"))

    name_split = False
    if name is None:
        out.append("")  # reserve the recipient line when only the postal part is checked
    elif not _squash(name):
        errors.append(("name", "recipient name is required"))
    elif (halves := _split_name(_squash(name))) is not None:
        out.extend(halves)
        name_split = True
    else:
        add("name", _squash(name))
    if complement and _squash(complement):
        add("complement", _squash(complement))

    kept = [(i, line) for i, line in enumerate(lines) if _squash(line)]
    street_at = _street_index([line for _, line in kept])
    for position, (i, line) in enumerate(kept):
        if position < street_at:
            add(f"lines[{i}]", _squash(line))
        elif _postal_form(line):  # a line of mere punctuation has nothing to print
            add(f"lines[{i}]", _postal_form(line), (_VOIE_ABBREVIATIONS, _TITLE_ABBREVIATIONS))

    code = "".join(postal_code.split())
    if domestic and not re.fullmatch(r"[0-9]{5}", code):  # not \d: "٦٧٠٠٠" is no postcode
        errors.append(("postal_code", "French postcode must be 5 digits"))
    elif not code.isascii():
        errors.append(("postal_code", "postcode must be written in ASCII letters and digits"))
    town = _postal_form(city)
    if not town:
        errors.append(("city", "city is required"))
    add("city", _postal_form(f"{code} {town}"), (_TITLE_ABBREVIATIONS,))

    limit = MAX_LINES + (1 if country_line else 0)
    if country_line:
        add("country", country_line)
    if len(out) > limit:
        if name_split and len(out) - 1 <= limit:
            errors.append(("name", f"name is {len(_squash(name))} characters: it needs two lines and "
                                   f"the address leaves room for one (at most {limit} lines, NF Z10-011)"))
        else:
            errors.append(("lines", f"address needs {len(out)} lines, at most {limit} (NF Z10-011)"))
    return out, errors


def format_address_block(
    name: str,
    lines: list[str],
    postal_code: str,
    city: str,
    country: str = "FR",
    *,
    complement: str | None = None,
) -> list[str]:
    """Lay out an address to NF Z10-011 or raise `AddressFormatError`.

    `lines` are the lines between the recipient and the postcode line, in the norm's
    order (building, street, lieu-dit/BP). From the street line (role 4) down, text
    becomes capitals without accents or punctuation; the name and the lines before
    the street keep their spelling. Street lines over 38 characters get La Poste's
    abbreviations (AVENUE → AV …). A name over 38 characters takes two lines, cut
    at a space, when the block still has room; nothing is ever truncated, so a name
    that does not fit is an error rather than a silently wrong addressee.
    """
    out, errors = _layout(name, lines, postal_code, city, country, complement)
    if errors:
        raise AddressFormatError(*errors[0])
    return out


def validate_postal_address(
    lines: list[str],
    postal_code: str,
    city: str,
    country: str = "FR",
    *,
    name: str | None = None,
    complement: str | None = None,
) -> list[tuple[str, str]]:
    """Every reason the address would not print, as (field, message) pairs.

    Runs the same layout as `format_address_block`, so an address accepted here is
    one the envelope printer accepts (a long street line that abbreviates to 38
    characters is valid). Without `name`, one of the 6 lines is still reserved for the
    recipient.
    """
    return _layout(name, lines, postal_code, city, country, complement)[1]
