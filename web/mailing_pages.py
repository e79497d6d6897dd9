"""Clerks' pages: registered letters awaiting their receipt, recording what La Poste says,
and importing tracking events from a spreadsheet."""
from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

from flask import abort, flash, redirect, render_template, request, url_for

from casefiles.errors import DomainError, InvalidInput, NotFound
from casefiles.model import parse_iso_date
from casefiles.services import MAX_FILENAME

from . import services
from .blueprint import bp, int_param, paris_now, today
from .formatting import LABELS, PARIS, age_days, as_date, as_datetime, date_fr
from .security import container, current_user, login_required

log = logging.getLogger("recouvre.web")

# A letter is late when La Poste should have said something by now: an avis de passage keeps a
# letter 15 days at the post office; a deposited letter is normally presented within days.
PRESENTED_OVERDUE_DAYS = 15
DEPOSITED_OVERDUE_DAYS = 10
AGE_FILTERS = (7, 15, 30)
_MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
_CSV_MAX_BYTES = 2 * 1024 * 1024
EVENT_TYPES = tuple(LABELS["mailing_event"])


def _service():
    delivery = services.delivery()
    if delivery is None:
        abort(404)
    return delivery


def _first(events: list[dict], kind: str) -> dt.datetime | None:
    moments = [as_datetime(e.get("at")) for e in events if e.get("type") == kind]
    moments = [m for m in moments if m is not None]
    return min(moments) if moments else None


def queue_row(m: dict, on: dt.date) -> dict:
    """One line of the clerk's queue, with why it is overdue, if it is."""
    events = m.get("events") or []
    presented = _first(events, "first_presented")
    deposited = as_datetime(m.get("deposited_at")) or _first(events, "deposited")
    overdue = None
    if m.get("status") == "presented" and presented is not None:
        waited = (on - presented.astimezone(PARIS).date()).days
        if waited > PRESENTED_OVERDUE_DAYS:
            overdue = f"Présenté il y a {waited} jours, sans nouvelle"
    elif m.get("status") == "deposited" and deposited is not None:
        waited = (on - deposited.astimezone(PARIS).date()).days
        if waited > DEPOSITED_OVERDUE_DAYS:
            overdue = f"Déposé il y a {waited} jours, sans nouvelle"
    last = max(events, key=lambda e: as_datetime(e.get("at")) or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
               default=None)
    return {**m, "presented_at": presented, "deposited": deposited, "overdue": overdue, "last_event": last,
            "age": age_days(deposited or m.get("created_at"), on)}


@bp.get("/mailings")
@login_required("cases:read")
def mailings():
    delivery = services.delivery()
    age = int_param("age", 0, minimum=0, maximum=max(AGE_FILTERS))
    age = age if age in AGE_FILTERS else 0
    show_all = request.args.get("etat") == "tous"
    rows = []
    if delivery is not None:
        with container().db.read() as conn:
            found = delivery.list_mailings(conn, current_user().tenant_id,
                                           awaiting_receipt=None if show_all else True,
                                           older_than_days=age or None)
        on = today()
        rows = [queue_row(m, on) for m in found]
    return render_template("mailings.html", rows=rows, age=age, ages=AGE_FILTERS, show_all=show_all,
                           delivery_available=delivery is not None,
                           overdue_count=sum(1 for r in rows if r["overdue"]))


def _load(conn, delivery, mailing_id: str) -> dict:
    try:
        return delivery.get_mailing(conn, current_user().tenant_id, mailing_id)
    except NotFound:
        abort(404)


def _render_mailing(mailing: dict, scans: list[dict], *, event_form: dict | None = None,
                    event_errors: dict | None = None, scan_errors: dict | None = None, status: int = 200):
    form = {"type": "", "date": today().isoformat(), "time": "", "event_id": str(uuid.uuid4())}
    form.update(event_form or {})
    row = queue_row(mailing, today())
    return render_template("mailing.html", m=row, scans=scans, form=form, event_errors=event_errors or {},
                           scan_errors=scan_errors or {}, event_types=EVENT_TYPES), status


def _load_with_scans(delivery, mailing_id: str) -> tuple[dict, list[dict]]:
    with container().db.read() as conn:
        found = _load(conn, delivery, mailing_id)
        scans = delivery.receipt_scans(conn, current_user().tenant_id, mailing_id) if found["receipt_scanned"] else []
        return found, scans


@bp.get("/mailings/<mailing_id>")
@login_required("cases:read")
def mailing(mailing_id: str):
    found, scans = _load_with_scans(_service(), mailing_id)
    return _render_mailing(found, scans)


