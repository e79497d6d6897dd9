"""Generated documents of a case: requested over the API, produced by a job.

The job computes the claim, gathers the pièces, runs the pipeline (render → convert →
assemble), signs every final PDF and archives the results write-once. Its outputs are
checkpointed: a job redelivered after a crash reuses what was archived instead of signing a
second copy. Each ready document is one ledger event carrying its digest and archive key.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from casefiles import services as cases
from casefiles.errors import Conflict, InvalidInput, NotFound
from casefiles.model import CaseFile, FieldError
from jobs import JobContext, PermanentError, enqueue, handler
from persistence.tables import documents, evidence, mailings

__all__ = ["KINDS", "request_document", "list_documents", "get_document", "document_file", "paris_today", "set_legal_hold",
           "document_out"]

KINDS = ("relance", "mise_en_demeure", "decompte", "requete_injonction_de_payer", "bordereau_pieces",
         "dossier_injonction_de_payer")
LETTERS = {"relance", "mise_en_demeure", "requete_injonction_de_payer"}
PARIS = ZoneInfo("Europe/Paris")


def paris_today() -> dt.date:
    return dt.datetime.now(PARIS).date()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def document_out(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {"id": row["id"], "case_id": row["case_id"], "kind": row["kind"], "status": row["status"],
           "sha256": row["sha256"], "created_at": row["created_at"].isoformat(),
           "updated_at": row["updated_at"].isoformat(), "params": row["params"],
           "warnings": list(row["warnings"] or []), "signature": row["signature"],
           "has_docx": bool(row["docx_key"]), "has_zip": bool(row["zip_key"]), "job_id": row["job_id"]}
    if row["error"]:
        out["error"] = row["error"]
    return out


def request_document(conn: Connection, container, tenant_id: str, actor: str, case_id: str, kind: str, *,
                     as_of: dt.date | None = None, payment_days: int | None = None) -> dict[str, Any]:
    """Creates the document row and its job (dispatched once the caller's transaction commits)."""
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("/kind", f"kind must be one of {', '.join(KINDS)}"))
    if payment_days is not None and not (isinstance(payment_days, int) and not isinstance(payment_days, bool)
                                         and 1 <= payment_days <= 90):
        errors.append(FieldError("/payment_days", "payment_days must be an integer from 1 to 90"))
    if errors:
        raise InvalidInput(errors)
    cases.get_case(conn, tenant_id, case_id)
    moment = _now()
    doc_id = str(uuid.uuid4())
    params = {"as_of": (as_of or paris_today()).isoformat(), "payment_days": payment_days or 8}
    job_id = enqueue(conn, "document.generate", {"document_id": doc_id}, tenant_id=tenant_id, case_id=case_id,
                     max_attempts=3)
    row = dict(id=doc_id, tenant_id=tenant_id, case_id=case_id, kind=kind, status="pending", params=params,
               job_id=job_id, warnings=[], created_at=moment, updated_at=moment)
    conn.execute(insert(documents).values(**row))
    case_row = conn.execute(select(cases.cases).where(cases.cases.c.id == case_id).with_for_update()).mappings().one()
    cases.append_event(conn, case_row, "document.requested", actor, {"document_id": doc_id, "kind": kind, **params})
    return document_out({**row, "sha256": None, "signature": None, "docx_key": None, "zip_key": None, "error": None})


def list_documents(conn: Connection, tenant_id: str, case_id: str) -> list[dict[str, Any]]:
    cases.get_case(conn, tenant_id, case_id)
    rows = conn.execute(select(documents).where(documents.c.case_id == case_id, documents.c.tenant_id == tenant_id)
                        .order_by(documents.c.created_at, documents.c.id)).mappings().all()
    return [document_out(r) for r in rows]


def _doc_row(conn: Connection, tenant_id: str, document_id: str) -> Mapping[str, Any]:
    row = conn.execute(select(documents).where(documents.c.id == document_id,
                                               documents.c.tenant_id == tenant_id)).mappings().first()
    if row is None:
        raise NotFound(f"no document {document_id}")
    return row


