"""Case-file use cases. Each takes an open transaction: the caller commits or rolls back,
so a request that fails anywhere leaves nothing behind (ledger included)."""
from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from persistence.tables import cases, evidence, ledger_events

from .errors import InvalidInput, NotFound
from .ledger import GENESIS, LedgerEvent, chain_event, verify_chain, ChainCheck
from .model import FORBIDDEN_CHARACTERS_DETAIL, CaseFile, FieldError, PaymentIn, ReminderIn, has_forbidden_characters, \
    parse_case, parse_model, payment_rule_errors

__all__ = [
    "CASE_STATUSES", "CONSTRAINT_MESSAGES", "create_case", "get_case", "load_case", "list_cases", "add_payment", "add_reminder",
    "record_evidence", "append_event", "list_events", "verify_case_ledger", "case_out", "set_status",
    "update_case_data", "now", "evidence_out", "list_evidence", "record_ordonnance", "MAX_FILENAME", "filename_errors",
]

CASE_STATUSES = ("open", "formal_notice", "injunction", "settled", "closed")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# What a violated unique constraint means, in the words of the request that violated it; each entry
# lists how PostgreSQL (constraint name) and SQLite (columns) name it.
CONSTRAINT_MESSAGES = (
    (("uq_cases_tenant_id_reference", "cases.tenant_id, cases.reference"), "a case with this reference already exists"),
)


def case_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], **row["data"], "status": row["status"], "address_invalid": row["address_invalid"],
        "version": row["version"], "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def _locked_case(conn: Connection, tenant_id: str, case_id: str) -> Mapping[str, Any]:
    row = conn.execute(
        select(cases).where(cases.c.id == case_id, cases.c.tenant_id == tenant_id).with_for_update()
    ).mappings().first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row


def append_event(conn: Connection, case_row: Mapping[str, Any], type_: str, actor: str,
                 payload: Mapping[str, Any], *, at: dt.datetime | None = None,
                 changes: Mapping[str, Any] | None = None) -> LedgerEvent:
    """Chain one event after the case's head; the case row must be locked by the caller."""
    moment = at or now()
    ev = chain_event(case_id=case_row["id"], seq=case_row["ledger_length"] + 1, type=type_,
                     at=moment, actor=actor, payload=payload, prev_hash=case_row["ledger_head"])
    conn.execute(insert(ledger_events), ev.to_dict())
    values = dict(changes or {})
    values.update(ledger_length=ev.seq, ledger_head=ev.hash, updated_at=moment)
    conn.execute(update(cases).where(cases.c.id == case_row["id"]).values(**values))
    return ev


def create_case(conn: Connection, tenant_id: str, actor: str, data: Any) -> dict[str, Any]:
    case, errors = parse_case(data)
    if errors:
        raise InvalidInput(errors)
    stored = case.model_dump(mode="json", exclude_none=True)
    moment = now()
    case_id = str(uuid.uuid4())
    # The first event is chained before the case row exists, so the row is written once with its head.
    ev = chain_event(case_id=case_id, seq=1, type="case.created", at=moment, actor=actor, payload=stored,
                     prev_hash=GENESIS)
    row = dict(id=case_id, tenant_id=tenant_id, reference=case.reference, status="open",
               debtor_name=case.debtor.name, data=stored, version=1, ledger_length=1, ledger_head=ev.hash,
               address_invalid=False, created_at=moment, updated_at=moment)
    # A reused reference fails on the unique (tenant, reference) constraint; the caller rolls the
    # whole transaction back and answers 409 (see CONSTRAINT_MESSAGES). No look-up first: one
    # round trip less, and no query plan to go stale on a growing table.
    # Parameters passed beside the statement, not baked into it with .values(): the compiled
    # INSERT is then cached, which halves SQLAlchemy's share of a case creation.
    conn.execute(insert(cases), row)
    conn.execute(insert(ledger_events), ev.to_dict())
    return case_out(row)


def get_case(conn: Connection, tenant_id: str, case_id: str) -> dict[str, Any]:
    row = conn.execute(select(cases).where(cases.c.id == case_id, cases.c.tenant_id == tenant_id)).mappings().first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return case_out(row)


def load_case(conn: Connection, tenant_id: str, case_id: str) -> tuple[CaseFile, Mapping[str, Any]]:
    row = conn.execute(select(cases).where(cases.c.id == case_id, cases.c.tenant_id == tenant_id)).mappings().first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return CaseFile.model_validate(row["data"]), row


