"""Case files: creation, reading, payments, reminders, evidence and the ledger."""
from __future__ import annotations

import hashlib

from flask import Blueprint, request

from casefiles import services
from casefiles.model import CaseFile, Ordonnance, PaymentIn, ReminderIn, parse_iso_date

from ._http import container, int_arg, json_body, json_response, remember_upload_digest, run_read, run_write, \
    upload_digest
from .openapi import Param, operation
from .problems import Problem
from .schemas import CaseList, CaseOut, EvidenceOut, LedgerCheckOut, LedgerEventList

bp = Blueprint("cases", __name__)

EVIDENCE_KINDS = ("invoice", "contract", "quote", "purchase_order", "delivery_note", "general_terms",
                  "correspondence", "reminder", "mailing_proof", "receipt_scan", "other")
_MAGIC = ((b"%PDF-", "application/pdf", "pdf"), (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
          (b"\xff\xd8\xff", "image/jpeg", "jpg"))


@bp.post("/cases")
@operation("Create a case file", tags=("cases",), permission="cases:write", body=CaseFile,
           responses={201: CaseOut}, errors=(409,),
           description="Validates identities (SIREN/SIRET/TVA/IBAN check digits), NF Z10-011 addresses, amounts and dates; "
                       "the reference is unique per tenant (409).")
def create_case():
    body = json_body()

    def effect(conn, p):
        out = services.create_case(conn, p.tenant_id, p.actor, body)
        return 201, out, {"Location": f"/v1/cases/{out['id']}"}
    return run_write(effect, "cases:write")


@bp.get("/cases")
@operation("List case files, newest first", tags=("cases",), permission="cases:read",
           responses={200: CaseList}, errors=(422,),
           params=(Param("reference", description="exact reference"),
                   Param("status", schema={"type": "string", "enum": list(services.CASE_STATUSES)}),
                   Param("q", description="search in reference and debtor name"),
                   Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
                   Param("cursor", description="next_cursor of the previous page")))
def list_cases():
    args = request.args
    errors = []
    try:
        limit = int_arg("limit", 50, minimum=1, maximum=200)
    except Problem as exc:
        errors, limit = exc.errors, 50
    status = args.get("status")
    if status is not None and status not in services.CASE_STATUSES:
        errors.append({"pointer": "/status", "detail": f"status must be one of {', '.join(services.CASE_STATUSES)}"})
    if errors:
        raise Problem(422, "Invalid input", errors=errors)
    return run_read(lambda conn, p: services.list_cases(
        conn, p.tenant_id, reference=args.get("reference") or None, status=status, q=args.get("q") or None,
        limit=limit, cursor=args.get("cursor") or None), "cases:read")


@bp.get("/cases/<case_id>")
@operation("Read a case file", tags=("cases",), permission="cases:read", responses={200: CaseOut}, errors=(404,))
def get_case(case_id: str):
    return run_read(lambda conn, p: services.get_case(conn, p.tenant_id, case_id), "cases:read")


@bp.post("/cases/<case_id>/payments")
@operation("Record a payment received", tags=("cases",), permission="cases:write", body=PaymentIn,
           responses={201: CaseOut}, errors=(404,))
def add_payment(case_id: str):
    body = json_body()
    return run_write(lambda conn, p: (201, services.add_payment(conn, p.tenant_id, p.actor, case_id, body), {}),
                     "cases:write")


@bp.post("/cases/<case_id>/reminders")
@operation("Log an amicable reminder", tags=("cases",), permission="cases:write", body=ReminderIn,
           responses={201: CaseOut}, errors=(404,))
def add_reminder(case_id: str):
    body = json_body()
    return run_write(lambda conn, p: (201, services.add_reminder(conn, p.tenant_id, p.actor, case_id, body), {}),
                     "cases:write")


@bp.post("/cases/<case_id>/ordonnance")
@operation("Record the ordonnance portant injonction de payer", tags=("cases",), permission="cases:write",
           body=Ordonnance, responses={201: CaseOut}, errors=(404,),
           description="Its date starts the signification deadline listed by /deadlines: 6 months for ordonnances "
                       "rendered before 1 September 2026, 3 months from then (décret n° 2026-96).")
def record_ordonnance(case_id: str):
    body = json_body()
    return run_write(lambda conn, p: (201, services.record_ordonnance(conn, p.tenant_id, p.actor, case_id, body), {}),
                     "cases:write")


EVIDENCE_FORM = {
    "type": "object", "required": ["file", "kind", "title"], "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "PDF, PNG or JPEG, not empty"},
        "kind": {"type": "string", "enum": list(EVIDENCE_KINDS)},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "date": {"type": "string", "format": "date", "description": "date of the document, if known"},
    },
}