def get_document(conn: Connection, tenant_id: str, document_id: str) -> dict[str, Any]:
    return document_out(_doc_row(conn, tenant_id, document_id))


_FORMATS = {"pdf": ("pdf_key", "application/pdf"),
            "docx": ("docx_key", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            "zip": ("zip_key", "application/zip")}


def document_file(conn: Connection, container, tenant_id: str, document_id: str, fmt: str) -> tuple[bytes, str, str]:
    row = _doc_row(conn, tenant_id, document_id)
    if row["status"] != "ready":
        raise Conflict(f"document {document_id} is {row['status']}, not ready")
    column, media = _FORMATS[fmt]
    key = row[column]
    if not key:
        raise NotFound(f"document {document_id} has no {fmt.upper()} (kind {row['kind']})")
    data = container.archive.get(key)
    reference = conn.execute(select(cases.cases.c.reference).where(cases.cases.c.id == row["case_id"])).scalar()
    safe_ref = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in reference)
    return data, media, f"{safe_ref}-{row['kind']}.{fmt}"


# --- generation job ------------------------------------------------------------------------------

def _pieces(conn: Connection, container, case: CaseFile, tenant_id: str, case_id: str):
    """The supporting documents the bordereau lists and the dossier attaches."""
    from generators import Piece
    ev_rows = conn.execute(select(evidence).where(evidence.c.case_id == case_id)
                           .order_by(evidence.c.created_at, evidence.c.id)).mappings().all()
    used: set[str] = set()

    def file_of(row) -> dict[str, Any]:
        used.add(row["id"])
        data = container.archive.get(row["archive_key"])
        if row["media_type"] == "application/pdf":
            return {"pdf": data, "media_type": "application/pdf"}
        return {"image": data, "media_type": row["media_type"]}

    pieces = []
    if case.contract:
        c = case.contract
        match = next((r for r in ev_rows if r["kind"] in ("contract", "quote", "purchase_order")), None)
        pieces.append(Piece(None, f"{c.reference}" + (f" — {c.description}" if c.description else ""), "contract",
                            c.date, **(file_of(match) if match else {})))
    for inv in sorted(case.invoices, key=lambda i: (i.issue_date, i.number)):
        match = next((r for r in ev_rows if r["kind"] == "invoice" and inv.number in r["title"]
                      and r["id"] not in used), None)
        pieces.append(Piece(None, f"Facture n° {inv.number}", "invoice", inv.issue_date,
                            **(file_of(match) if match else {})))
    for rem in case.reminders:
        if rem.channel.value in ("letter", "email"):
            pieces.append(Piece(None, f"Relance ({'courrier' if rem.channel.value == 'letter' else 'courriel'}) "
                                      f"— {rem.summary}", "reminder", rem.date))
    mde = conn.execute(select(documents).where(documents.c.case_id == case_id, documents.c.kind == "mise_en_demeure",
                                               documents.c.status == "ready")
                       .order_by(documents.c.created_at.desc())).mappings().first()
    if mde:
        pieces.append(Piece(None, "Mise en demeure par lettre recommandée avec demande d'avis de réception",
                            "mise_en_demeure", dt.date.fromisoformat(mde["params"]["as_of"]),
                            pdf=container.archive.get(mde["pdf_key"])))
        for m in conn.execute(select(mailings).where(mailings.c.document_id == mde["id"])).mappings():
            scans = [r for r in ev_rows if r["kind"] == "receipt_scan" and (m["tracking_number"] or "~") in r["title"]]
            title = f"Preuve d'envoi et avis de réception — LRAR n° {m['tracking_number'] or 'non renseigné'}"
            pieces.append(Piece(None, title, "proof_of_mailing", m["effective_date"],
                                **(file_of(scans[0]) if scans else {})))
    for r in ev_rows:
        if r["id"] not in used and r["kind"] != "receipt_scan":
            pieces.append(Piece(None, r["title"], "evidence", r["document_date"], **file_of(r)))
    return pieces


