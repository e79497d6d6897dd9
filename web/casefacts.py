"""What the pages say about a case beyond its stored data: the décompte and the deadlines.

Both are computed on the Paris day of the request, from the same functions the documents use,
so the page and the letter cannot disagree.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from casefiles.model import CaseFile
from law import ClaimStatement, Deadline, MissingRateError, case_deadlines, compute_claim

from .formatting import as_date, date_fr

__all__ = ["ClaimView", "claim_view", "deadlines", "next_deadline"]

log = logging.getLogger("recouvre.web")


@dataclass
class ClaimView:
    statement: ClaimStatement | None
    error: str | None = None
    missing_rate: bool = False
    warnings: list[str] = field(default_factory=list)


def claim_view(case: CaseFile, on: dt.date, rates) -> ClaimView:
    try:
        statement = compute_claim(case, on, rates=rates)
    except MissingRateError as exc:
        return ClaimView(None, missing_rate=True, error=(
            f"Le décompte ne peut pas être calculé au {date_fr(on)} : le taux « {exc.basis} » du semestre "
            f"{exc.semester} n'est pas encore dans le barème des taux. Demandez à l'administrateur de l'y ajouter "
            "(taux publié au Journal officiel ou par la BCE), puis rechargez la page."))
    except ValueError as exc:     # the engine's reason is English, for integrators: logged, not shown
        log.warning("claim of case %s cannot be computed: %s", case.reference, exc)
        return ClaimView(None, error="Le décompte ne peut pas être calculé : les données du dossier sont "
                                     "incohérentes (factures, paiements ou dates). Demandez au gestionnaire de "
                                     "votre logiciel de recouvrement de les vérifier dans ce dossier.")
    return ClaimView(statement, warnings=list(statement.warnings))


def deadlines(case: CaseFile, on: dt.date, mailings: list[dict] | None = None) -> list[Deadline]:
    """The legal deadlines of the case plus the payment deadline of each registered letter."""
    out = list(case_deadlines(case, on))
    for m in mailings or []:
        end, effective = as_date(m.get("deadline")), as_date(m.get("effective_date"))
        if end is None:
            continue
        what = f"l'envoi recommandé {m.get('tracking_number') or ''}".strip()
        out.append(Deadline(
            "payment_deadline", end,
            f"Courrier reçu (date d'effet {date_fr(effective)})" if effective else "Courrier recommandé",
            f"Dernier jour de paiement accordé par {what}." + (" Délai expiré." if end < on else "")))
    return sorted(out, key=lambda d: (d.date, d.kind, d.invoice or ""))


def next_deadline(items: list[Deadline], on: dt.date) -> Deadline | None:
    return next((d for d in items if d.date >= on), None)