def read_upload(max_bytes: int) -> tuple[bytes, str, str, str | None]:
    """The uploaded file, its sniffed media type and extension, and its client filename.

    The type is decided by the file's first bytes, never by its name or declared type.
    """
    if request.content_length is not None and request.content_length > max_bytes + 64 * 1024:
        raise Problem(413, "Upload too large", f"the limit is {max_bytes // (1024 * 1024)} MB")
    if request.mimetype != "multipart/form-data":
        raise Problem(415, "Unsupported media type", "send multipart/form-data with a file field")
    upload = request.files.get("file")
    if upload is None:
        raise Problem(422, "Invalid input", errors=[{"pointer": "/file", "detail": "required field is missing"}])
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Problem(413, "Upload too large", f"the limit is {max_bytes // (1024 * 1024)} MB")
    if not data:
        raise Problem(422, "Invalid input", errors=[{"pointer": "/file", "detail": "the file is empty"}])
    remember_upload_digest(upload, hashlib.sha256(data).hexdigest())
    for magic, media, ext in _MAGIC:
        if data.startswith(magic):
            return data, media, ext, upload.filename
    raise Problem(415, "Unsupported media type", "only PDF, PNG and JPEG files are accepted")


def _form_errors(form, allowed: set[str]) -> tuple[dict, list[dict]]:
    errors = [{"pointer": f"/{k}", "detail": "unknown field"} for k in form if k not in allowed]
    return dict(form), errors


@bp.post("/cases/<case_id>/evidence")
@operation("Upload a piece of evidence (PDF, PNG, JPEG)", tags=("cases",), permission="cases:write",
           body=EVIDENCE_FORM, body_media="multipart/form-data", responses={201: EvidenceOut}, errors=(404, 413, 415),
           description="Stored write-once in the archive; the answer carries the file's SHA-256.")
def upload_evidence(case_id: str):
    c = container()
    data, media, ext, filename = read_upload(c.settings.max_upload_bytes)
    form, errors = _form_errors(request.form, {"kind", "title", "date"})
    kind, title, date_raw = form.get("kind"), (form.get("title") or "").strip(), form.get("date")
    if kind not in EVIDENCE_KINDS:
        errors.append({"pointer": "/kind", "detail": f"kind must be one of {', '.join(EVIDENCE_KINDS)}"})
    if not title or len(title) > 200:
        errors.append({"pointer": "/title", "detail": "title is required (1 to 200 characters)"})
    doc_date = None
    if date_raw:
        doc_date = parse_iso_date(date_raw)
        if doc_date is None:
            errors.append({"pointer": "/date", "detail": "date must be YYYY-MM-DD"})
    if errors:
        raise Problem(422, "Invalid input", errors=errors)
    sha = upload_digest(request.files["file"])

    def effect(conn, p):
        # Everything that can refuse the request has been checked; record_evidence locks the case
        # (404), inserts the row and only then puts the file, in this transaction: a failed put
        # rolls the row back. The one orphan left possible is a file put just before the commit
        # fails; it is harmless: nothing refers to it, and its key is content-addressed, so the
        # client's retry of the same upload puts the same bytes at the same key and reuses it.
        key = f"tenants/{p.tenant_id}/cases/{case_id}/evidence/{sha}.{ext}"
        out = services.record_evidence(conn, p.tenant_id, p.actor, case_id, kind=kind, title=title,
                                       filename=filename, media_type=media, size=len(data), sha256=sha,
                                       archive_key=key, store=lambda: c.archive.put(key, data, media),
                                       document_date=doc_date)
        return 201, out, {"Location": f"/v1/cases/{case_id}/evidence/{out['id']}"}
    return run_write(effect, "cases:write")


@bp.get("/cases/<case_id>/events")
@operation("The case's evidence ledger, oldest first", tags=("ledger",), permission="cases:read",
           responses={200: LedgerEventList}, errors=(404,))
def list_events(case_id: str):
    return run_read(lambda conn, p: {"items": [e.to_dict() for e in services.list_events(conn, p.tenant_id, case_id)]},
                    "cases:read")


@bp.get("/cases/<case_id>/events/verify")
@operation("Recompute the ledger's hash chain", tags=("ledger",), permission="cases:read",
           responses={200: LedgerCheckOut}, errors=(404,))
def verify_events(case_id: str):
    return run_read(lambda conn, p: services.verify_case_ledger(conn, p.tenant_id, case_id).to_dict(), "cases:read")


__all__ = ["bp", "read_upload", "EVIDENCE_KINDS", "json_response"]
