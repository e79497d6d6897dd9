"""The conventions a décompte states, keyed by French labels since documents print them as
« libellé : valeur »; option names appear in brackets so an operator can map them back."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ._fmt import fr_rate
from .constants import legal_constant
from .statement import ClaimOptions

NO_NOTICE_WARNING = ("Aucun intérêt calculé : hors relations entre professionnels, les intérêts moratoires "
                     "ne courent qu'à compter d'une mise en demeure (C. civ. 1231-6, 1344-1) ; "
                     "renseigner formal_notice_date.")

_DAY_COUNT = {
    "actual_365": "jours exacts / 365, même les années bissextiles (service-public F783) [day_count = actual_365]",
    "actual_actual": ("jours exacts / 366 pour les jours d'une année bissextile, / 365 sinon "
                      "[day_count = actual_actual]"),
}
_IMPUTATION = {
    "interest_first": ("au sein d'une facture, le paiement s'impute d'abord sur les intérêts échus au jour du "
                       "paiement, puis sur le principal (C. civ. 1343-1) [imputation = interest_first]"),
    "principal_first": ("le paiement s'impute sur le principal seulement, facture par facture ; les intérêts "
                        "échus ne sont réglés qu'avec ce qui reste une fois tout le principal payé "
                        "(dérogation conventionnelle à C. civ. 1343-1) [imputation = principal_first]"),
}
_COMMON = {
    "Période d'intérêts": ("intérêts pour chaque jour J tel que début < J ≤ fin, fin = date d'arrêté ; "
                           "le jour d'un paiement porte encore intérêt sur le principal antérieur"),
    "Segments": ("segments coupés aux fins de semestre (30 juin, 31 décembre) et aux dates des paiements "
                 "imputés sur la facture"),
    "Arrondi": ("chaque segment : principal × taux / 100 × jours / diviseur, arrondi au centime (demi "
                "supérieur) ; les totaux sont la somme des segments arrondis"),
}
_ALLOCATION = {
    "Paiements non affectés": ("imputés sur les factures ayant un solde, de l'échéance la plus ancienne à "
                               "la plus récente, puis par numéro (C. civ. 1342-10)"),
    "Excédent d'un paiement affecté": ("ce qui excède le solde de la facture désignée est imputé comme un "
                                       "paiement non affecté (C. civ. 1342-10)"),
    "Trop-perçu": ("ce qui excède tous les intérêts et principaux est porté en trop-perçu (credit), sans "
                   "imputation sur les indemnités forfaitaires"),
    "Ordre des paiements": ("paiements traités par date (à date égale, les paiements affectés d'abord) ; "
                            "paiements postérieurs à la date d'arrêté ignorés"),
}
_LINES_ORDER = ("lignes triées par numéro de facture, puis par date ; factures présentées par échéance puis "
                "numéro (ordre d'imputation)")


def _rate_text(basis: str, category: str, contract_rate: Decimal | None) -> str:
    if basis == "ecb_plus_10":
        points = legal_constant("l441_10_points")
        return ("taux BCE de l'opération principale de refinancement en vigueur au 1er janvier (jours de "
                "janvier à juin) ou au 1er juillet (juillet à décembre) "
                f"+ {points.value if points else '?'} points (C. com. L441-10 II)")
    if basis == "legal_rate":
        cat = "créancier personne physique" if category == "particulier" else "autres cas"
        return (f"taux de l'intérêt légal, catégorie « {cat} » (C. mon. fin. L313-2 : la catégorie dépend "
                "du créancier)")
    if basis == "contract":
        return f"taux contractuel {fr_rate(contract_rate)} % l'an" if contract_rate is not None else "taux contractuel"
    return "aucun intérêt de retard [late_interest.basis = none]"


def describe(*, commercial: bool, notice_date: dt.date | None, basis: str, forced: bool, category: str,
             contract_rate: Decimal | None, options: ClaimOptions) -> dict[str, str]:
    conv: dict[str, str] = {}
    if commercial:
        conv["Régime"] = ("commercial : créancier et débiteur professionnels (C. com. L441-10) — pénalités "
                          "exigibles sans rappel, indemnité forfaitaire pour frais de recouvrement (D441-5)")
    else:
        conv["Régime"] = ("civil : intérêts moratoires au taux légal à compter de la mise en demeure "
                          "(C. civ. 1231-6, 1344-1) ; pas d'indemnité forfaitaire")
    conv["Taux"] = _rate_text(basis, category, contract_rate) + (
        f" — imposé par le dossier [late_interest.basis = {basis}]" if forced else "")
    if commercial:
        conv["Point de départ des intérêts"] = "lendemain de la date d'échéance de chaque facture (C. com. L441-10 II)"
    elif notice_date:
        conv["Point de départ des intérêts"] = (f"lendemain de la mise en demeure du {notice_date.isoformat()}, "
                                               "ou de l'échéance si elle est postérieure")
    else:
        conv["Point de départ des intérêts"] = "aucun : pas de mise en demeure (formal_notice_date absente)"
    conv.update(_COMMON)
    conv["Décompte des jours"] = _DAY_COUNT[options.day_count]
    conv["Imputation des paiements"] = _IMPUTATION[options.imputation]
    conv.update(_ALLOCATION)
    if commercial:
        amount = legal_constant("indemnite_forfaitaire_eur")
        conv["Indemnité forfaitaire"] = (
            f"{amount.value if amount else '?'} € par facture dont le principal n'était pas intégralement payé "
            "à la fin du jour d'échéance (C. com. L441-10 II, D441-5 ; CJUE C-585/20)")
    else:
        conv["Indemnité forfaitaire"] = "aucune : elle n'est due que par un débiteur professionnel (L441-10 II)"
    conv["Ordre des lignes"] = _LINES_ORDER
    return conv
