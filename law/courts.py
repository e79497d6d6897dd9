"""Which court hears a requête en injonction de payer: the commercial court or the tribunal judiciaire.

CPC 1406 sends the requête to the president of the tribunal judiciaire or of the tribunal de
commerce « dans la limite de la compétence d'attribution de ces juridictions »; C. com. L721-3
gives the commercial court the engagements between commerçants (and artisans since 2022) and
the disputes relating to sociétés commerciales. That is narrower than the L441-10 "both
professionals" test of the interest regime: an SCI, an SCP, an association or a doctor are
professionals but not commerçants. Whether a party is commercial is read from its legal form
(data/legal_forms.csv); what the data cannot settle (a natural person trading under their own
name, a GIE, a société d'exercice libéral) is returned as a check for the lawyer, not guessed.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from casefiles.model import CaseFile

from ._data import DATA_DIR, fold, in_force, parse_bool, parse_date, read_rows, require_source
from .deadlines import debtor_region

__all__ = ["LegalForm", "PartyStanding", "Court", "legal_forms", "find_legal_form", "party_standing",
           "injunction_court"]

Nature = Literal["commercial", "civil", "check"]
_NATURES = ("commercial", "civil", "check")


@dataclass(frozen=True)
class LegalForm:
    code: str
    aliases: tuple[str, ...]
    label: str
    nature: Nature                      # "check": the form alone does not decide
    effective_from: dt.date | None
    note: str
    source: str
    verified: bool


@dataclass(frozen=True)
class CourtRow:
    region: str
    matter: Literal["commercial", "civil"]
    court: str
    of: str                             # « du » / « de la », for « le Président du … »
    source: str
    verified: bool


def _key(text: str) -> str:
    """« S.A.R.L. », « sarl », « Société à responsabilité limitée » compare equal to their row."""
    bare = re.sub(r"[.\u2019']", "", fold(text).replace("-", " "))
    return " ".join(bare.upper().split())


@lru_cache(maxsize=1)
def legal_forms() -> tuple[LegalForm, ...]:
    rows = []
    columns = ("code", "aliases", "label", "nature", "effective_from", "note", "source", "verified")
    for where, r in read_rows(DATA_DIR / "legal_forms.csv", columns):
        if not r["code"] or not r["label"]:
            raise ValueError(f"{where}: code and label are required")
        if r["nature"] not in _NATURES:
            raise ValueError(f"{where}: nature must be one of {', '.join(_NATURES)}, not {r['nature']!r}")
        rows.append(LegalForm(
            code=r["code"], aliases=tuple(a.strip() for a in r["aliases"].split(";") if a.strip()),
            label=r["label"], nature=r["nature"],  # type: ignore[arg-type]
            effective_from=parse_date(r["effective_from"], where) if r["effective_from"] else None,
            note=r["note"], source=require_source(r["source"], where), verified=parse_bool(r["verified"], where)))
    return tuple(rows)


@lru_cache(maxsize=1)
def _courts() -> tuple[CourtRow, ...]:
    rows = []
    for where, r in read_rows(DATA_DIR / "courts.csv", ("region", "matter", "court", "of", "source", "verified")):
        if r["matter"] not in ("commercial", "civil") or not r["court"] or not r["of"]:
            raise ValueError(f"{where}: matter (commercial or civil), court and of are required")
        rows.append(CourtRow(r["region"], r["matter"], r["court"], r["of"],  # type: ignore[arg-type]
                             require_source(r["source"], where), parse_bool(r["verified"], where)))
    if not any(r.region == "national" and r.matter == m for r in rows for m in ("commercial", "civil")):
        raise ValueError("courts.csv: a national row is required for both matters")
    return tuple(rows)


def _in_force(code: str, on: dt.date) -> LegalForm | None:
    return in_force((f for f in legal_forms() if f.code == code), on)


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for f in legal_forms():
        for name in (f.code, f.label, *f.aliases):
            index.setdefault(_key(name), f.code)
    return index


def find_legal_form(text: str | None, on: dt.date) -> LegalForm | None:
    """The row a legal form names (code, label or alias), in the version in force on `on`."""
    if not text:
        return None
    code = _index().get(_key(text))
    return _in_force(code, on) if code else None


def _form_in_name(name: str, on: dt.date) -> LegalForm | None:
    """« Atelier Lumière SARL », « SCI Les Tilleuls »: a form abbreviation opening or closing the name."""
    words = re.findall(r"[\w.]+", name)
    for word in (words[-1:] + words[:1]) if words else []:
        form = find_legal_form(word, on)
        if form is not None and form.code == _key(word):
            return form
    return None


@dataclass(frozen=True)
class PartyStanding:
    """Whether a party is a commerçant for L721-3, and why (for the lawyer's check)."""

    nature: Nature
    reason: str
    form: LegalForm | None = None


def party_standing(kind: str, legal_form: str | None, name: str, on: dt.date) -> PartyStanding:
    """`kind` is the case file's party kind (company, professional, individual, consumer)."""
    if kind in ("consumer", "individual"):
        return PartyStanding("civil", "personne physique n'agissant pas pour les besoins d'une activité commerciale")
    form = find_legal_form(legal_form, on) or _form_in_name(name, on)
    if form is not None:
        return PartyStanding(form.nature, f"{form.label} : {form.note}", form)
    if kind == "company":
        return PartyStanding("check", "forme sociale inconnue ; le tribunal de commerce n'est compétent que pour une "
                                      "société commerciale (C. com. L721-3)")
    return PartyStanding("check", "personne physique professionnelle : tribunal de commerce si elle est commerçante "
                                  "ou artisan, tribunal judiciaire si elle exerce une profession libérale ou agricole")


@dataclass(frozen=True)
class Court:
    nature: str                         # « tribunal de commerce », « chambre commerciale du tribunal judiciaire »…
    of: str                             # « du » / « de la »
    commercial: bool                    # a commercial matter (whatever court hears it locally)
    alternative: str | None             # the other court, when a party's standing is to check
    checks: tuple[str, ...]             # what the lawyer must verify, in French
    source: str
    verified: bool


def _court_row(region: str, matter: str) -> CourtRow:
    rows = _courts()
    return next((r for r in rows if r.region == region and r.matter == matter),
                next(r for r in rows if r.region == "national" and r.matter == matter))


def injunction_court(case: CaseFile, on: dt.date) -> Court:
    """The court of the debtor's domicile (CPC 1406) for this case: commercial only when both parties are."""
    parties = (("Créancier", case.creditor), ("Débiteur", case.debtor))
    standings = [(role, p, party_standing(p.kind.value, p.legal_form, p.name, on)) for role, p in parties]
    commercial = all(s.nature != "civil" for _, _, s in standings)
    # Only what decided the court is worth a check: one civil party is enough for the tribunal judiciaire.
    deciding = [(role, p, s) for role, p, s in standings if commercial or s.nature == "civil"]
    checks = [f"{role} « {p.name} » : {s.reason} ; vérifier la juridiction."
              for role, p, s in deciding if s.nature == "check"]
    for role, p, s in deciding:
        if s.form is not None and not s.form.verified:
            checks.append(f"{role} « {p.name} » : classement de la forme « {s.form.code} » non vérifié "
                          f"({s.form.source}).")
    if not commercial and case.is_commercial:
        civil = [f"le {role.lower()} « {p.name} » ({s.form.label if s.form else 'non commerçant'}) n'est ni "
                 "commerçant ni société commerciale" for role, p, s in standings if s.nature == "civil"]
        checks.append("Parties toutes deux professionnelles, mais " + " et ".join(civil)
                      + " : la requête relève du tribunal judiciaire, non du tribunal de commerce (C. com. L721-3).")
    region = debtor_region(case)
    row = _court_row(region, "commercial" if commercial else "civil")
    if commercial and row.region != "national":
        checks.append("Débiteur en Alsace-Moselle : les affaires commerciales y relèvent de la chambre commerciale "
                      "du tribunal judiciaire ; vérifier la juridiction.")
    alternative = None
    if commercial and any(s.nature == "check" for _, _, s in standings):
        alternative = _court_row(region, "civil").court
    return Court(nature=row.court, of=row.of, commercial=commercial, alternative=alternative, checks=tuple(checks),
                 source=row.source, verified=row.verified)
