"""The template context: the case file and the décompte turned into ready-to-print French text.

Templates are edited by lawyers, so every value arrives formatted (« 1 234,56 € »,
« 30 juin 2026 ») under a French name, and every template sees the same context (the list
is in legal_templates/README.md). Amounts come from the ClaimStatement only: nothing here
computes interest. Facts the case file does not hold but a court requires are printed as
« [À COMPLÉTER : …] » and reported as warnings.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from docxtpl import Listing
from num2words import num2words

from casefiles.model import Address, CaseFile, CreditorKind, DebtorKind, ReminderChannel
from law.courts import injunction_court
from law.statement import ClaimStatement, InterestLine

from ._formatting import (
    amount_in_words,
    clean_text,
    de,
    ends_with_form,
    format_iban,
    french_date,
    french_money,
    french_rate,
    french_short_date,
    group_digits,
)
from ._pieces import MISSING, PlannedPiece, latest_notice, reminder_history
from ._types import DocumentKind, DocumentRequest

__all__ = ["build_context", "to_complete", "CHANNEL_LABELS"]

CHANNEL_LABELS = {ReminderChannel.letter: "courrier", ReminderChannel.email: "courriel",
                  ReminderChannel.phone: "appel téléphonique", ReminderChannel.sms: "SMS",
                  ReminderChannel.visit: "visite"}
_COURT_KINDS = (DocumentKind.requete_injonction_de_payer, DocumentKind.dossier_injonction_de_payer)


def to_complete(what: str) -> str:
    return f"[À COMPLÉTER : {what}]"


def _text(value: str | None) -> str:
    return clean_text(value) if value else ""


def _lines(lines: list[str]) -> Listing:
    """Several lines in one paragraph: each cleaned, joined by line breaks."""
    return Listing("\n".join(clean_text(x) for x in lines if x and clean_text(x)))


def _postal_last_line(address: Address) -> str:
    """NF Z10-011: « CODE LOCALITÉ » in capitals, without accents or punctuation."""
    city = unicodedata.normalize("NFKD", clean_text(address.city)).encode("ascii", "ignore").decode()
    city = " ".join(city.replace("-", " ").replace("'", " ").upper().split())
    return f"{address.postal_code} {city}"


def _address(address: Address) -> dict[str, Any]:
    country = "" if address.country == "FR" else address.country
    inline = ", ".join([*(clean_text(x) for x in address.lines),
                        f"{address.postal_code} {clean_text(address.city)}"] + ([country] if country else []))
    return {
        "bloc": _lines([*address.lines, _postal_last_line(address)] + ([country] if country else [])),
        "ligne": inline,
        "code_postal": address.postal_code,
        "ville": clean_text(address.city),
        "pays": country,
    }


def _party(p, *, legal_person: bool, claimant: bool, notes: list[str], role: str) -> dict[str, Any]:
    """A party as letters and the requête print it (CPC 54 for the claimant, 57 for the debtor)."""
    name = _text(p.name)
    addr = _address(p.address)
    rep = p.representative
    d: dict[str, Any] = {
        "nom": name, "forme": _text(p.legal_form), "personne_morale": legal_person,
        "siren": group_digits(p.siren) if p.siren else "", "siret": group_digits(p.siret) if p.siret else "",
        "adresse": addr["bloc"], "adresse_ligne": addr["ligne"], "ville": addr["ville"],
        "code_postal": addr["code_postal"], "email": _text(p.email), "telephone": _text(p.phone),
        "representant": _text(rep.name) if rep else "", "qualite": _text(rep.title) if rep and rep.title else "",
        "naissance": "",
    }
    if p.birth_date or p.birth_place:
        when = f" le {french_date(p.birth_date)}" if p.birth_date else ""
        where = f" à {_text(p.birth_place)}" if p.birth_place else ""
        d["naissance"] = f"né(e){when}{where}"
    if legal_person:
        form = d["forme"] or to_complete("forme sociale")
        reg = f"immatriculée sous le numéro SIREN {d['siren']}" if d["siren"] else \
            f"immatriculée sous le numéro {to_complete('SIREN / RCS')}"
        rep_text = (f"représentée par {d['representant']}" + (f", {d['qualite']}" if d["qualite"] else "")
                    if d["representant"] else "prise en la personne de son représentant légal en exercice")
        # « Atelier Lumière SARL, immatriculée … »: a name that ends with its form does not repeat it.
        stated = f"{name}, {form}" if not (d["forme"] and ends_with_form(name, d["forme"])) else name
        d["identite"] = f"{stated}, {reg}, dont le siège social est situé {addr['ligne']}, {rep_text}"
        d["designation"] = f"la société {name}"
        if not d["forme"]:
            notes.append(f"{role} : forme sociale inconnue, à compléter dans la requête.")
        if not d["siren"]:
            notes.append(f"{role} : numéro SIREN/RCS inconnu, à compléter dans la requête.")
    else:
        parts = [name]
        if d["naissance"]:
            parts.append(d["naissance"])
        elif claimant:
            parts.append(f"né(e) le {to_complete('date de naissance')} à {to_complete('lieu de naissance')}")
            notes.append(f"{role} : date et lieu de naissance requis (art. 54 CPC), à compléter.")
        if claimant:
            parts.append(f"de profession {to_complete('profession')}, de nationalité {to_complete('nationalité')}")
            notes.append(f"{role} : profession et nationalité requises (art. 54 CPC), à compléter.")
        if d["siren"]:
            parts.append(f"exerçant sous le numéro SIREN {d['siren']}")
        parts.append(f"demeurant {addr['ligne']}")
        d["identite"] = ", ".join(parts)
        d["designation"] = name
    return d


def _agency(case: CaseFile) -> dict[str, Any] | None:
    a = case.collection_agency
    if a is None:
        return None
    addr = _address(a.address)
    return {
        "nom": _text(a.name), "adresse": addr["bloc"], "adresse_ligne": addr["ligne"], "ville": addr["ville"],
        "siren": group_digits(a.siren) if a.siren else "", "email": _text(a.email), "telephone": _text(a.phone),
        "representant": _text(a.representative.name) if a.representative else "",
        "qualite": _text(a.representative.title) if a.representative and a.representative.title else "",
    }


def _signatory(case: CaseFile, creditor: dict, agency: dict | None) -> dict[str, str]:
    if agency:
        who = agency["representant"] or "Le service recouvrement"
        return {"pour": f"Pour {agency['nom']}, mandataire {de(creditor['nom'])}", "nom": who,
                "qualite": agency["qualite"]}
    if creditor["personne_morale"]:
        return {"pour": f"Pour {creditor['nom']}", "nom": creditor["representant"] or "Le représentant légal",
                "qualite": creditor["qualite"]}
    return {"pour": "", "nom": creditor["nom"], "qualite": creditor["qualite"]}


def _rate_text(lines: list[InterestLine]) -> str:
    seen: OrderedDict[tuple[Decimal, str], None] = OrderedDict()
    for ln in lines:
        seen[(ln.rate, clean_text(ln.basis))] = None
    return " ; ".join(f"{french_rate(rate)} ({basis})" if basis else french_rate(rate) for rate, basis in seen)


def _first_day(line: InterestLine) -> dt.date:
    return line.start + dt.timedelta(days=1)  # InterestLine.start is exclusive


def _claim(claim: ClaimStatement, case: CaseFile, notes: list[str]) -> dict[str, Any]:
    commercial = claim.regime == "commercial"
    if commercial != case.is_commercial:
        notes.append(f"Le décompte est calculé en régime {'commercial' if commercial else 'civil'} alors que "
                     f"les parties {'sont' if case.is_commercial else 'ne sont pas'} toutes deux professionnelles.")
    starts = [_first_day(ln) for ln in claim.lines]
    return {
        "arretee_au": french_date(claim.as_of),
        "lendemain": french_date(claim.as_of + dt.timedelta(days=1)),
        "commercial": commercial,
        "principal": french_money(claim.principal),
        "paye": french_money(claim.paid),
        "principal_restant": french_money(claim.principal_outstanding),
        "interets_courus": french_money(claim.interest_accrued),
        "interets_payes": french_money(claim.interest_paid),
        "interets_restants": french_money(claim.interest_outstanding),
        "indemnites": french_money(claim.indemnities),
        "nb_indemnites": len(claim.indemnity_lines),
        "avoir": french_money(claim.credit),
        "a_avoir": claim.credit > 0,
        "a_interets": claim.interest_outstanding > 0 or bool(claim.lines),
        "a_indemnites": claim.indemnities > 0,
        "total": french_money(claim.total_outstanding),
        "total_lettres": amount_in_words(claim.total_outstanding),
        "principal_restant_lettres": amount_in_words(claim.principal_outstanding),
        "taux": _rate_text(list(claim.lines)) or ("taux prévu à l'article L. 441-10 du code de commerce"
                                                   if commercial else "taux de l'intérêt légal"),
        "interets_depuis": french_date(min(starts)) if starts else "",
    }


def _invoices(case: CaseFile, claim: ClaimStatement) -> list[dict[str, Any]]:
    rows = []
    for bal in claim.invoices:
        inv = case.invoice(bal.number)
        lines = [ln for ln in claim.lines if ln.invoice == bal.number]
        rows.append({
            "numero": _text(bal.number),
            "date": french_short_date(bal.issue_date), "date_longue": french_date(bal.issue_date),
            "echeance": french_short_date(bal.due_date),
            "montant": french_money(bal.amount), "paye": french_money(bal.principal_paid),
            "reste": french_money(bal.principal_outstanding), "impayee": bal.principal_outstanding > 0,
            "interets": french_money(bal.interest_accrued - bal.interest_paid),
            "indemnite": french_money(bal.indemnity),
            "interets_depuis": french_short_date(bal.interest_start + dt.timedelta(days=1))
            if bal.interest_start else "—",
            "taux": " puis ".join(dict.fromkeys(french_rate(ln.rate) for ln in lines)) or "—",
            "description": _text(inv.description) if inv and inv.description else "",
        })
    return rows


def _payments(case: CaseFile, claim: ClaimStatement) -> list[dict[str, Any]]:
    rows = []
    for p in sorted(case.payments, key=lambda p: p.date):
        imps = [i for i in claim.imputations if i.payment_date == p.date and i.payment_amount == p.amount]
        parts = []
        for i in imps:
            target = f"facture {i.invoice}" if i.invoice else "trop-perçu"
            detail = []
            if i.to_interest:
                detail.append(f"{french_money(i.to_interest)} sur intérêts")
            if i.to_principal:
                detail.append(f"{french_money(i.to_principal)} sur principal")
            parts.append(f"{target} : {', '.join(detail) or french_money(Decimal(0))}")
        rows.append({
            "date": french_short_date(p.date), "date_longue": french_date(p.date),
            "montant": french_money(p.amount), "mode": _text(p.method) or "—",
            "facture": _text(p.invoice_number) or "—", "reference": _text(p.reference),
            "imputation": " ; ".join(parts) or "—",
        })
    return rows


def _imputations(claim: ClaimStatement) -> list[dict[str, Any]]:
    return [{
        "date": french_short_date(i.payment_date), "montant": french_money(i.payment_amount),
        "facture": _text(i.invoice) or "trop-perçu", "sur_interets": french_money(i.to_interest),
        "sur_principal": french_money(i.to_principal), "designee": "oui" if i.designated else "non",
    } for i in claim.imputations]


def _interest_lines(claim: ClaimStatement, notes: list[str]) -> list[dict[str, Any]]:
    rows = []
    for ln in claim.lines:
        if not ln.verified:
            notes.append(f"Taux non vérifié dans le barème : {french_rate(ln.rate)} ({clean_text(ln.basis)}), "
                         f"facture {ln.invoice}, du {french_short_date(_first_day(ln))} "
                         f"au {french_short_date(ln.end)}.")
        rows.append({
            "facture": _text(ln.invoice), "du": french_short_date(_first_day(ln)), "au": french_short_date(ln.end),
            "jours": str(ln.days), "principal": french_money(ln.principal), "taux": french_rate(ln.rate),
            "diviseur": str(ln.divisor), "montant": french_money(ln.amount), "fondement": _text(ln.basis),
            "source": _text(ln.rate_source), "verifie": ln.verified,
            "formule": (f"{french_money(ln.principal)} × {french_rate(ln.rate)} × {ln.days} / {ln.divisor} "
                        f"= {french_money(ln.amount)}"),
        })
    return rows


def _rate_sources(claim: ClaimStatement) -> list[dict[str, Any]]:
    """Each rate's citation once, rather than on every interest line."""
    seen: OrderedDict[tuple[str, str], bool] = OrderedDict()
    for ln in claim.lines:
        key = (clean_text(ln.basis), clean_text(ln.rate_source))
        seen[key] = seen.get(key, True) and ln.verified
    return [{"fondement": b, "source": s, "verifie": v} for (b, s), v in seen.items()]