def parse_day(raw: str) -> dt.date | None:
    """AAAA-MM-JJ (what a browser's date field sends) or JJ/MM/AAAA (what a clerk types)."""
    value = raw.strip()
    if day := parse_iso_date(value):
        return day
    if m := re.fullmatch(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})", value):
        try:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            return None
    return None


def _event_moment(form: dict, errors: dict) -> dt.datetime | None:
    """The instant of the event, in Paris.

    Without a time, a past day is taken at noon (the day is what counts in law, and noon never
    changes day in UTC); today is taken at the current minute, since the clerk is recording
    something that has already happened today and noon may still be ahead."""
    raw_date, raw_time = (form.get("date") or "").strip(), (form.get("time") or "").strip()
    if not raw_date:
        errors["date"] = "Indiquez la date de l'événement (celle portée sur l'avis ou le suivi La Poste)."
        return None
    day = parse_day(raw_date)
    if day is None:
        errors["date"] = "Date invalide : utilisez le format JJ/MM/AAAA (par exemple 05/03/2026)."
        return None
    clock = None
    if raw_time:
        try:
            clock = dt.time.fromisoformat(raw_time.replace("h", ":"))
        except ValueError:
            errors["time"] = "Heure invalide : utilisez le format HH:MM."
            return None
    now = paris_now()
    if day > now.date():
        errors["date"] = "La date ne peut pas être dans le futur."
        return None
    if day < dt.date(2000, 1, 1):
        errors["date"] = "Date trop ancienne : vérifiez l'année."
        return None
    if clock is None:
        if day == now.date():
            return now.replace(second=0, microsecond=0)
        clock = dt.time(12, 0)
    moment = dt.datetime.combine(day, clock.replace(tzinfo=None), tzinfo=PARIS)
    if moment > now:
        errors["time"] = f"L'heure ne peut pas être dans le futur : il est {now:%H:%M} à Paris."
        return None
    return moment


_POINTER_FIELDS = {"/type": "type", "/at": "date", "/date": "date", "/time": "time"}
_SERVICE_MESSAGES = {     # what the service says in English, as the clerk should read it
    "type": "Choisissez l'événement constaté.",
    "date": "Date ou heure refusée : elle ne peut pas être dans le futur et doit être une date valide.",
    "time": "Heure invalide : utilisez le format HH:MM.",
    "form": "L'événement n'a pas pu être enregistré. Vérifiez les champs, puis recommencez.",
}


@bp.post("/mailings/<mailing_id>/events")
@login_required("mailings:write")
def record_event(mailing_id: str):
    delivery = _service()
    form = {k: request.form.get(k, "") for k in ("type", "date", "time", "event_id")}
    errors: dict[str, str] = {}
    if form["type"] not in EVENT_TYPES:
        errors["type"] = "Choisissez l'événement constaté."
    at = _event_moment(form, errors)
    c = container()
    user = current_user()
    if not errors:
        try:
            with c.db.write() as conn:
                updated = delivery.record_event(conn, user.tenant_id, user.actor, mailing_id, type=form["type"],
                                                at=at, source="clerk", event_id=form["event_id"] or None)
        except NotFound:
            abort(404)
        except InvalidInput as exc:
            log.info("event refused for mailing %s: %s", mailing_id, exc.detail)
            for e in exc.errors:
                field = _POINTER_FIELDS.get(e.pointer, "form")
                errors[field] = _SERVICE_MESSAGES[field]
        except DomainError as exc:
            log.warning("event refused for mailing %s: %s", mailing_id, exc.detail)
            errors["form"] = ("L'événement n'a pas pu être enregistré. Rechargez la page pour voir l'état du "
                              "courrier, puis recommencez ; si le refus persiste, signalez-le à l'administrateur.")
        else:
            flash(_saved_message(updated, form["type"]), "success")
            return redirect(url_for("web.mailing", mailing_id=mailing_id) + "#resultat", code=303)
    found, scans = _load_with_scans(delivery, mailing_id)
    return _render_mailing(found, scans, event_form=form, event_errors=errors, status=422)


def _saved_message(m: dict, event_type: str) -> str:
    what = LABELS["mailing_event"].get(event_type, event_type)
    effective, deadline = as_date(m.get("effective_date")), as_date(m.get("deadline"))
    text = f"Événement enregistré : {what.lower()}."
    if effective:
        text += f" Date d'effet de la lettre : {date_fr(effective)}."
    else:
        text += " La lettre n'a pas encore de date d'effet."
    if deadline:
        text += f" Fin du délai de paiement : {date_fr(deadline)}."
    return text


def sniff(data: bytes) -> str | None:
    """The file's type from its first bytes, never from its name."""
    return next((media for magic, media in _MAGIC if data.startswith(magic)), None)


