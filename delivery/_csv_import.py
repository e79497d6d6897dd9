"""Tracking events typed or exported by clerks, imported from a CSV file."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time

from ._laposte import LAPOSTE_CODES, map_laposte_code
from ._status import EVENT_TYPES, PARIS
from ._tracking import TrackingNumberError, parse_tracking_number

__all__ = ["CsvError", "CsvImport", "CsvRow", "parse_tracking_csv"]

COLUMNS = ("tracking_number", "event", "date")

# The words a French clerk is likely to type, without accents.
_FRENCH_EVENTS = {
    "depose": "deposited",
    "depot": "deposited",
    "pris en charge": "deposited",
    "avise": "first_presented",
    "presente": "first_presented",
    "premiere presentation": "first_presented",
    "distribue": "delivered",
    "remis": "delivered",
    "non reclame": "unclaimed",
    "refuse": "refused",
    "npai": "addressee_unknown",
    "retourne": "returned",
    "retour": "returned",
}
_TRACKING_MESSAGES = {
    "s10.check_digit": "numéro de suivi invalide : chiffre de contrôle incorrect",
    "s10.format": "numéro de suivi invalide : attendu 2 lettres, 9 chiffres, 2 lettres "
    "(ex. RA473124829FR)",
    "s10.country": "numéro de suivi invalide : code pays inconnu",
    "laposte.format": "numéro de suivi invalide : attendu 1 chiffre, 1 lettre, 11 chiffres "
    "(ex. 1A01234567890)",
    "format": "numéro de suivi invalide : format non reconnu",
}
# As the JSON API screens its strings: C0 controls other than tab and line breaks, lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_FORBIDDEN_FR = ("caractère de contrôle interdit dans la ligne (seuls la tabulation et les retours à la ligne "
                 "sont admis)")
_DATE_HELP = "formats acceptés : AAAA-MM-JJ, JJ/MM/AAAA, JJ/MM/AAAA HH:MM ou date-heure ISO"


@dataclass(frozen=True)
class CsvRow:
    line: int
    tracking_number: str
    event_type: str
    at: datetime


@dataclass(frozen=True)
class CsvError:
    line: int
    column: str | None
    message_fr: str


@dataclass(frozen=True)
class CsvImport:
    rows: list[CsvRow] = field(default_factory=list)
    errors: list[CsvError] = field(default_factory=list)


def _fold(text: str) -> str:
    bare = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )
    return " ".join(re.sub(r"[^a-z0-9]+", " ", bare).split())


def _event(raw: str) -> tuple[str | None, str | None]:
    """(event type, None) or (None, French reason)."""
    value = raw.strip()
    if value.lower() in EVENT_TYPES:
        return value.lower(), None
    if value.upper() in LAPOSTE_CODES:
        mapped = map_laposte_code(value)
        if mapped is None:
            label = LAPOSTE_CODES[value.upper()][1].lower()
            return (
                None,
                f"le code La Poste {value.upper()} ({label}) ne change pas le statut du pli",
            )
        return mapped, None
    if _fold(value) in _FRENCH_EVENTS:
        return _FRENCH_EVENTS[_fold(value)], None
    if not value:
        return None, "événement manquant"
    return None, (
        f"événement inconnu : « {value} » (attendu : {', '.join(EVENT_TYPES)}, "
        "ou un code La Poste comme DI1)"
    )


def _moment(raw: str) -> datetime | None:
    """A local date or time is read in Paris: that is where clerks and La Poste are."""
    value = raw.strip()
    try:
        # [0-9], not \d: int() would read any Unicode digit ("٠٥/٠٣/٢٠٢٦").
        if m := re.fullmatch(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:\s+([0-9]{1,2})[:h]([0-9]{2}))?", value):
            day, month, year, hour, minute = m.groups()
            at = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            at = datetime.combine(date.fromisoformat(value), time())
        elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*", value) and value.isascii():
            at = datetime.fromisoformat(value)
        else:
            return None
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=PARIS)


# What a clerk's own spreadsheet calls the columns (and ours), in their _fold form.
_COLUMN_ALIASES = {
    "tracking number": "tracking_number", "event": "event", "date": "date",
    "numero de suivi": "tracking_number", "numero": "tracking_number", "n de suivi": "tracking_number",
    "numero du pli": "tracking_number", "suivi": "tracking_number",
    "evenement": "event", "statut": "event", "etat": "event",
    "quand": "date", "date de l evenement": "date", "date evenement": "date",
}


def _column(name: str) -> str | None:
    """The column a header cell names, compared without accents, case or punctuation; None for another one."""
    return _COLUMN_ALIASES.get(_fold(name))


def _delimiter(text: str) -> str:
    # French spreadsheets export with ";", everything else with ",": the header decides.
    first_line = text.split("\n", 1)[0]
    return ";" if first_line.count(";") > first_line.count(",") else ","


def parse_tracking_csv(text: str | bytes, *, now: datetime | None = None) -> CsvImport:
    """Keep the good lines, report each bad one in French for the clerk who typed it.

    Header ``tracking_number,event,date`` in any order, or their French names (« Numéro de
    suivi », « Événement », « Date », compared without accents or case); ``;`` or ``,``, UTF-8
    with or without BOM; extra columns ignored. `event` is one of our event types, a La Poste
    Suivi code or a French word (« distribué », « NPAI » …). With `now`, dates in the
    future are refused.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            return CsvImport([], [CsvError(0, None, "le fichier n'est pas encodé en UTF-8")])
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = next(reader, None)
    if header is None:
        return CsvImport(
            [], [CsvError(1, None, "fichier vide : en-tête tracking_number,event,date attendu")]
        )
    names = [_column(h) for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        return CsvImport([], [CsvError(1, c, f"colonne manquante : {c}") for c in missing])
    index = {c: names.index(c) for c in COLUMNS}

    rows: list[CsvRow] = []
    errors: list[CsvError] = []
    line = reader.line_num
    for record in reader:
        line, start = reader.line_num, line + 1
        if not any(cell.strip() for cell in record):
            continue
        if len(record) <= max(index.values()):
            errors.append(
                CsvError(
                    start,
                    None,
                    f"ligne incomplète : {len(record)} colonne(s) au lieu de {len(names)}",
                )
            )
            continue
        forbidden = next((i for i, cell in enumerate(record) if _FORBIDDEN.search(cell)), None)
        if forbidden is not None:      # stored nowhere, and no clerk typed it: the line is refused whole
            errors.append(CsvError(start, names[forbidden] if forbidden < len(names) else None, _FORBIDDEN_FR))
            continue
        line_errors: list[CsvError] = []
        raw_number = record[index["tracking_number"]]
        number = None
        if not raw_number.strip():
            line_errors.append(CsvError(start, "tracking_number", "numéro de suivi manquant"))
        else:
            try:
                number = parse_tracking_number(raw_number).value
            except TrackingNumberError as exc:
                line_errors.append(CsvError(start, "tracking_number", _TRACKING_MESSAGES[exc.rule]))
        event_type, event_problem = _event(record[index["event"]])
        if event_problem:
            line_errors.append(CsvError(start, "event", event_problem))
        raw_date = record[index["date"]]
        at = _moment(raw_date)
        if at is None:
            line_errors.append(
                CsvError(start, "date", f"date invalide : « {raw_date.strip()} » ({_DATE_HELP})")
            )
        elif now is not None and at > now:
            line_errors.append(
                CsvError(start, "date", f"date dans le futur : « {raw_date.strip()} »")
            )
        if line_errors:
            errors.extend(line_errors)
        else:
            rows.append(CsvRow(start, number, event_type, at))
    return CsvImport(rows, errors)