def _encode_cursor(created_at: dt.datetime, case_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{case_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, case_id = raw.split("|", 1)
        at = dt.datetime.fromisoformat(stamp)
    except Exception:  # noqa: BLE001 - any garbage is the client's error
        raise InvalidInput([FieldError("/cursor", "invalid cursor")]) from None
    # Our cursors carry an aware UTC time and a case id; anything else was not made by us (a naive
    # time cannot be compared with the stored ones, a control character cannot be sent to the database).
    if at.tzinfo is None or not case_id.isascii() or not case_id.isprintable() or len(case_id) > 36:
        raise InvalidInput([FieldError("/cursor", "invalid cursor")])
    return at, case_id


def list_cases(conn: Connection, tenant_id: str, *, reference: str | None = None, status: str | None = None,
               q: str | None = None, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    """Newest first, keyset-paginated so pages stay stable while cases are added."""
    cond = [cases.c.tenant_id == tenant_id]
    if reference:
        cond.append(cases.c.reference == reference)
    if status:
        cond.append(cases.c.status == status)
    if q:
        like = f"%{q.lower()}%"
        cond.append(or_(func.lower(cases.c.reference).like(like), func.lower(cases.c.debtor_name).like(like)))
    if cursor:
        c_at, c_id = _decode_cursor(cursor)
        cond.append(or_(cases.c.created_at < c_at, and_(cases.c.created_at == c_at, cases.c.id < c_id)))
    rows = conn.execute(select(cases).where(*cond).order_by(cases.c.created_at.desc(), cases.c.id.desc())
                        .limit(limit + 1)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    total = conn.execute(select(func.count()).select_from(cases).where(*cond[: len(cond) - (1 if cursor else 0)])).scalar()
    return {"items": [case_out(r) for r in rows], "total": total,
            "next_cursor": _encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None}


def update_case_data(conn: Connection, case_row: Mapping[str, Any], actor: str, event_type: str,
                     event_payload: Mapping[str, Any], new_data: Mapping[str, Any], **changes) -> dict[str, Any]:
    changes.update(data=dict(new_data), version=case_row["version"] + 1)
    moment = now()
    append_event(conn, case_row, event_type, actor, event_payload, changes=changes, at=moment)
    row = dict(case_row)
    row.update(changes, updated_at=moment)
    return case_out(row)


def add_payment(conn: Connection, tenant_id: str, actor: str, case_id: str, data: Any) -> dict[str, Any]:
    payment, errors = parse_model(PaymentIn, data)
    if errors:
        raise InvalidInput(errors)
    row = _locked_case(conn, tenant_id, case_id)
    case = CaseFile.model_validate(row["data"])
    if errors := payment_rule_errors(case, payment, ""):
        raise InvalidInput(errors)
    p = payment.model_dump(mode="json", exclude_none=True)
    new = dict(row["data"], payments=[*row["data"].get("payments", []), p])
    return update_case_data(conn, row, actor, "payment.added", p, new)


def add_reminder(conn: Connection, tenant_id: str, actor: str, case_id: str, data: Any) -> dict[str, Any]:
    reminder, errors = parse_model(ReminderIn, data)
    if errors:
        raise InvalidInput(errors)
    if reminder.promised_payment_date and reminder.promised_payment_date < reminder.date:
        raise InvalidInput([FieldError("/promised_payment_date", "must not be before the reminder date")])
    row = _locked_case(conn, tenant_id, case_id)
    r = reminder.model_dump(mode="json", exclude_none=True)
    new = dict(row["data"], reminders=[*row["data"].get("reminders", []), r])
    return update_case_data(conn, row, actor, "reminder.logged", r, new)


def record_ordonnance(conn: Connection, tenant_id: str, actor: str, case_id: str, data: Any) -> dict[str, Any]:
    """The ordonnance granted by the judge: it starts the signification deadline (CPC 1411)."""
    from .model import Ordonnance
    ordonnance, errors = parse_model(Ordonnance, data)
    if errors:
        raise InvalidInput(errors)
    row = _locked_case(conn, tenant_id, case_id)
    o = ordonnance.model_dump(mode="json", exclude_none=True)
    return update_case_data(conn, row, actor, "case.ordonnance_recorded", o, dict(row["data"], ordonnance=o),
                            status="injunction" if row["status"] in ("open", "formal_notice") else row["status"])


def set_status(conn: Connection, tenant_id: str, actor: str, case_id: str, status: str, reason: str,
               **extra_changes) -> None:
    row = _locked_case(conn, tenant_id, case_id)
    if row["status"] == status and not extra_changes:
        return
    append_event(conn, row, "case.status_changed", actor, {"from": row["status"], "to": status, "reason": reason},
                 changes={"status": status, **extra_changes})


MAX_FILENAME = 255   # the evidence.filename column


def filename_errors(filename: str | None) -> list[FieldError]:
    """The client's name of an uploaded file is kept as given, so it must fit the column and the database."""
    if not filename:
        return []
    if has_forbidden_characters(filename):
        return [FieldError("/file", f"the file name: {FORBIDDEN_CHARACTERS_DETAIL}")]
    if len(filename) > MAX_FILENAME:
        return [FieldError("/file", f"the file name is longer than {MAX_FILENAME} characters")]
    return []


def record_evidence(conn: Connection, tenant_id: str, actor: str, case_id: str, *, kind: str, title: str,
                    filename: str | None, media_type: str, size: int, sha256: str, archive_key: str,
                    store: Callable[[], Any], document_date: dt.date | None = None,
                    event_type: str = "evidence.uploaded") -> dict[str, Any]:
    """Records a file as evidence of the case, with its ledger event.

    `store` puts the file into the archive and returns its StoredObject; it runs after the case is
    locked and the row inserted, so a failed put rolls the row back with the transaction. A file
    name the column cannot hold is refused (InvalidInput on /file) before anything is written.
    """
    if errors := filename_errors(filename):
        raise InvalidInput(errors)
    row = _locked_case(conn, tenant_id, case_id)
    ev_id = str(uuid.uuid4())
    rec = dict(id=ev_id, case_id=case_id, tenant_id=tenant_id, kind=kind, title=title, filename=filename,
               media_type=media_type, size=size, sha256=sha256, archive_key=archive_key, version_id=None,
               document_date=document_date, created_at=now())
    conn.execute(insert(evidence).values(**rec))
    rec["version_id"] = store().version_id
    if rec["version_id"] is not None:
        conn.execute(update(evidence).where(evidence.c.id == ev_id).values(version_id=rec["version_id"]))
    out = evidence_out(rec)
    payload = {k: out[k] for k in ("id", "kind", "title", "media_type", "size", "sha256", "archive_key")}
    payload["version_id"] = rec["version_id"]
    append_event(conn, row, event_type, actor, payload)
    return out


def evidence_out(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": rec["id"], "case_id": rec["case_id"], "kind": rec["kind"], "title": rec["title"],
            "filename": rec["filename"], "media_type": rec["media_type"], "size": rec["size"],
            "sha256": rec["sha256"], "archive_key": rec["archive_key"],
            "date": rec["document_date"].isoformat() if rec.get("document_date") else None,
            "created_at": rec["created_at"].isoformat()}


def list_evidence(conn: Connection, tenant_id: str, case_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(evidence).where(evidence.c.case_id == case_id, evidence.c.tenant_id == tenant_id)
                        .order_by(evidence.c.created_at, evidence.c.id)).mappings().all()
    return [evidence_out(r) for r in rows]


def _ensure_case(conn: Connection, tenant_id: str, case_id: str) -> None:
    if conn.execute(select(cases.c.id).where(cases.c.id == case_id, cases.c.tenant_id == tenant_id)).first() is None:
        raise NotFound(f"no case {case_id}")


def list_events(conn: Connection, tenant_id: str, case_id: str) -> list[LedgerEvent]:
    _ensure_case(conn, tenant_id, case_id)
    rows = conn.execute(select(ledger_events).where(ledger_events.c.case_id == case_id)
                        .order_by(ledger_events.c.seq)).mappings().all()
    return [LedgerEvent(**{k: r[k] for k in LedgerEvent.__dataclass_fields__}) for r in rows]


def verify_case_ledger(conn: Connection, tenant_id: str | None, case_id: str) -> ChainCheck:
    """Checks the chain and that the case's recorded head is the chain's last hash."""
    if tenant_id is not None:
        _ensure_case(conn, tenant_id, case_id)
    head = conn.execute(select(cases.c.ledger_head, cases.c.ledger_length).where(cases.c.id == case_id)).first()
    rows = conn.execute(select(ledger_events).where(ledger_events.c.case_id == case_id)
                        .order_by(ledger_events.c.seq)).mappings().all()
    events = [LedgerEvent(**{k: r[k] for k in LedgerEvent.__dataclass_fields__}) for r in rows]
    check = verify_chain(events, case_id)
    if check.valid and head is not None and (head.ledger_length != len(events) or
                                             (events and head.ledger_head != events[-1].hash)):
        return ChainCheck(False, len(events), len(events), "the case's recorded head does not match the last event")
    return check