def _court(case: CaseFile, on: dt.date, notes: list[str]) -> dict[str, Any]:
    """CPC 1406: the debtor's domicile decides; we hold no court directory, so the name is left to fill.

    Which court (commercial or civil, and its local name) comes from the parties' legal forms
    (law.injunction_court); a standing the data cannot settle is written into the placeholder."""
    addr = case.debtor.address
    court = injunction_court(case, on)
    nature = court.nature
    where = f"{addr.postal_code} {clean_text(addr.city)}"
    alternative = (f" (ou {court.alternative} si une partie n'est ni commerçante ni artisan)"
                   if court.alternative else "")
    placeholder = to_complete(f"{nature}{alternative} du lieu du domicile du débiteur — {where}")
    notes.append(f"Juridiction à compléter dans la requête : {nature} du lieu du domicile du débiteur ({where}) ; "
                 "aucun annuaire des juridictions n'est consulté.")
    notes.extend(clean_text(c) for c in court.checks)
    return {"nature": nature, "article": court.of, "designation": placeholder, "commerciale": court.commercial,
            "lieu_debiteur": where}


def _foundation(case: CaseFile, claim: ClaimStatement) -> dict[str, str]:
    """What the claim rests on, as a noun phrase without article (« factures n° … ») and after
    « de » (« des factures n° … » / « de la facture n° … »), so templates stay grammatical."""
    unpaid = [b for b in claim.invoices if b.principal_outstanding > 0] or list(claim.invoices)
    plural = len(unpaid) > 1
    invoices = ", ".join(f"n° {clean_text(b.number)} du {french_date(b.issue_date)}" for b in unpaid)
    text = f"facture{'s' if plural else ''} {invoices}"
    if case.contract:
        c = case.contract
        text += f", émise{'s' if plural else ''} en exécution du contrat {clean_text(c.reference)}"
        if c.date:
            text += f" du {french_date(c.date)}"
        if c.description:
            text += f" ({clean_text(c.description)})"
    return {"texte": text, "de": ("des " if plural else "de la ") + text, "pluriel": plural}


