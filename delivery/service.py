"""Registered mail of a case: mailings, their tracking events, packets and the dates they start.

Events come from clerks, CSV imports and provider webhooks, in any order and possibly twice;
each is stored once (by the source's id, else by type and UTC instant) and the mailing's state
is re-derived from all of them. The case's `formal_notice_date` is the effective date (first
presentation) of its earliest mise en demeure that has one, recomputed on every event: civil
interest runs from it. Each mailing's payment deadline follows CPC 641/642 with the holidays
of the debtor's region.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from pypdf.errors import PdfReadError
from sqlalchemy import Connection, exists, func, insert, literal, not_, or_, select, update

from casefiles import services as cases
from casefiles.errors import Conflict, InvalidInput, NotFound
from casefiles.model import CaseFile, FieldError
from persistence.tables import documents, evidence, mailing_events, mailings
from storage import ArchiveConflict

from ._address import AddressBlock, validate_postal_address
from ._csv_import import parse_tracking_csv
from ._packet import Annex, BatchItem, build_address_sheet, build_packet, build_print_batch
from ._status import EVENT_TYPES, MailingEvent, dedupe_key, derive_status
from ._tracking import TrackingNumberError, parse_tracking_number

__all__ = ["create_mailing", "set_tracking_number", "get_mailing", "list_mailings", "record_event",
           "attach_receipt_scan", "receipt_scans", "import_tracking_csv", "packet_pdf", "stored_packet",
           "print_batch", "apply_provider_events", "scan_deadlines", "AWAITING"]

log = logging.getLogger("recouvre.delivery")

AWAITING = ("deposited", "presented")
LETTER_KINDS = ("mise_en_demeure", "relance", "requete_injonction_de_payer")
ANNEX_MEDIA = ("application/pdf", "image/png", "image/jpeg")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _tracking(value: Any, pointer: str = "/tracking_number") -> str:
    if not isinstance(value, str):
        raise InvalidInput([FieldError(pointer, "tracking_number must be a string")])
    try:
        return parse_tracking_number(value).value
    except TrackingNumberError as exc:
        raise InvalidInput([FieldError(pointer, f"{exc.rule}: {exc.message}")]) from None


def _events(conn: Connection, mailing_id: str) -> list[Mapping[str, Any]]:
    return list(conn.execute(select(mailing_events).where(mailing_events.c.mailing_id == mailing_id)
                             .order_by(mailing_events.c.at, mailing_events.c.created_at)).mappings())


def _mailing_prefix(tenant_id: str, case_id: str, mailing_id: str) -> str:
    return f"tenants/{tenant_id}/cases/{case_id}/mailings/{mailing_id}/"


def _receipt_scanned():
    """SQL: the mailing row has a scanned avis de réception (evidence archived under its prefix)."""
    prefix = (literal("tenants/") + mailings.c.tenant_id + literal("/cases/") + mailings.c.case_id
              + literal("/mailings/") + mailings.c.id + literal("/receipt-"))
    return exists(select(evidence.c.id).where(
        evidence.c.tenant_id == mailings.c.tenant_id, evidence.c.case_id == mailings.c.case_id,
        evidence.c.kind == "receipt_scan", evidence.c.archive_key.startswith(prefix)))


def _select_mailings():
    """Mailing rows with their `receipt_scanned` flag, in the same query."""
    return select(mailings, _receipt_scanned().label("receipt_scanned"))


def receipt_scans(conn: Connection, tenant_id: str, mailing_id: str) -> list[dict[str, Any]]:
    """The mailing's scanned avis de réception, oldest first, as evidence records."""
    row = _row(conn, tenant_id, mailing_id)
    prefix = _mailing_prefix(tenant_id, row["case_id"], mailing_id) + "receipt-"
    found = conn.execute(select(evidence).where(
        evidence.c.tenant_id == tenant_id, evidence.c.case_id == row["case_id"], evidence.c.kind == "receipt_scan",
        evidence.c.archive_key.startswith(prefix, autoescape=True))
        .order_by(evidence.c.created_at, evidence.c.id)).mappings()
    return [{"id": e["id"], "filename": e["filename"], "media_type": e["media_type"], "size": e["size"],
             "sha256": e["sha256"], "archive_key": e["archive_key"], "version_id": e["version_id"],
             "created_at": e["created_at"].isoformat()} for e in found]