def _finisher(container, case: CaseFile):
    from generators import DocumentKind
    from signing import SignatureAppearance
    signer = container.signer
    sender = case.collection_agency or case.creditor
    rep = sender.representative
    signatory = f"{rep.name}, {rep.title}" if rep and rep.title else (rep.name if rep else sender.name)

    def finish(pdf: bytes, hint) -> bytes:
        box = hint.signature_box
        appearance = None
        if box is not None and hint.kind is not None and hint.kind.value in LETTERS | {DocumentKind.decompte.value}:
            appearance = SignatureAppearance(page=box[0], box=tuple(box[1:]), signatory=signatory)
        return signer.sign(pdf, reason=hint.title or "Document de recouvrement", location=sender.address.city,
                           appearance=appearance)
    return finish


def _archive(container, key: str, data: bytes, media: str) -> dict[str, Any]:
    """Write-once put that tolerates a crash between archiving and recording: an object already
    under this key (from an interrupted earlier attempt) is kept and reused."""
    existing = container.archive.head(key)
    stored = existing or container.archive.put(key, data, media)
    return {"key": stored.key, "sha256": stored.sha256, "version_id": stored.version_id}


def _generate(ctx: JobContext) -> dict[str, Any]:
    from generators import DocumentKind, DocumentRequest, GenerationError
    from law import MissingRateError, compute_claim
    c = ctx.container
    doc_id = ctx.payload["document_id"]
    with c.db.read() as conn:
        doc = conn.execute(select(documents).where(documents.c.id == doc_id)).mappings().one()
        case, _ = cases.load_case(conn, doc["tenant_id"], doc["case_id"])
        as_of = dt.date.fromisoformat(doc["params"]["as_of"])
        try:
            claim = compute_claim(case, as_of, rates=c.rates)
        except MissingRateError as exc:
            raise PermanentError(f"no {exc.basis} rate for {exc.semester}: add it with `recouvre rates add`",
                                 step="claim", semester=exc.semester, basis=exc.basis) from None
        pieces = _pieces(conn, c, case, doc["tenant_id"], doc["case_id"]) \
            if doc["kind"] in ("bordereau_pieces", "dossier_injonction_de_payer") else []
    request = DocumentRequest(kind=DocumentKind(doc["kind"]), case=case, claim=claim, as_of=as_of,
                              payment_days=doc["params"]["payment_days"], pieces=pieces)
    try:
        generated = c.pipeline.generate(request, finish=_finisher(c, case))
    except GenerationError as exc:
        raise PermanentError(str(exc), step=exc.step) from None
    base = f"tenants/{doc['tenant_id']}/cases/{doc['case_id']}/documents/{doc_id}"
    out: dict[str, Any] = {"pdf": _archive(c, f"{base}/{generated.filename or doc['kind'] + '.pdf'}",
                                           generated.pdf, "application/pdf"),
                           "warnings": list(generated.warnings) + list(claim.warnings),
                           "signature": {"level": c.signer.level, "signer": c.signer.certificate_subject,
                                         "development_certificate": c.signer.is_development}}
    if generated.docx:
        out["docx"] = _archive(c, f"{base}/{doc['kind']}.docx", generated.docx, _FORMATS["docx"][1])
    if generated.zip:
        out["zip"] = _archive(c, f"{base}/{doc['kind']}.zip", generated.zip, "application/zip")
    return out