def _payment_means(case: CaseFile, notes: list[str]) -> dict[str, str]:
    c = case.creditor
    if c.iban:
        return {"iban": format_iban(c.iban), "titulaire": clean_text(c.name),
                "texte": f"par virement sur le compte {de(clean_text(c.name))}, IBAN {format_iban(c.iban)}, "
                         f"en rappelant la référence {case.reference}"}
    notes.append("IBAN du créancier inconnu : les lettres indiquent un paiement par chèque.")
    return {"iban": "", "titulaire": clean_text(c.name),
            "texte": f"par chèque à l'ordre {de(clean_text(c.name))}, adressé au {_address(c.address)['ligne']}, "
                     f"en rappelant la référence {case.reference}"}


def _formal_notice(request: DocumentRequest) -> dict[str, Any] | None:
    """The mise en demeure the requête relies on: its own date, and how it was posted when that is
    recorded. The case file's ``formal_notice_date`` is the notice's effect (first presentation of
    the LRAR), so it is only the fallback for a notice sent outside Recouvre."""
    notice = latest_notice(request.letters)
    if notice is None:
        if request.case.formal_notice_date is None:
            return None
        date = french_date(request.case.formal_notice_date)
        return {"date": date, "lrar": False, "depot": "", "numero": "",
                "texte": f"Le débiteur a été mis en demeure de payer (mise en demeure du {date})."}
    date, mailing = french_date(notice.date), notice.mailing
    posted = {"lrar": "lettre recommandée avec demande d'avis de réception",
              "lre": "lettre recommandée électronique"}.get(mailing.service if mailing else "")
    deposit = french_date(mailing.deposited) if mailing and mailing.deposited else ""
    number = clean_text(mailing.tracking_number) if mailing and mailing.tracking_number else ""
    if posted:
        details = [f"{'déposée' if mailing.service == 'lrar' else 'envoyée'} le {deposit}"] if deposit else []
        if number:
            details.append(f"sous le n° {number}")
        texte = (f"Par {posted} du {date}" + (f", {' '.join(details)}" if details else "")
                 + ", le débiteur a été mis en demeure de payer.")
    else:
        texte = f"Le débiteur a été mis en demeure de payer (mise en demeure du {date})."
    return {"date": date, "lrar": bool(mailing and mailing.service == "lrar"), "depot": deposit, "numero": number,
            "texte": texte}


