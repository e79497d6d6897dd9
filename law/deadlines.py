"""The dates a collection file must watch: prescription, payment délais, IP signification."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from casefiles.model import CaseFile, CreditorKind, DebtorKind

from .calendar import Region, prescription_end, procedural_deadline, region_for_postal_code
from .constants import legal_constant

__all__ = ["Deadline", "case_deadlines", "payment_deadline", "ip_signification_deadline", "prescription_rule",
           "debtor_region"]

_NOT_INTERRUPTED = ("Une mise en demeure, même par LRAR, n'interrompt pas la prescription (Cass. com., "
                    "18 mai 2022, n° 20-23.204). L'interrompent : la reconnaissance du débiteur, y compris "
                    "un paiement partiel (C. civ. 2240), la signification de l'ordonnance d'injonction de "
                    "payer (C. civ. 2241), une mesure d'exécution (C. civ. 2244) ; un nouveau délai de même "
                    "durée court alors (C. civ. 2231) — non pris en compte ici.")


@dataclass(frozen=True)
class Deadline:
    kind: str                   # "prescription" | "payment_deadline" | "ip_signification"
    date: dt.date               # last day on which the act can still be done
    basis: str
    description: str
    invoice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "date": self.date.isoformat(), "basis": self.basis,
                "description": self.description, "invoice": self.invoice}


def debtor_region(case: CaseFile) -> Region:
    """Whose holidays apply: Alsace-Moselle's only for a French address there (68159 is also Mannheim)."""
    address = case.debtor.address
    return region_for_postal_code(address.postal_code) if address.country == "FR" else "national"


def payment_deadline(effective_date: dt.date, payment_days: int, postal_code: str | None = None, *,
                     region: Region | None = None) -> dt.date:
    """Last day to pay after a mise en demeure taking effect on `effective_date` (CPC 641/642
    applied by analogy, with the holidays of the debtor's region).

    `region` is the debtor's (`debtor_region`: a foreign debtor is "national"); without it a
    `postal_code` is read as a French one.
    """
    if payment_days < 0:
        raise ValueError("payment_days must not be negative")
    return procedural_deadline(effective_date, days=payment_days,
                               region=region if region is not None else region_for_postal_code(postal_code))


def ip_signification_deadline(ordonnance_date: dt.date, region: Region) -> tuple[dt.date, int]:
    """Last day to signify an injonction de payer, and the number of months that applied."""
    rule = legal_constant("ip_signification_months", on=ordonnance_date)
    if rule is None:  # pragma: no cover - the data file has an open-ended first version
        raise LookupError(f"no CPC 1411 delay known for an ordonnance of {ordonnance_date.isoformat()}")
    months = rule.integer()
    return procedural_deadline(ordonnance_date, months=months, region=region), months


def prescription_rule(case: CaseFile) -> tuple[int, str]:
    """Years and legal basis of the creditor's action for payment."""
    professional_creditor = case.creditor.kind != CreditorKind.individual
    if case.is_commercial:
        key, text = "prescription_years_commercial", "C. com. L110-4 I (obligations entre commerçants)"
    elif professional_creditor and case.debtor.kind == DebtorKind.consumer:
        key, text = "prescription_years_consumer", "C. conso. L218-2 (action d'un professionnel contre un consommateur)"
    else:
        key, text = "prescription_years_civil", "C. civ. 2224 (actions personnelles ou mobilières)"
    rule = legal_constant(key)
    assert rule is not None
    return rule.integer(), text


def _expired(d: dt.date, today: dt.date) -> str:
    return f" Délai expiré depuis le {d.isoformat()}." if d < today else ""


def case_deadlines(case: CaseFile, today: dt.date, *, notices: Iterable[tuple[dt.date, int]] = (),
                   ordonnance_date: dt.date | None = None) -> list[Deadline]:
    """Every deadline of the case, sorted by date; `notices` are (effective date, days to pay)
    of each mise en demeure sent. A deadline already past on `today` says so in its description."""
    region = debtor_region(case)
    out: list[Deadline] = []
    years, text = prescription_rule(case)
    for inv in case.invoices:
        end = prescription_end(inv.due_date, years)
        out.append(Deadline(
            "prescription", end,
            f"{text} : {years} ans à compter de l'échéance du {inv.due_date.isoformat()} (les tribunaux "
            "peuvent retenir la date d'achèvement de la prestation, donnée non disponible ici)",
            f"Prescription de l'action en paiement de la facture {inv.number} : agir au plus tard le "
            f"{end.isoformat()} ; délai non prorogé les samedis, dimanches et jours fériés (C. civ. 2229). "
            + _NOT_INTERRUPTED + _expired(end, today),
            inv.number))
    for effective, days in notices:
        end = payment_deadline(effective, days, region=region)
        out.append(Deadline(
            "payment_deadline", end,
            f"Mise en demeure du {effective.isoformat()} : {days} jours (CPC 641 et 642 par analogie, "
            f"jours fériés {'d’Alsace-Moselle' if region == 'alsace_moselle' else 'nationaux'})",
            f"Dernier jour de paiement accordé par la mise en demeure du {effective.isoformat()}, reporté au "
            "premier jour ouvrable s'il tombe un samedi, un dimanche ou un jour férié." + _expired(end, today)))
    if ordonnance_date is not None:
        end, months = ip_signification_deadline(ordonnance_date, region)
        switch = legal_constant("ip_signification_months")
        assert switch is not None and switch.effective_from is not None
        out.append(Deadline(
            "ip_signification", end,
            f"CPC 1411 : {months} mois pour une ordonnance rendue "
            f"{'avant le' if ordonnance_date < switch.effective_from else 'à compter du'} "
            f"{switch.effective_from.isoformat()} (décret n° 2026-96, art. 9) ; CPC 641 et 642",
            f"Signifier l'ordonnance d'injonction de payer du {ordonnance_date.isoformat()} au plus tard le "
            f"{end.isoformat()}, faute de quoi elle est non avenue ; la signification interrompt la "
            "prescription." + _expired(end, today)))
    return sorted(out, key=lambda d: (d.date, d.kind, d.invoice or ""))