def _out(conn: Connection, row: Mapping[str, Any], events: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    events = _events(conn, row["id"]) if events is None else events
    case = conn.execute(select(cases.cases.c.reference, cases.cases.c.debtor_name)
                        .where(cases.cases.c.id == row["case_id"])).first()
    # The clerk holds the signed avis once it is scanned, whatever tracking events say.
    scanned = bool(row["receipt_scanned"])
    awaiting = row["status"] in AWAITING and not scanned
    return {
        "id": row["id"], "case_id": row["case_id"], "case_reference": case.reference, "debtor_name": case.debtor_name,
        "document_id": row["document_id"], "service": row["service"], "level": row["level"],
        "provider": row["provider"], "tracking_number": row["tracking_number"], "status": row["status"],
        "payment_days": row["payment_days"],
        "effective_date": row["effective_date"].isoformat() if row["effective_date"] else None,
        "deadline": row["deadline"].isoformat() if row["deadline"] else None,
        "deposited_at": row["deposited_at"].isoformat() if row["deposited_at"] else None,
        "awaiting_receipt": awaiting, "receipt_scanned": scanned,
        "annexes": list(row.get("annexes") or []),
        "created_at": row["created_at"].isoformat(), "updated_at": row["updated_at"].isoformat(),
        "events": [{"type": e["type"], "at": e["at"].isoformat(), "source": e["source"]} for e in events],
    }


def _row(conn: Connection, tenant_id: str, mailing_id: str, lock: bool = False) -> Mapping[str, Any]:
    q = _select_mailings().where(mailings.c.id == mailing_id, mailings.c.tenant_id == tenant_id)
    row = conn.execute(q.with_for_update(of=mailings) if lock else q).mappings().first()
    if row is None:
        raise NotFound(f"no mailing {mailing_id}")
    return row


def _locked_case(conn: Connection, case_id: str) -> Mapping[str, Any]:
    return conn.execute(select(cases.cases).where(cases.cases.c.id == case_id).with_for_update()).mappings().one()


def create_mailing(conn: Connection, tenant_id: str, actor: str, case_id: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput([FieldError("", "must be a JSON object")])
    errors = [FieldError(f"/{k}", "unknown field") for k in data
              if k not in ("document_id", "service", "level", "tracking_number", "annexes")]
    if data.get("service") not in ("lrar", "lre"):
        errors.append(FieldError("/service", "service must be lrar or lre"))
    if data.get("level") not in ("R1", "R2", "R3"):
        errors.append(FieldError("/level", "level must be R1, R2 or R3"))
    if not isinstance(data.get("document_id"), str):
        errors.append(FieldError("/document_id", "document_id is required"))
    tracking = None
    if data.get("tracking_number") is not None:
        try:
            tracking = _tracking(data["tracking_number"])
        except InvalidInput as exc:
            errors += exc.errors
    annex_ids = data.get("annexes") or []
    if not isinstance(annex_ids, list) or not all(isinstance(a, str) for a in annex_ids):
        errors.append(FieldError("/annexes", "annexes must be a list of evidence ids"))
        annex_ids = []
    if errors:
        raise InvalidInput(errors)
    case, _ = cases.load_case(conn, tenant_id, case_id)
    doc = conn.execute(select(documents).where(documents.c.id == data["document_id"],
                                               documents.c.tenant_id == tenant_id,
                                               documents.c.case_id == case_id)).mappings().first()
    if doc is None:
        raise InvalidInput([FieldError("/document_id", "no document with this id in the case")])
    if doc["kind"] not in LETTER_KINDS:
        raise InvalidInput([FieldError("/document_id", f"a {doc['kind']} is not a letter to post")])
    if errors := _annex_errors(conn, tenant_id, case_id, annex_ids) + _address_errors(case):
        raise InvalidInput(errors)
    if doc["status"] != "ready":
        raise Conflict(f"document {doc['id']} is {doc['status']}: wait until it is ready")
    moment = _now()
    row = dict(id=str(uuid.uuid4()), tenant_id=tenant_id, case_id=case_id, document_id=doc["id"],
               service=data["service"], level=data["level"], provider="paper" if data["service"] == "lrar" else "lre",
               tracking_number=tracking, status="created", payment_days=doc["params"].get("payment_days", 8),
               annexes=list(annex_ids), created_at=moment, updated_at=moment)
    conn.execute(insert(mailings).values(**row))
    cases.append_event(conn, _locked_case(conn, case_id), "mailing.created", actor, {
        "mailing_id": row["id"], "document_id": doc["id"], "document_sha256": doc["sha256"],
        "service": row["service"], "level": row["level"], "tracking_number": tracking,
        "annexes": row["annexes"]})
    _queue_packet(conn, row)
    return _out(conn, {**row, "effective_date": None, "deadline": None, "deposited_at": None,
                       "receipt_scanned": False}, [])


def _annex_errors(conn: Connection, tenant_id: str, case_id: str, annex_ids: list[str]) -> list[FieldError]:
    """Annexes are evidence of the same case, in a form the packet can print."""
    found = {r.id: r for r in conn.execute(select(evidence.c.id, evidence.c.media_type).where(
        evidence.c.id.in_(annex_ids), evidence.c.tenant_id == tenant_id, evidence.c.case_id == case_id))} \
        if annex_ids else {}
    errors = []
    for i, annex_id in enumerate(annex_ids):
        if annex_id not in found:
            errors.append(FieldError(f"/annexes/{i}", "no evidence with this id in the case"))
        elif found[annex_id].media_type not in ANNEX_MEDIA:
            errors.append(FieldError(f"/annexes/{i}", f"a {found[annex_id].media_type} file cannot be printed"))
        elif annex_id in annex_ids[:i]:
            errors.append(FieldError(f"/annexes/{i}", "this evidence is already annexed"))
    return errors


_ADDRESS_POINTERS = {"name": "/name", "complement": "/address/lines", "lines": "/address/lines",
                     "postal_code": "/address/postal_code", "city": "/address/city", "country": "/address/country"}


def _sender(case: CaseFile) -> tuple[str, Any]:
    return ("/collection_agency", case.collection_agency) if case.collection_agency else ("/creditor", case.creditor)


def _address_errors(case: CaseFile) -> list[FieldError]:
    """Why the envelope's recipient or return block cannot be laid out, as pointers into the case."""
    errors = []
    for base, party in (("/debtor", case.debtor), _sender(case)):
        a = party.address
        for field, message in validate_postal_address(list(a.lines), a.postal_code, a.city, a.country,
                                                      name=party.name):
            if field.startswith("lines["):
                pointer = f"{base}/address/lines/{field[6:-1]}"
            else:
                pointer = base + _ADDRESS_POINTERS.get(field, "/address")
            errors.append(FieldError(pointer, f"{message} (NF Z10-011 envelope block)"))
    return errors


def set_tracking_number(conn: Connection, tenant_id: str, actor: str, mailing_id: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) - {"tracking_number"} or "tracking_number" not in data:
        raise InvalidInput([FieldError("/tracking_number", "send {\"tracking_number\": \"...\"} and nothing else")])
    tracking = _tracking(data["tracking_number"])
    row = _row(conn, tenant_id, mailing_id, lock=True)
    if row["tracking_number"] == tracking:
        return _out(conn, row)
    if row["tracking_number"]:
        raise Conflict(f"mailing {mailing_id} already has tracking number {row['tracking_number']}")
    conn.execute(update(mailings).where(mailings.c.id == mailing_id).values(tracking_number=tracking, updated_at=_now()))
    cases.append_event(conn, _locked_case(conn, row["case_id"]), "mailing.tracking_number_set", actor,
                       {"mailing_id": mailing_id, "tracking_number": tracking})
    _queue_packet(conn, row)
    return _out(conn, _row(conn, tenant_id, mailing_id))


def _queue_packet(conn: Connection, mailing: Mapping[str, Any]) -> None:
    """The packet is built ahead, so that clerks printing a batch do not wait for it."""
    from jobs import enqueue
    enqueue(conn, "mailing.packet", {"mailing_id": mailing["id"]}, tenant_id=mailing["tenant_id"],
            case_id=mailing["case_id"], max_attempts=3)


def get_mailing(conn: Connection, tenant_id: str, mailing_id: str) -> dict[str, Any]:
    return _out(conn, _row(conn, tenant_id, mailing_id))


def list_mailings(conn: Connection, tenant_id: str, *, case_id: str | None = None,
                  awaiting_receipt: bool | None = None, older_than_days: int | None = None) -> list[dict[str, Any]]:
    """Oldest first: the clerks' queue starts with the letters waiting longest."""
    q = _select_mailings().where(mailings.c.tenant_id == tenant_id)
    if case_id:
        q = q.where(mailings.c.case_id == case_id)
    if awaiting_receipt is True:
        q = q.where(mailings.c.status.in_(AWAITING), not_(_receipt_scanned()))
    elif awaiting_receipt is False:
        q = q.where(or_(mailings.c.status.notin_(AWAITING), _receipt_scanned()))
    if older_than_days is not None:
        cutoff = _now() - dt.timedelta(days=older_than_days)
        q = q.where(func.coalesce(mailings.c.deposited_at, mailings.c.created_at) <= cutoff)
    rows = conn.execute(q.order_by(func.coalesce(mailings.c.deposited_at, mailings.c.created_at),
                                   mailings.c.id)).mappings().all()
    return [_out(conn, r) for r in rows]


def _refresh(conn: Connection, mailing: Mapping[str, Any], actor: str) -> dict[str, Any]:
    """Re-derives the state from every stored event and propagates it to the case."""
    from law import payment_deadline
    from law.deadlines import debtor_region
    import webhooks
    stored = _events(conn, mailing["id"])
    state = derive_status(MailingEvent(e["type"], e["at"], None, e["source"]) for e in stored)
    case_row = _locked_case(conn, mailing["case_id"])
    case = CaseFile.model_validate(case_row["data"])
    deadline = payment_deadline(state.effective_date, mailing["payment_days"], region=debtor_region(case)) \
        if state.effective_date else None
    conn.execute(update(mailings).where(mailings.c.id == mailing["id"]).values(
        status=state.status, effective_date=state.effective_date, deadline=deadline,
        deposited_at=state.deposited_at, updated_at=_now()))
    case_row = _date_formal_notice(conn, case_row, mailing, actor)
    if state.address_invalid and not case_row["address_invalid"]:
        cases.append_event(conn, case_row, "case.address_invalid", actor,
                           {"mailing_id": mailing["id"], "reason": "n'habite pas à l'adresse indiquée"},
                           changes={"address_invalid": True})
    out = _out(conn, _row(conn, mailing["tenant_id"], mailing["id"]))
    webhooks.emit(conn, mailing["tenant_id"], "mailing.updated",
                  {k: out[k] for k in ("id", "case_id", "status", "tracking_number", "effective_date", "deadline")})
    return out


def _date_formal_notice(conn: Connection, case_row: Mapping[str, Any], mailing: Mapping[str, Any],
                        actor: str) -> Mapping[str, Any]:
    """Sets the case's formal notice date to the earliest effective date among its mises en demeure.

    Recomputed from every mailing, so the arrival order of events does not matter. When no
    mise en demeure has an effective date any more (an NPAI came in) and the case's date was
    the one this mailing had given it, the date is cleared and the case is back to "open".
    Other letters (relances…) do not date the formal notice: nothing to recompute for them.
    """
    kind = conn.execute(select(documents.c.kind).where(documents.c.id == mailing["document_id"])).scalar()
    if kind != "mise_en_demeure":
        return case_row
    earliest = conn.execute(
        select(mailings.c.id, mailings.c.effective_date)
        .select_from(mailings.join(documents, documents.c.id == mailings.c.document_id))
        .where(mailings.c.case_id == case_row["id"], documents.c.kind == "mise_en_demeure",
               mailings.c.effective_date.isnot(None))
        .order_by(mailings.c.effective_date, mailings.c.created_at, mailings.c.id).limit(1)).first()
    current = case_row["data"].get("formal_notice_date")
    if earliest is not None:
        date = earliest.effective_date.isoformat()
        if current == date:
            return case_row
        new = dict(case_row["data"], formal_notice_date=date)
        cases.update_case_data(conn, case_row, actor, "case.formal_notice_dated",
                               {"mailing_id": earliest.id, "formal_notice_date": date,
                                "basis": "date of first presentation of the earliest mise en demeure"}, new,
                               status="formal_notice" if case_row["status"] == "open" else case_row["status"])
    elif current is not None and mailing["effective_date"] is not None and \
            current == mailing["effective_date"].isoformat():
        new = {k: v for k, v in case_row["data"].items() if k != "formal_notice_date"}
        cases.update_case_data(conn, case_row, actor, "case.formal_notice_dated",
                               {"mailing_id": mailing["id"], "formal_notice_date": None,
                                "basis": "no mise en demeure has an effective date any more"}, new,
                               status="open" if case_row["status"] == "formal_notice" else case_row["status"])
    else:
        return case_row
    return _locked_case(conn, case_row["id"])


def record_event(conn: Connection, tenant_id: str, actor: str, mailing_id: str, *, type: str,
                 at: dt.datetime, source: str = "clerk", event_id: str | None = None,
                 raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Stores one tracking event (once) and answers the mailing's new state.

    An event with an id is the same event as a stored one with that id (the same id with
    another type or instant is a conflict); with or without an id, an event of the same type
    at the same instant (compared in UTC) is the same event too.
    """
    errors = []
    if type not in EVENT_TYPES:
        errors.append(FieldError("/type", f"type must be one of {', '.join(EVENT_TYPES)}"))
    if not isinstance(at, dt.datetime) or at.tzinfo is None:
        errors.append(FieldError("/at", "at must be a date-time with its time zone, e.g. 2026-03-05T10:12:00+01:00"))
    elif at > _now() + dt.timedelta(minutes=5):
        errors.append(FieldError("/at", "at is in the future"))
    if errors:
        raise InvalidInput(errors)
    mailing = _row(conn, tenant_id, mailing_id, lock=True)
    at_utc = at.astimezone(dt.timezone.utc)
    key = _stored_key(MailingEvent(type, at, event_id, source))
    if event_id is not None:
        same_id = conn.execute(select(mailing_events.c.type, mailing_events.c.at).where(
            mailing_events.c.mailing_id == mailing_id, mailing_events.c.dedupe_key == key)).first()
        if same_id is not None:
            if (same_id.type, same_id.at) == (type, at_utc):
                return _out(conn, mailing)      # the same event again: stored once
            raise Conflict(f"event id {event_id!r} is already recorded for mailing {mailing_id} as "
                           f"{same_id.type} at {same_id.at.isoformat()}, not {type} at {at.isoformat()}")
    if conn.execute(select(mailing_events.c.id).where(
            mailing_events.c.mailing_id == mailing_id, mailing_events.c.type == type,
            mailing_events.c.at == at_utc)).first():
        return _out(conn, mailing)              # the same scan from another source, or without its id
    conn.execute(insert(mailing_events).values(id=str(uuid.uuid4()), mailing_id=mailing_id, dedupe_key=key,
                                               type=type, at=at, source=source, raw=dict(raw or {}),
                                               created_at=_now()))
    cases.append_event(conn, _locked_case(conn, mailing["case_id"]), "mailing.event_recorded", actor, {
        "mailing_id": mailing_id, "type": type, "at": at.isoformat(), "source": source, "event_id": event_id})
    return _refresh(conn, mailing, actor)


def _stored_key(event: MailingEvent) -> str:
    """The mailing_events.dedupe_key of an event (dedupe_key is in UTC, in its repr too)."""
    return hashlib.sha256(repr(dedupe_key(event)).encode()).hexdigest()


def attach_receipt_scan(conn: Connection, container, tenant_id: str, actor: str, mailing_id: str, *, data: bytes,
                        media_type: str, filename: str | None) -> dict[str, Any]:
    mailing = _row(conn, tenant_id, mailing_id)
    sha = hashlib.sha256(data).hexdigest()
    ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[media_type]
    key = f"{_mailing_prefix(tenant_id, mailing['case_id'], mailing_id)}receipt-{sha}.{ext}"
    # Archived inside the transaction, after the row: a failed put leaves no evidence row behind.
    ev = cases.record_evidence(conn, tenant_id, actor, mailing["case_id"], kind="receipt_scan",
                               title=f"Avis de réception LRAR {mailing['tracking_number'] or mailing_id}",
                               filename=filename, media_type=media_type, size=len(data), sha256=sha,
                               archive_key=key, store=lambda: container.archive.put(key, data, media_type),
                               event_type="mailing.receipt_scanned")
    return {"mailing": get_mailing(conn, tenant_id, mailing_id), "evidence": ev}


def import_tracking_csv(conn: Connection, tenant_id: str, actor: str, text: str | bytes, *,
                        dry_run: bool) -> dict[str, Any]:
    """Records the good lines; touches several cases, so webhooks are emitted at the end."""
    import webhooks
    with webhooks.emitting_at_end(conn):
        return _import_tracking_csv(conn, tenant_id, actor, text, dry_run=dry_run)


def _import_tracking_csv(conn: Connection, tenant_id: str, actor: str, text: str | bytes, *,
                         dry_run: bool) -> dict[str, Any]:
    parsed = parse_tracking_csv(text, now=_now())
    header = [e for e in parsed.errors if e.line == 1]
    if header:   # without its header row nothing in the file can be read
        raise InvalidInput([FieldError(f"/header/{e.column or ''}", e.message_fr) for e in header])
    rejected = [{"line": e.line, "column": e.column, "message": e.message_fr} for e in parsed.errors]
    numbers = sorted({row.tracking_number for row in parsed.rows})
    by_number: dict[str, str] = {}
    if numbers:
        for r in conn.execute(select(mailings.c.id, mailings.c.tracking_number).where(
                mailings.c.tenant_id == tenant_id, mailings.c.tracking_number.in_(numbers))
                .order_by(mailings.c.created_at, mailings.c.id)):
            by_number.setdefault(r.tracking_number, r.id)
    if not dry_run:
        _lock_mailings_and_cases(conn, by_number.values())
    accepted = []
    for row in parsed.rows:
        mailing_id = by_number.get(row.tracking_number)
        if mailing_id is None:
            rejected.append({"line": row.line, "column": "tracking_number",
                             "message": f"aucun envoi avec le numéro de suivi {row.tracking_number}"})
            continue
        if not dry_run:
            try:
                record_event(conn, tenant_id, actor, mailing_id, type=row.event_type, at=row.at,
                             source="csv_import")
            except Conflict:            # refused before anything was written: the other lines go on
                rejected.append({"line": row.line, "column": "event", "message":
                                 "événement contraire à un événement déjà enregistré pour cet envoi"})
                continue
        accepted.append({"line": row.line, "tracking_number": row.tracking_number, "event": row.event_type,
                         "at": row.at.isoformat(), "mailing_id": mailing_id})
    rejected.sort(key=lambda r: r["line"])
    return {"dry_run": dry_run, "accepted": accepted, "rejected": rejected}


def apply_provider_events(conn: Connection, provider: str, events) -> dict[str, int]:
    """Events from a provider webhook: matched by tracking number across tenants.

    An event whose id is already recorded with another content (La Poste re-sends the whole
    history, and an ND1's type comes from a label that may be reworded) is skipped, logged and
    counted in `conflicts`: it must not block the rest of the shipment's events, now or in any
    later push. Touches several cases (and tenants), so webhooks are emitted at the end (see
    webhooks.emit).
    """
    import webhooks
    events = list(events)
    applied = unknown = conflicts = 0
    numbers = sorted({ev.tracking_number for ev in events})
    matched: dict[str, list[Any]] = {}
    if numbers:
        for r in conn.execute(select(mailings.c.id, mailings.c.tenant_id, mailings.c.tracking_number).where(
                mailings.c.tracking_number.in_(numbers)).order_by(mailings.c.id)):
            matched.setdefault(r.tracking_number, []).append(r)
    _lock_mailings_and_cases(conn, [r.id for rows in matched.values() for r in rows])
    with webhooks.emitting_at_end(conn):
        for ev in events:
            rows = matched.get(ev.tracking_number, [])
            if not rows:
                unknown += 1
            for r in rows:
                try:
                    record_event(conn, r.tenant_id, f"provider:{provider}", r.id, type=ev.event_type, at=ev.at,
                                 source=provider, event_id=ev.provider_event_id, raw={"code": ev.raw_code})
                except Conflict as exc:     # refused before anything was written
                    log.warning("%s event skipped for mailing %s: %s", provider, r.id, exc.detail)
                    conflicts += 1
                    continue
                applied += 1
    return {"applied": applied, "unknown_tracking_numbers": unknown, "conflicts": conflicts}


def _lock_mailings_and_cases(conn: Connection, mailing_ids) -> None:
    """Locks, up front, the mailing rows a multi-mailing transaction will touch and then their
    cases, each in id order. Every transaction takes mailing rows before case rows (record_event,
    the packet's record) and the tenant feed last: two of them cannot each hold a row the other
    waits for, whatever order a file or a client lists the mailings in."""
    ids = sorted(set(mailing_ids))
    if not ids:
        return
    case_ids = conn.execute(select(mailings.c.case_id).where(mailings.c.id.in_(ids))
                            .order_by(mailings.c.id).with_for_update()).scalars().all()
    conn.execute(select(cases.cases.c.id).where(cases.cases.c.id.in_(sorted(set(case_ids))))
                 .order_by(cases.cases.c.id).with_for_update()).all()


def _block(party, name: str | None = None) -> AddressBlock:
    a = party.address
    return AddressBlock(name or party.name, list(a.lines), a.postal_code, a.city, a.country)


def _packet_key(mailing: Mapping[str, Any]) -> str:
    """One packet per tracking number: the number is printed on the address sheet."""
    return f"{_mailing_prefix(mailing['tenant_id'], mailing['case_id'], mailing['id'])}packet-" \
           f"{mailing['tracking_number'] or 'sans-numero'}.pdf"


def stored_packet(container, mailing: Mapping[str, Any]) -> tuple[bytes, str] | None:
    """The packet already archived for the mailing's current tracking number, read back by the
    version and digest recorded when it was archived; None when it is still to be built."""
    key = _packet_key(mailing)
    if mailing["packet_key"] != key:
        return None
    return container.archive.get(key, version_id=mailing["packet_version"],
                                 expected_sha256=mailing["packet_sha256"]), key


def packet_pdf(container, tenant_id: str, mailing_id: str, *, actor: str = "system",
               mailing: Mapping[str, Any] | None = None) -> tuple[bytes, str]:
    """The print-ready packet (address sheet, signed letter, annexes), archived once, then served.

    Runs its own transactions and holds none while the packet is built: on SQLite a write
    transaction would make every writer wait for the rendering, on PostgreSQL a row lock held
    that long invites deadlocks. The first call archives the packet, then records its key,
    digest and version on the mailing with `mailing.packet_archived` in the case's ledger, in a
    short write. Two builders may race: the write-once archive keeps the first bytes under the
    key, the other builder reads them back, and only the first to record does. A packet found
    in the archive but not recorded (its run did not commit) is recorded, not rebuilt.
    `mailing` is the row when the caller has read it already. Raises InvalidInput (pointers
    into the case) when an address cannot be laid out.
    """
    for _ in range(3):
        if mailing is None:
            with container.db.read() as conn:
                mailing = _row(conn, tenant_id, mailing_id)
        served = stored_packet(container, mailing)
        if served is not None:
            return served
        key = _packet_key(mailing)
        pdf, stored = _archived_packet(container, key) or _build_and_archive(container, tenant_id, mailing, key)
        with container.db.write() as conn:
            current = _row(conn, tenant_id, mailing_id, lock=True)
            if _packet_key(current) == key:
                if current["packet_key"] != key:      # else another builder recorded these same bytes
                    _record_packet(conn, current, key, pdf, stored, actor)
                return pdf, key
        mailing = None      # a tracking number came in meanwhile: the sheet must print it
    raise Conflict(f"mailing {mailing_id} changed while its packet was built; retry")


def _archived_packet(container, key: str):
    existing = container.archive.head(key)
    if existing is None:
        return None
    return container.archive.get(key, version_id=existing.version_id, expected_sha256=existing.sha256), existing


def _build_and_archive(container, tenant_id: str, mailing: Mapping[str, Any], key: str):
    with container.db.read() as conn:
        case, doc, annexes = _packet_parts(conn, tenant_id, mailing)
    pdf = _render_packet(container, mailing, case, doc, annexes)
    try:
        return pdf, container.archive.put(key, pdf, "application/pdf")
    except ArchiveConflict:
        # Another builder archived its own rendering first (the dates inside differ): that one is the packet.
        found = _archived_packet(container, key)
        if found is None:
            raise
        return found


def _record_packet(conn: Connection, mailing: Mapping[str, Any], key: str, pdf: bytes, stored, actor: str) -> None:
    sha = hashlib.sha256(pdf).hexdigest()
    conn.execute(update(mailings).where(mailings.c.id == mailing["id"]).values(
        packet_key=key, packet_sha256=sha, packet_version=stored.version_id, updated_at=_now()))
    cases.append_event(conn, _locked_case(conn, mailing["case_id"]), "mailing.packet_archived", actor, {
        "mailing_id": mailing["id"], "sha256": sha, "archive_key": key, "version_id": stored.version_id})


def _packet_parts(conn: Connection, tenant_id: str, mailing: Mapping[str, Any]):
    """What the packet is made of: the case, the letter's document row and the annexes' evidence rows."""
    case, _ = cases.load_case(conn, tenant_id, mailing["case_id"])
    if errors := _address_errors(case):
        raise InvalidInput(errors, detail="the case's addresses cannot be printed on the envelope (NF Z10-011): "
                                          + "; ".join(f"{e.pointer}: {e.message}" for e in errors[:3]))
    doc = conn.execute(select(documents).where(documents.c.id == mailing["document_id"])).mappings().one()
    annex_ids = list(mailing["annexes"] or [])
    found = {r["id"]: r for r in conn.execute(select(evidence).where(
        evidence.c.id.in_(annex_ids), evidence.c.tenant_id == tenant_id,
        evidence.c.case_id == mailing["case_id"])).mappings()} if annex_ids else {}
    return case, doc, [found[a] for a in annex_ids]


def _render_packet(container, mailing: Mapping[str, Any], case: CaseFile, doc: Mapping[str, Any],
                   annex_rows: list[Mapping[str, Any]]) -> bytes:
    try:
        sheet = build_address_sheet(_block(_sender(case)[1]), _block(case.debtor), mailing["tracking_number"],
                                    mailing["level"], mailing["service"], case.reference)
    except TrackingNumberError as exc:   # stored before the parser refused it
        raise InvalidInput([FieldError("/tracking_number", f"{exc.rule}: {exc.message}")]) from None
    letter = container.archive.get(doc["pdf_key"], version_id=doc["pdf_version"], expected_sha256=doc["sha256"])
    annexes = [Annex(container.archive.get(r["archive_key"], version_id=r["version_id"], expected_sha256=r["sha256"]),
                     r["media_type"]) for r in annex_rows]
    try:
        return build_packet(sheet, letter, annexes)
    except (ValueError, PdfReadError) as exc:
        if not annexes:
            raise
        raise InvalidInput([FieldError("/annexes", f"an annexed file cannot be printed: {exc}")]) from None


def print_batch(container, tenant_id: str, mailing_ids: list[str], *, actor: str = "system") -> tuple[bytes, str]:
    """One PDF for the printer and the deposit manifest, in the order given.

    Locks nothing while it builds: each missing packet is built, then recorded in a write of
    its own (packet_pdf), so a batch cannot deadlock with an import or another batch listing
    the same mailings in another order.
    """
    with container.db.read() as conn:
        rows = [_row(conn, tenant_id, mid) for mid in mailing_ids]
        debtors = {r["case_id"]: cases.load_case(conn, tenant_id, r["case_id"])[0].debtor for r in rows}
    items = []
    for m in rows:
        pdf, _ = packet_pdf(container, tenant_id, m["id"], actor=actor, mailing=m)
        debtor = debtors[m["case_id"]]
        items.append(BatchItem(m["id"], m["tracking_number"], debtor.name, debtor.address.postal_code,
                               debtor.address.city, m["level"], pdf))
    return build_print_batch(items)


def scan_deadlines(db, today: dt.date) -> None:
    """Emits `deadline.reached` once per mailing whose payment deadline has passed."""
    import webhooks
    with db.write() as conn, webhooks.emitting_at_end(conn):
        rows = conn.execute(select(mailings).where(mailings.c.deadline < today,
                                                   mailings.c.deadline >= today - dt.timedelta(days=30))).mappings()
        for m in rows:
            webhooks.emit(conn, m["tenant_id"], "deadline.reached", {
                "kind": "payment_deadline", "case_id": m["case_id"], "mailing_id": m["id"],
                "date": m["deadline"].isoformat(), "basis": "CPC 641-642; délai de paiement de la mise en demeure"},
                once_key=f"deadline.reached:{m['id']}:{m['deadline'].isoformat()}")