def _agency_first_letter(request: DocumentRequest) -> dict[str, str] | None:
    """CPCE R124-4, last paragraph: every later step recalls the reference and date of the agency's first letter."""
    if request.case.collection_agency is None or not request.letters:
        return None
    first = min(request.letters, key=lambda x: (x.date, x.kind != DocumentKind.relance))
    deposited = first.mailing.deposited if first.mailing else None
    return {"reference": clean_text(first.reference), "date": french_date(first.date),
            "envoi": french_date(deposited) if deposited else ""}


def build_context(request: DocumentRequest, pieces: list[PlannedPiece]) -> tuple[dict[str, Any], list[str]]:
    """Every variable any template may use, and the warnings raised while filling them."""
    case, claim = request.case, request.claim
    notes: list[str] = []
    court_notes: list[str] = []   # what only the requête prints: identities per CPC 54/57, the court
    if claim.total_outstanding <= 0 and request.kind != DocumentKind.decompte:
        notes.append(f"Aucune somme n'est due au {french_date(claim.as_of)} selon le décompte.")
    if claim.as_of != request.date:
        notes.append(f"Le décompte est arrêté au {french_date(claim.as_of)} mais le document est daté du "
                     f"{french_date(request.date)}.")
    creditor = _party(case.creditor, legal_person=case.creditor.kind == CreditorKind.company, claimant=True,
                      notes=court_notes, role="Créancier")
    debtor = _party(case.debtor, legal_person=case.debtor.kind == DebtorKind.company, claimant=False,
                    notes=court_notes, role="Débiteur")
    debtor["consommateur"] = case.debtor.kind == DebtorKind.consumer
    agency = _agency(case)
    if agency is not None:
        agency["premiere_lettre"] = _agency_first_letter(request)
    sender = agency or creditor
    written = reminder_history(case, request.letters, request.date)
    place = clean_text(request.place) if request.place else sender["ville"]
    contract = None
    if case.contract:
        c = case.contract
        contract = {"reference": _text(c.reference), "date": french_date(c.date) if c.date else "",
                    "description": _text(c.description)}
    invoices = _invoices(case, claim)
    ctx: dict[str, Any] = {
        "dossier": {"reference": case.reference, "courrier": clean_text(request.reference or "")},
        "date_lettre": french_date(request.date),
        "lieu": place,
        "delai_jours": str(request.payment_days),
        "delai_jours_lettres": num2words(request.payment_days, lang="fr"),
        "creancier": creditor,
        "debiteur": debtor,
        "mandataire": agency,
        "expediteur": sender,
        "signataire": _signatory(case, creditor, agency),
        "contrat": contract,
        "factures": invoices,
        "factures_impayees": [r for r in invoices if r["impayee"]],
        "paiements": _payments(case, claim),
        "imputations": _imputations(claim),
        "interets": _interest_lines(claim, notes),
        "sources_taux": _rate_sources(claim),
        "indemnites": [{"facture": _text(i.invoice), "montant": french_money(i.amount), "fondement": _text(i.basis)}
                       for i in claim.indemnity_lines],
        "creance": _claim(claim, case, notes),
        "fondement": _foundation(case, claim),
        "conventions": [{"libelle": _text(k), "valeur": _text(str(v))} for k, v in claim.conventions.items()],
        "avertissements": [clean_text(w) for w in claim.warnings],
        "relance": {
            "rang": 1 if not written else 2,
            "premiere": not written,
            "precedentes": [{"date": french_date(r.date), "canal": r.channel} for r in written],
            "derniere": french_date(written[-1].date) if written else "",
        },
        "mise_en_demeure": _formal_notice(request),
        "paiement": _payment_means(case, notes),
        "juridiction": None,
        "pieces": [{"numero": str(p.number), "intitule": clean_text(p.title),
                    "date": french_short_date(p.date) if p.date else "—",
                    "observation": "" if p.attached else MISSING} for p in pieces],
    }
    ctx["juridiction"] = _court(case, request.date, court_notes)
    if request.kind in _COURT_KINDS:
        notes += court_notes
    return ctx, notes