def _fail(ctx: JobContext, details: dict) -> None:
    import webhooks
    c = ctx.container
    error = {k: v for k, v in details.items() if k in ("step", "message", "semester", "basis")}
    error.setdefault("step", "generate")
    with c.db.write() as conn:
        doc = conn.execute(select(documents).where(documents.c.id == ctx.payload["document_id"])).mappings().one()
        if doc["status"] != "pending":
            return
        conn.execute(update(documents).where(documents.c.id == doc["id"]).values(
            status="failed", error=error, updated_at=_now()))
        case_row = conn.execute(select(cases.cases).where(cases.cases.c.id == doc["case_id"]).with_for_update()) \
            .mappings().one()
        cases.append_event(conn, case_row, "document.failed", "system",
                            {"document_id": doc["id"], "kind": doc["kind"], "error": error})
        webhooks.emit(conn, doc["tenant_id"], "document.failed",
                                   {"document_id": doc["id"], "case_id": doc["case_id"], "kind": doc["kind"],
                                    "error": error}, once_key=f"document.failed:{doc['id']}")


@handler("document.generate", lease_seconds=600, on_failure=_fail)
def generate_document(ctx: JobContext) -> dict[str, Any]:
    import webhooks
    c = ctx.container
    artefacts = ctx.checkpoint("artefacts", lambda: _generate(ctx))
    with c.db.write() as conn:
        doc = conn.execute(select(documents).where(documents.c.id == ctx.payload["document_id"])
                           .with_for_update()).mappings().one()
        if doc["status"] == "ready":
            return {"document_id": doc["id"], "sha256": doc["sha256"]}
        conn.execute(update(documents).where(documents.c.id == doc["id"]).values(
            status="ready", sha256=artefacts["pdf"]["sha256"], pdf_key=artefacts["pdf"]["key"],
            pdf_version=artefacts["pdf"]["version_id"], docx_key=(artefacts.get("docx") or {}).get("key"),
            zip_key=(artefacts.get("zip") or {}).get("key"), zip_sha256=(artefacts.get("zip") or {}).get("sha256"),
            signature=artefacts["signature"], warnings=artefacts["warnings"], updated_at=_now()))
        case_row = conn.execute(select(cases.cases).where(cases.cases.c.id == doc["case_id"]).with_for_update()) \
            .mappings().one()
        payload = {"document_id": doc["id"], "kind": doc["kind"], "sha256": artefacts["pdf"]["sha256"],
                   "archive_key": artefacts["pdf"]["key"], "signature": artefacts["signature"]}
        if artefacts.get("zip"):
            payload["zip"] = {"sha256": artefacts["zip"]["sha256"], "archive_key": artefacts["zip"]["key"]}
        changes = {"status": "injunction"} if doc["kind"] == "dossier_injonction_de_payer" and \
            case_row["status"] in ("open", "formal_notice") else None
        cases.append_event(conn, case_row, "document.generated", "system", payload, changes=changes)
        webhooks.emit(conn, doc["tenant_id"], "document.ready",
                                   {"document_id": doc["id"], "case_id": doc["case_id"], "kind": doc["kind"],
                                    "sha256": artefacts["pdf"]["sha256"]}, once_key=f"document.ready:{doc['id']}")
    return {"document_id": doc["id"], "sha256": artefacts["pdf"]["sha256"]}



def set_legal_hold(conn: Connection, container, tenant_id: str, actor: str, document_id: str,
                   on: bool) -> dict[str, Any]:
    """Holds (or releases) every archived file of the document; recorded in the ledger."""
    row = _doc_row(conn, tenant_id, document_id)
    keys = [k for k in (row["pdf_key"], row["docx_key"], row["zip_key"]) if k]
    if not keys:
        raise Conflict(f"document {document_id} has no archived file yet ({row['status']})")
    for key in keys:
        container.archive.set_legal_hold(key, on)
    case_row = conn.execute(select(cases.cases).where(cases.cases.c.id == row["case_id"]).with_for_update()) \
        .mappings().one()
    cases.append_event(conn, case_row, "archive.legal_hold", actor,
                       {"document_id": document_id, "on": on, "archive_keys": keys})
    return {"document_id": document_id, "legal_hold": on, "objects": keys}
