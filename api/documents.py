"""Document generation (as jobs) and downloads of the signed, archived files."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field

import documents

from ._http import container, json_body, parsed_body, run_read, run_write
from .openapi import operation

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
           body=DocumentRequestIn, responses={202: DocumentAccepted}, errors=(404,),
           description="Poll GET /v1/documents/{id} until status is ready or failed, or subscribe to the "
                       "document.ready / document.failed webhooks.")
def create(case_id: str):
    body = json_body()
    req = parsed_body(DocumentRequestIn, body)

    def effect(conn, p):
        doc = documents.request_document(conn, container(), p.tenant_id, p.actor, case_id, req.kind,
                                         as_of=req.as_of, payment_days=req.payment_days)
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


def _download(document_id: str, fmt: str) -> Response:
    data, media, filename = run_read(
        lambda conn, p: documents.document_file(conn, container(), p.tenant_id, document_id, fmt), "cases:read")
    resp = Response(data, mimetype=media)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    return resp


_FILE_ERRORS = (404, 409)


@bp.get("/documents/<document_id>/pdf")
@operation("Download the signed PDF/A", tags=("documents",), permission="cases:read",
           responses={200: ("The PDF", None, "application/pdf")}, errors=_FILE_ERRORS)
def pdf(document_id: str):
    return _download(document_id, "pdf")


@bp.get("/documents/<document_id>/docx")
@operation("Download the editable DOCX (single documents)", tags=("documents",), permission="cases:read",
           responses={200: ("The DOCX", None, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")},
           errors=_FILE_ERRORS)
def docx(document_id: str):
    return _download(document_id, "docx")


@bp.get("/documents/<document_id>/zip")
@operation("Download the dossier as a ZIP of individual PDFs", tags=("documents",), permission="cases:read",
           responses={200: ("The ZIP", None, "application/zip")}, errors=_FILE_ERRORS)
def zip_(document_id: str):
    return _download(document_id, "zip")
