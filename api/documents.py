"""Document generation (as jobs) and downloads of the signed, archived files."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Literal

from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field

import documents
from storage import ArchiveError

from ._http import bool_arg, container, json_body, parsed_body, run_read, run_write
from .openapi import Param, operation
from .problems import Problem
from .schemas import ProblemOut

bp = Blueprint("documents", __name__)


class DocumentRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["relance", "mise_en_demeure", "decompte", "requete_injonction_de_payer", "bordereau_pieces",
                  "dossier_injonction_de_payer"]
    as_of: dt.date | None = Field(default=None, description="date of the letter and of the claim (default: today, Paris)")
    payment_days: int | None = Field(default=None, ge=1, le=90, description="payment deadline in days (default 8)")


class DocumentAccepted(BaseModel):
    id: str
    status: Literal["pending"]


class DocumentPendingProblem(ProblemOut):
    document_id: str | None = Field(default=None, description="the document of this kind still being generated "
                                                              "for the case (absent for a reused Idempotency-Key)")


class DocumentError(BaseModel):
    step: str
    message: str


class DocumentOut(BaseModel):
    id: str
    case_id: str
    kind: str
    status: Literal["pending", "ready", "failed"]
    sha256: str | None = Field(description="SHA-256 of the exact PDF bytes served by /pdf")
    error: DocumentError | None = None
    warnings: list[str]
    signature: dict | None
    params: dict
    has_docx: bool
    has_zip: bool
    created_at: str
    updated_at: str


class DocumentList(BaseModel):
    items: list[DocumentOut]


def _out(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "job_id"}


@bp.post("/cases/<case_id>/documents")
@operation("Generate a document (runs as a job)", tags=("documents",), permission="documents:write",
           body=DocumentRequestIn,
           responses={202: DocumentAccepted,
                      409: ("A document of this kind is already being generated for the case: document_id "
                            "names it (poll it), or the Idempotency-Key was reused with another request",
                            DocumentPendingProblem, "application/problem+json")},
           errors=(404,),
           description="Poll GET /v1/documents/{id} until status is ready or failed, or subscribe to the "
                       "document.ready / document.failed webhooks. One document of a kind is generated at a "
                       "time per case: while one is pending, another request answers 409 with its document_id.")
def create(case_id: str):
    body = json_body()
    req = parsed_body(DocumentRequestIn, body)

    def effect(conn, p):
        try:
            doc = documents.request_document(conn, container(), p.tenant_id, p.actor, case_id, req.kind,
                                             as_of=req.as_of, payment_days=req.payment_days)
        except documents.DocumentPending as exc:
            raise Problem(409, "Document already being generated", exc.detail, document_id=exc.document_id) \
                from None
        return 202, {"id": doc["id"], "status": "pending"}, {"Location": f"/v1/documents/{doc['id']}"}
    return run_write(effect, "documents:write")


@bp.get("/cases/<case_id>/documents")
@operation("List a case's documents", tags=("documents",), permission="cases:read", responses={200: DocumentList},
           errors=(404,))
def list_(case_id: str):
    return run_read(lambda conn, p: {"items": [_out(d) for d in documents.list_documents(conn, p.tenant_id, case_id)]},
                    "cases:read")


@bp.get("/documents/<document_id>")
@operation("A document's status", tags=("documents",), permission="cases:read", responses={200: DocumentOut},
           errors=(404,))
def get(document_id: str):
    return run_read(lambda conn, p: _out(documents.get_document(conn, p.tenant_id, document_id)), "cases:read")


log = logging.getLogger("recouvre.api")


def _download(document_id: str, fmt: str) -> Response:
    """Streams the archived bytes checked against the recorded digest (the last chunk waits for
    the check: a mismatch ends the body short of Content-Length), or redirects to a presigned URL
    of the recorded version when asked and the archive has one."""
    redirect = bool_arg("redirect", False)
    try:
        file = run_read(
            lambda conn, p: documents.document_file(conn, container(), p.tenant_id, document_id, fmt), "cases:read")
    except ArchiveError as exc:
        log.error("document %s: %s not served: %s", document_id, fmt, exc)
        raise Problem(500, "Archived file unavailable",
                      "the archived file does not match the digest recorded for it, or is missing; "
                      "it was not served and the error was logged") from None
    headers = file.headers()
    url = file.presigned_url() if redirect else None
    if url:
        del headers["Content-Length"]   # of the file, not of this empty answer
        return Response(status=302, headers={**headers, "Location": url, "Cache-Control": "no-store"})
    return Response(file.chunks(), mimetype=file.media_type, direct_passthrough=True, headers=headers)


_FILE_ERRORS = (404, 409, 500)
_REDIRECT = (Param("redirect", schema={"type": "boolean", "default": False},
                   description="true: answer 302 to a short-lived presigned URL of the archived version (S3 "
                               "archive); the local archive streams the file instead"),)
_REDIRECTED = ("redirect=true on an S3 archive: Location is a presigned URL of the recorded version; "
               "X-Content-SHA256 is the digest to check the download against", None, "")


@bp.get("/documents/<document_id>/pdf")
@operation("Download the signed PDF/A", tags=("documents",), permission="cases:read",
           responses={200: ("The PDF", None, "application/pdf"), 302: _REDIRECTED}, errors=_FILE_ERRORS,
           params=_REDIRECT)
def pdf(document_id: str):
    return _download(document_id, "pdf")


@bp.get("/documents/<document_id>/docx")
@operation("Download the editable DOCX (single documents)", tags=("documents",), permission="cases:read",
           responses={200: ("The DOCX", None, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                      302: _REDIRECTED},
           errors=_FILE_ERRORS,
           params=_REDIRECT)
def docx(document_id: str):
    return _download(document_id, "docx")


@bp.get("/documents/<document_id>/zip")
@operation("Download the dossier as a ZIP of individual PDFs", tags=("documents",), permission="cases:read",
           responses={200: ("The ZIP", None, "application/zip"), 302: _REDIRECTED}, errors=_FILE_ERRORS,
           params=_REDIRECT)
def zip_(document_id: str):
    return _download(document_id, "zip")