_SCAN_REFUSED = ("Le fichier n'a pas pu être enregistré. Vérifiez qu'il s'agit bien du PDF ou de l'image de "
                 "l'avis de réception, puis recommencez.")
_FILENAME_REFUSED = (f"Nom de fichier refusé : {MAX_FILENAME} caractères au plus, sans caractère de contrôle. "
                     "Renommez le fichier (par exemple « avis-reception.pdf »), puis recommencez.")


@bp.post("/mailings/<mailing_id>/receipt-scan")
@login_required("mailings:write")
def receipt_scan(mailing_id: str):
    delivery = _service()
    c = container()
    user = current_user()
    limit = c.settings.max_upload_bytes
    errors: dict[str, str] = {}
    upload = request.files.get("scan")
    data = upload.read(limit + 1) if upload else b""
    media_type = sniff(data) if data else None
    if upload is None or (not upload.filename and not data):
        errors["scan"] = "Choisissez le fichier de l'avis de réception numérisé."
    elif not data:
        errors["scan"] = "Le fichier est vide."
    elif len(data) > limit:
        errors["scan"] = f"Le fichier dépasse la limite de {limit // (1024 * 1024)} Mo."
    elif media_type is None:
        errors["scan"] = "Format non accepté : envoyez un PDF, un PNG ou un JPEG."
    if not errors:
        try:
            with c.db.write() as conn:
                delivery.attach_receipt_scan(conn, c, user.tenant_id, user.actor, mailing_id, data=data,
                                             media_type=media_type, filename=upload.filename or None)
        except NotFound:
            abort(404)
        except InvalidInput as exc:
            log.info("receipt scan refused for mailing %s: %s", mailing_id, exc.detail)
            errors["scan"] = (_FILENAME_REFUSED if any(e.pointer == "/file" for e in exc.errors)
                              else _SCAN_REFUSED)
        except DomainError as exc:
            log.warning("receipt scan refused for mailing %s: %s", mailing_id, exc.detail)
            errors["scan"] = _SCAN_REFUSED
        else:
            flash("Avis de réception numérisé enregistré et versé au dossier.", "success")
            return redirect(url_for("web.mailing", mailing_id=mailing_id) + "#resultat", code=303)
    found, scans = _load_with_scans(delivery, mailing_id)
    return _render_mailing(found, scans, scan_errors=errors, status=422)


def _decode_csv(raw: bytes) -> str:
    """UTF-8 first; a French Excel export is Windows-1252, so that is the fallback."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


@bp.route("/mailings/import", methods=["GET", "POST"])
@login_required("mailings:write")
def import_csv():
    delivery = _service()
    if request.method == "GET":
        return render_template("import.html", text="", report=None, errors={}, confirmed=False)
    errors: dict[str, str] = {}
    upload = request.files.get("file")
    text = request.form.get("csv_text") or ""
    if upload and upload.filename:
        raw = upload.read(_CSV_MAX_BYTES + 1)
        if len(raw) > _CSV_MAX_BYTES:
            errors["file"] = "Fichier trop volumineux : 2 Mo au plus. Découpez-le en plusieurs imports."
        else:
            text = _decode_csv(raw)
    if not errors and not text.strip():
        errors["file"] = "Choisissez un fichier CSV ou collez son contenu."
    if errors:
        return render_template("import.html", text=text, report=None, errors=errors, confirmed=False), 422
    confirm = request.form.get("action") == "confirm"
    c = container()
    user = current_user()
    try:
        with (c.db.write() if confirm else c.db.read()) as conn:
            report = delivery.import_tracking_csv(conn, user.tenant_id, user.actor, text, dry_run=not confirm)
    except InvalidInput as exc:       # the header row: without it no line can be read
        problems = " ; ".join(dict.fromkeys(e.message for e in exc.errors))
        errors["file"] = (f"En-tête du fichier non reconnu ({problems}). La première ligne doit nommer les "
                          "colonnes tracking_number, event et date, par exemple : tracking_number;event;date")
        return render_template("import.html", text=text, report=None, errors=errors, confirmed=False), 422
    return render_template("import.html", text=text, report=report, rejected_lines=rejected_lines(report),
                           errors={}, confirmed=confirm)


_CSV_COLUMNS = {"tracking_number": "N° de suivi", "event": "Événement", "date": "Date"}


def rejected_lines(report: dict) -> list[dict]:
    """The service reports one entry per fault; the clerk reads one row per line of the file."""
    lines: dict[int, dict] = {}
    for r in report.get("rejected") or []:
        line = lines.setdefault(r["line"], {"line": r["line"], "faults": []})
        line["faults"].append({"column": _CSV_COLUMNS.get(r.get("column") or "", r.get("column")),
                               "message": r["message"]})
    return sorted(lines.values(), key=lambda x: x["line"])
