"""Generated documents of a case: requested over the API, produced by a job.

The job computes the claim, gathers the pièces and the letters generated earlier, runs the
pipeline (render → convert → assemble), signs every final PDF and archives the results
write-once. Its outputs are checkpointed per run: a job redelivered after a crash reuses a run
whose files were all archived instead of signing a second copy, and never mixes the files of
two runs. Each ready document is one ledger event carrying the digest, archive key and version
of each of its files. A LibreOffice or TSA hiccup is retried with backoff; a bad template or
pièce fails the document at once.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from casefiles import services as cases
from casefiles.errors import Conflict, InvalidInput, NotFound
from casefiles.model import CaseFile, FieldError
from jobs import JobContext, PermanentError, TransientError, enqueue, handler
from persistence.tables import documents, evidence, mailings
from persistence.tables import jobs as job_rows

__all__ = ["KINDS", "DocumentPending", "request_document", "list_documents", "get_document", "document_file",
           "paris_today", "set_legal_hold", "document_out"]

KINDS = ("relance", "mise_en_demeure", "decompte", "requete_injonction_de_payer", "bordereau_pieces",
         "dossier_injonction_de_payer")
LETTERS = {"relance", "mise_en_demeure", "requete_injonction_de_payer"}
PIECE_KINDS = ("requete_injonction_de_payer", "bordereau_pieces", "dossier_injonction_de_payer")
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


class DocumentPending(Conflict):
    """A document of this kind is already being generated for the case: ``document_id`` is that one."""

    def __init__(self, document_id: str, kind: str):
        super().__init__(f"a {kind} is already being generated for this case (document {document_id}): "
                         "wait for it to be ready or failed before asking again")
        self.document_id = document_id


def request_document(conn: Connection, container, tenant_id: str, actor: str, case_id: str, kind: str, *,
                     as_of: dt.date | None = None, payment_days: int | None = None) -> dict[str, Any]:
    """Creates the document row and its job (dispatched once the caller's transaction commits).

    Raises DocumentPending while a document of the same kind for the case is still being
    generated: two clicks, or two clients, must not sign and archive the same letter twice.
    The case row is locked first, so of two concurrent requests the second sees the first."""
    errors = []
    if kind not in KINDS:
        errors.append(FieldError("/kind", f"kind must be one of {', '.join(KINDS)}"))
    if payment_days is not None and not (isinstance(payment_days, int) and not isinstance(payment_days, bool)
                                         and 1 <= payment_days <= 90):
        errors.append(FieldError("/payment_days", "payment_days must be an integer from 1 to 90"))
    if errors:
        raise InvalidInput(errors)
    case_row = conn.execute(select(cases.cases).where(cases.cases.c.id == case_id,
                                                      cases.cases.c.tenant_id == tenant_id)
                            .with_for_update()).mappings().first()
    if case_row is None:
        raise NotFound(f"no case {case_id}")
    running = conn.execute(
        select(documents.c.id).join(job_rows, job_rows.c.id == documents.c.job_id)
        .where(documents.c.case_id == case_id, documents.c.kind == kind, documents.c.status == "pending",
               job_rows.c.status.in_(("queued", "running")))   # a pending row whose job died is no obstacle
        .order_by(documents.c.created_at.desc(), documents.c.id.desc()).limit(1)).scalar()
    if running is not None:
        raise DocumentPending(running, kind)
    moment = _now()
    doc_id = str(uuid.uuid4())
    params = {"as_of": (as_of or paris_today()).isoformat(), "payment_days": payment_days or 8}
    job_id = enqueue(conn, "document.generate", {"document_id": doc_id}, tenant_id=tenant_id, case_id=case_id,
                     max_attempts=3)
    row = dict(id=doc_id, tenant_id=tenant_id, case_id=case_id, kind=kind, status="pending", params=params,
               job_id=job_id, warnings=[], created_at=moment, updated_at=moment)
    conn.execute(insert(documents).values(**row))
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


class _Format(NamedTuple):
    """Where a document row records one of its files, and what the file is."""

    key: str
    sha256: str
    version: str
    media_type: str


_FORMATS = {"pdf": _Format("pdf_key", "sha256", "pdf_version", "application/pdf"),
            "docx": _Format("docx_key", "docx_sha256", "docx_version",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            "zip": _Format("zip_key", "zip_sha256", "zip_version", "application/zip")}


def document_file(conn: Connection, container, tenant_id: str, document_id: str, fmt: str):
    """The archived file to serve, pinned to the digest and version recorded for it: a
    storage.RecordedFile to stream (`chunks()`) or redirect to (`presigned_url()`).
    Raises storage.ArchiveIntegrityError when the stored object is not the recorded one."""
    from storage import open_recorded
    row = _doc_row(conn, tenant_id, document_id)
    if row["status"] != "ready":
        raise Conflict(f"document {document_id} is {row['status']}, not ready")
    columns = _FORMATS[fmt]
    key = row[columns.key]
    if not key:
        raise NotFound(f"document {document_id} has no {fmt.upper()} (kind {row['kind']})")
    reference = conn.execute(select(cases.cases.c.reference).where(cases.cases.c.id == row["case_id"])).scalar()
    safe_ref = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in reference)
    return open_recorded(container.archive, key, sha256=row[columns.sha256], version_id=row[columns.version],
                         media_type=columns.media_type, filename=f"{safe_ref}-{row['kind']}.{fmt}")


# --- generation job ------------------------------------------------------------------------------

def _paris_date(moment: dt.datetime | None) -> dt.date | None:
    return moment.astimezone(PARIS).date() if moment else None


def letter_reference(document_id: str) -> str:
    """The reference a generated letter prints (« courrier n° … ») and later letters recall."""
    return document_id.replace("-", "")[:8].upper()


def _read(container, key: str, sha256: str | None, version_id: str | None) -> bytes:
    """An archived file read back pinned to the digest and version our database recorded for it."""
    return container.archive.get(key, version_id=version_id, expected_sha256=sha256)


def _sent_letters(conn: Connection, case_id: str, until: dt.date) -> list[tuple[Mapping[str, Any], Any,
                                                                                 list[Mapping[str, Any]]]]:
    """The case's ready relances and mises en demeure dated up to ``until``, in the order they were
    created, each with its mailings (the deposited one first) and as the generators' SentLetter.
    (The document being generated is pending, so never among them.)"""
    from generators import DocumentKind, Mailing, SentLetter
    rows = [row for row in conn.execute(select(documents).where(
        documents.c.case_id == case_id, documents.c.status == "ready",
        documents.c.kind.in_(("relance", "mise_en_demeure"))).order_by(documents.c.created_at, documents.c.id)
    ).mappings() if dt.date.fromisoformat(row["params"]["as_of"]) <= until]
    posted_by_letter: dict[str, list[Mapping[str, Any]]] = {row["id"]: [] for row in rows}
    if rows:
        for m in conn.execute(select(mailings).where(mailings.c.document_id.in_(list(posted_by_letter)))
                              .order_by(mailings.c.created_at, mailings.c.id)).mappings():
            posted_by_letter[m["document_id"]].append(m)
    out = []
    for row in rows:
        posted = posted_by_letter[row["id"]]
        best = sorted(posted, key=lambda m: (m["deposited_at"] is not None, m["created_at"]))[-1] if posted else None
        mailing = Mailing(service=best["service"], tracking_number=best["tracking_number"],
                          deposited=_paris_date(best["deposited_at"])) if best else None
        out.append((row, SentLetter(kind=DocumentKind(row["kind"]), date=dt.date.fromisoformat(row["params"]["as_of"]),
                                    reference=letter_reference(row["id"]), mailing=mailing), posted))
    return out


def _pieces(conn: Connection, container, case: CaseFile, case_id: str, until: dt.date, letters) -> list:
    """The supporting documents the requête and the bordereau list and the dossier attaches
    (the same list for the three, so their numbers agree). ``letters`` as _sent_letters gives them."""
    from generators import (Mailing, Piece, french_date, latest_notice, notice_title, proof_of_mailing_title,
                            reminder_history)
    ev_rows = conn.execute(select(evidence).where(evidence.c.case_id == case_id)
                           .order_by(evidence.c.created_at, evidence.c.id)).mappings().all()
    used: set[str] = set()

    def file_of(row) -> dict[str, Any]:
        used.add(row["id"])
        data = _read(container, row["archive_key"], row["sha256"], row["version_id"])
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
    generated = {id(letter): (row, posted) for row, letter, posted in letters}
    for rem in reminder_history(case, [letter for _, letter, _ in letters], until):
        if rem.letter is None:
            pieces.append(Piece(None, f"Relance ({rem.channel}) — {rem.summary}", "reminder", rem.date))
            continue
        row, _ = generated[id(rem.letter)]
        pieces.append(Piece(None, f"Relance du {french_date(rem.date)} (courrier n° {rem.letter.reference})",
                            "reminder", rem.date, pdf=_read(container, row["pdf_key"], row["sha256"],
                                                            row["pdf_version"])))
    notice = latest_notice(letter for _, letter, _ in letters)
    if notice is not None:
        mde, posted = generated[id(notice)]
        pieces.append(Piece(None, notice_title(notice), "mise_en_demeure", notice.date,
                            pdf=_read(container, mde["pdf_key"], mde["sha256"], mde["pdf_version"])))
        for m in posted:
            # delivery archives a clerk's scan of the AR under the mailing's own key prefix
            scans = [r for r in ev_rows if r["kind"] == "receipt_scan" and r["id"] not in used
                     and (f"/mailings/{m['id']}/" in r["archive_key"]
                          or r["title"].endswith((m["tracking_number"] or m["id"], m["id"])))]
            title = proof_of_mailing_title(Mailing(m["service"], m["tracking_number"]))
            pieces.append(Piece(None, title, "proof_of_mailing", _paris_date(m["deposited_at"]),
                                **(file_of(scans[-1]) if scans else {})))
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
    # The dossier is signed where its first part, the requête, reserves the signature block.
    visible = LETTERS | {DocumentKind.decompte.value, DocumentKind.dossier_injonction_de_payer.value}

    def finish(pdf: bytes, hint) -> bytes:
        box = hint.signature_box
        appearance = None
        if box is not None and hint.kind is not None and hint.kind.value in visible:
            appearance = SignatureAppearance(page=box[0], box=tuple(box[1:]), signatory=signatory)
        return signer.sign(pdf, reason=hint.title or "Document de recouvrement", location=sender.address.city,
                           appearance=appearance)
    return finish


def _request(ctx: JobContext, doc: Mapping[str, Any]):
    """The pipeline request of a document row, and its décompte; PermanentError when the law data lacks a rate."""
    from generators import DocumentKind, DocumentRequest
    from law import MissingRateError, compute_claim
    from storage import ArchiveIntegrityError
    c = ctx.container
    with c.db.read() as conn:
        case, _ = cases.load_case(conn, doc["tenant_id"], doc["case_id"])
        as_of = dt.date.fromisoformat(doc["params"]["as_of"])
        try:
            claim = compute_claim(case, as_of, rates=c.rates)
        except MissingRateError as exc:
            raise PermanentError(f"no {exc.basis} rate for {exc.semester}: add it with `recouvre rates add`",
                                 step="claim", semester=exc.semester, basis=exc.basis) from None
        letters = _sent_letters(conn, doc["case_id"], as_of)
        try:
            pieces = _pieces(conn, c, case, doc["case_id"], as_of, letters) if doc["kind"] in PIECE_KINDS else []
        except ArchiveIntegrityError as exc:
            raise PermanentError(f"an archived pièce is not the file recorded for it: {exc}", step="assemble") \
                from None
    return DocumentRequest(kind=DocumentKind(doc["kind"]), case=case, claim=claim, as_of=as_of,
                           payment_days=doc["params"]["payment_days"], pieces=pieces,
                           letters=[letter for _, letter, _ in letters], reference=letter_reference(doc["id"])), claim


def _reuse_run(container, run: Mapping[str, Any]) -> dict[str, Any] | None:
    """A run whose every file is archived with the recorded digest, ready to reuse; None otherwise."""
    out: dict[str, Any] = {k: v for k, v in run.items() if k != "files"}
    for name, f in run["files"].items():
        head = container.archive.head(f["key"])
        if head is None or head.sha256 != f["sha256"]:
            return None
        out[name] = {"key": f["key"], "sha256": f["sha256"], "version_id": head.version_id}
    return out


def _produce(ctx: JobContext) -> dict[str, Any]:
    """Generates, signs and archives the document's files, all from one run.

    A run's digests and keys are checkpointed before anything is archived, under keys of its
    own. A retry reuses an earlier run only when all of its files were archived; otherwise it
    generates again under new keys, so a PDF signed in one run never ships with the ZIP of another.
    """
    from generators import GenerationError
    c = ctx.container
    # Only the newest run can be complete: an attempt that finds its predecessor incomplete starts another.
    newest = max((n for n in ctx.job.checkpoints if n.startswith("run:")), default=None)
    if newest is not None:
        done = _reuse_run(c, ctx.job.checkpoints[newest])
        if done is not None:
            return done
    doc_id = ctx.payload["document_id"]
    with c.db.read() as conn:
        doc = conn.execute(select(documents).where(documents.c.id == doc_id)).mappings().one()
    request, claim = _request(ctx, doc)
    try:
        generated = c.pipeline.generate(request, finish=_finisher(c, request.case))
    except GenerationError as exc:
        if exc.transient:
            raise TransientError(str(exc), step=exc.step) from exc
        raise PermanentError(str(exc), step=exc.step) from None
    run_id = f"{ctx.job.attempts:03d}-{uuid.uuid4().hex[:8]}"
    base = f"tenants/{doc['tenant_id']}/cases/{doc['case_id']}/documents/{doc_id}/{run_id}"
    files = {"pdf": (f"{base}/{generated.filename or doc['kind'] + '.pdf'}", generated.pdf,
                     _FORMATS["pdf"].media_type)}
    if generated.docx:
        files["docx"] = (f"{base}/{doc['kind']}.docx", generated.docx, _FORMATS["docx"].media_type)
    if generated.zip:
        files["zip"] = (f"{base}/{doc['kind']}.zip", generated.zip, _FORMATS["zip"].media_type)
    run = {"run": run_id,
           "files": {n: {"key": key, "sha256": hashlib.sha256(data).hexdigest()}
                     for n, (key, data, _) in files.items()},
           "warnings": list(generated.warnings) + list(claim.warnings),
           "signature": {"level": c.signer.level, "signer": c.signer.certificate_subject,
                         "development_certificate": c.signer.is_development}}
    ctx.checkpoint(f"run:{run_id}", lambda: run)
    out: dict[str, Any] = {k: v for k, v in run.items() if k != "files"}
    for name, (key, data, media) in files.items():
        stored = c.archive.put(key, data, media)
        out[name] = {"key": key, "sha256": stored.sha256, "version_id": stored.version_id}
    return out


def _fail(ctx: JobContext, details: dict) -> None:
    """The job gave up: PermanentError and TransientError both carry the failing ``step`` in
    their details; an unexpected exception has none."""
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


def _recorded(file: Mapping[str, Any]) -> dict[str, Any]:
    return {"sha256": file["sha256"], "archive_key": file["key"], "version_id": file["version_id"]}


@handler("document.generate", lease_seconds=600, on_failure=_fail)
def generate_document(ctx: JobContext) -> dict[str, Any]:
    import webhooks
    c = ctx.container
    artefacts = ctx.checkpoint("artefacts", lambda: _produce(ctx))
    pdf, docx, zipped = artefacts["pdf"], artefacts.get("docx"), artefacts.get("zip")
    with c.db.write() as conn:
        doc = conn.execute(select(documents).where(documents.c.id == ctx.payload["document_id"])
                           .with_for_update()).mappings().one()
        if doc["status"] == "ready":
            return {"document_id": doc["id"], "sha256": doc["sha256"]}
        files = {}
        for fmt, columns in _FORMATS.items():
            file = artefacts.get(fmt) or {}
            files.update({columns.key: file.get("key"), columns.sha256: file.get("sha256"),
                          columns.version: file.get("version_id")})
        conn.execute(update(documents).where(documents.c.id == doc["id"]).values(
            status="ready", **files, signature=artefacts["signature"], warnings=artefacts["warnings"],
            updated_at=_now()))
        case_row = conn.execute(select(cases.cases).where(cases.cases.c.id == doc["case_id"]).with_for_update()) \
            .mappings().one()
        payload = {"document_id": doc["id"], "kind": doc["kind"], "sha256": pdf["sha256"],
                   "archive_key": pdf["key"], "version_id": pdf["version_id"], "signature": artefacts["signature"]}
        if docx:
            payload["docx"] = _recorded(docx)
        if zipped:
            payload["zip"] = _recorded(zipped)
        changes = {"status": "injunction"} if doc["kind"] == "dossier_injonction_de_payer" and \
            case_row["status"] in ("open", "formal_notice") else None
        cases.append_event(conn, case_row, "document.generated", "system", payload, changes=changes)
        webhooks.emit(conn, doc["tenant_id"], "document.ready",
                                   {"document_id": doc["id"], "case_id": doc["case_id"], "kind": doc["kind"],
                                    "sha256": pdf["sha256"]}, once_key=f"document.ready:{doc['id']}")
    return {"document_id": doc["id"], "sha256": pdf["sha256"]}


def set_legal_hold(conn: Connection, container, tenant_id: str, actor: str, document_id: str,
                   on: bool) -> dict[str, Any]:
    """Holds (or releases) every archived file of the document; recorded in the ledger."""
    row = _doc_row(conn, tenant_id, document_id)
    keys = [row[columns.key] for columns in _FORMATS.values() if row[columns.key]]
    if not keys:
        raise Conflict(f"document {document_id} has no archived file yet ({row['status']})")
    for key in keys:
        container.archive.set_legal_hold(key, on)
    case_row = conn.execute(select(cases.cases).where(cases.cases.c.id == row["case_id"]).with_for_update()) \
        .mappings().one()
    cases.append_event(conn, case_row, "archive.legal_hold", actor,
                       {"document_id": document_id, "on": on, "archive_keys": keys})
    return {"document_id": document_id, "legal_hold": on, "objects": keys}
