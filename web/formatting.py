"""French renderings of amounts, dates and the service's codes, as the pages print them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

__all__ = ["PARIS", "as_date", "as_datetime", "money", "date_fr", "datetime_fr", "label", "LABELS", "FILTERS",
           "age_days"]

PARIS = ZoneInfo("Europe/Paris")

LABELS: dict[str, dict[str, str]] = {
    "case_status": {
        "open": "Phase amiable", "formal_notice": "Mise en demeure", "injunction": "Injonction de payer",
        "settled": "Soldé", "closed": "Clos",
    },
    "document_status": {"pending": "En cours de génération", "ready": "Prêt", "failed": "Échec"},
    "document_kind": {
        "relance": "Lettre de relance", "mise_en_demeure": "Mise en demeure", "decompte": "Décompte",
        "requete_injonction_de_payer": "Requête en injonction de payer", "bordereau_pieces": "Bordereau de pièces",
        "dossier_injonction_de_payer": "Dossier d'injonction de payer",
    },
    "mailing_status": {
        "created": "Préparé, non déposé", "deposited": "Déposé", "presented": "Présenté, avisé",
        "delivered": "Distribué", "refused": "Refusé", "unclaimed": "Non réclamé",
        "addressee_unknown": "Destinataire inconnu (NPAI)", "returned": "Retourné à l'expéditeur",
    },
    "mailing_event": {
        "deposited": "Dépôt au guichet", "first_presented": "Première présentation (avis de passage)",
        "delivered": "Distribution", "unclaimed": "Pli avisé et non réclamé", "refused": "Refus du destinataire",
        "addressee_unknown": "Destinataire inconnu à l'adresse (NPAI)", "returned": "Retour à l'expéditeur",
    },
    "mailing_service": {"lrar": "LRAR", "lre": "LRE"},
    "event_source": {"clerk": "saisie manuelle", "csv_import": "import CSV", "laposte": "La Poste",
                     "webhook": "La Poste"},
    "reminder_channel": {
        "email": "Courriel", "phone": "Téléphone", "letter": "Courrier", "sms": "SMS", "visit": "Visite",
    },
    "deadline_kind": {
        "prescription": "Prescription", "payment_deadline": "Fin du délai de paiement",
        "ip_signification": "Signification de l'ordonnance",
    },
    "ledger_event": {
        "case.created": "Dossier créé", "payment.added": "Paiement enregistré", "reminder.logged": "Relance consignée",
        "evidence.uploaded": "Pièce versée au dossier", "case.status_changed": "Changement d'étape",
        "document.requested": "Document demandé", "document.generated": "Document généré",
        "document.failed": "Échec de génération", "mailing.created": "Envoi recommandé créé",
        "mailing.event_recorded": "Suivi de l'envoi recommandé",
        "mailing.receipt_scanned": "Avis de réception numérisé",
        "mailing.tracking_number_set": "Numéro de suivi attribué",
        "case.formal_notice_dated": "Date de mise en demeure fixée",
        "case.address_invalid": "Adresse du débiteur signalée invalide (NPAI)",
        "mailing.packet_archived": "Pli recommandé archivé (bordereau et lettre)",
        "case.ordonnance_recorded": "Ordonnance d'injonction de payer enregistrée",
        "archive.legal_hold": "Conservation pour litige (legal hold)",
    },
    "party_kind": {
        "company": "Société", "professional": "Professionnel", "individual": "Particulier",
        "consumer": "Consommateur",
    },
    "regime": {"commercial": "Commercial (entre professionnels)", "civil": "Civil"},
    "role": {"lawyer": "Avocat", "clerk": "Assistant(e) juridique"},
}


def label(code: object, kind: str) -> str:
    """The French label of a code; an unknown code is shown as is rather than hidden."""
    if code is None:
        return "—"
    return LABELS.get(kind, {}).get(str(code), str(code))


def as_date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(PARIS).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def as_datetime(value: object) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def money(value: object) -> str:
    """4800 → « 4 800,00 € » with a narrow no-break space, as French typography wants."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{amount:,.2f}".replace(",", "\u202f").replace(".", ",") + "\u00a0€"


def date_fr(value: object) -> str:
    day = as_date(value)
    return day.strftime("%d/%m/%Y") if day else "—"


def datetime_fr(value: object) -> str:
    moment = as_datetime(value)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if moment else "—"


def rate_fr(value: object) -> str:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{rate:.2f}" if rate == rate.quantize(Decimal("0.01")) else format(rate.normalize(), "f")
    return text.replace(".", ",") + "\u00a0%"


def age_days(value: object, today: dt.date) -> int | None:
    day = as_date(value)
    return (today - day).days if day else None


def plural(n: int, one: str, many: str) -> str:
    return f"{n}\u00a0{one if abs(n) < 2 else many}"


FILTERS = {"money": money, "date_fr": date_fr, "datetime_fr": datetime_fr, "rate_fr": rate_fr, "label": label,
           "plural": plural}


def next_day(value: object) -> dt.date | None:
    """Interest lines store an exclusive start; people read the first day that bears interest."""
    day = as_date(value)
    return day + dt.timedelta(days=1) if day else None


def ledger_detail(event_type: str, payload: dict) -> str:
    """One line saying what a ledger event recorded, from its payload."""
    p = payload or {}
    if event_type == "payment.added":
        return f"{money(p.get('amount'))} reçus le {date_fr(p.get('date'))}"
    if event_type == "reminder.logged":
        return f"{label(p.get('channel'), 'reminder_channel')} du {date_fr(p.get('date'))}"
    if event_type in ("evidence.uploaded", "mailing.receipt_scanned"):
        return str(p.get("title") or "")
    if event_type == "case.status_changed":
        return f"{label(p.get('from'), 'case_status')} → {label(p.get('to'), 'case_status')}"
    if event_type.startswith("document."):
        return label(p.get("kind"), "document_kind")
    if event_type == "mailing.created":
        return " ".join(x for x in (label(p.get("service"), "mailing_service"), p.get("level") or "",
                                    p.get("tracking_number") or "") if x)
    if event_type == "mailing.event_recorded":
        return f"{label(p.get('type'), 'mailing_event')} le {datetime_fr(p.get('at'))}"
    if event_type == "mailing.tracking_number_set":
        return str(p.get("tracking_number") or "")
    if event_type == "case.formal_notice_dated":
        if not p.get("formal_notice_date"):
            return "date de mise en demeure effacée (aucun pli présenté au débiteur)"
        return f"mise en demeure réputée reçue le {date_fr(p.get('formal_notice_date'))}"
    if event_type == "mailing.packet_archived":
        return f"empreinte SHA-256 {str(p.get('sha256') or '')[:16]}…"
    if event_type == "archive.legal_hold":
        return "posée" if p.get("on") else "levée"
    if event_type == "case.address_invalid":
        return str(p.get("reason") or "")
    return ""


def actor_label(actor: str, people: dict[str, str]) -> str:
    kind, _, ident = (actor or "").partition(":")
    if kind == "user":
        return people.get(ident, "utilisateur supprimé")
    if kind == "key":
        return "logiciel de recouvrement (clé API)"
    if kind == "provider":
        return "La Poste" if ident == "laposte" else ident
    return {"system": "système"}.get(actor, actor)


FILTERS.update({"next_day": next_day})
