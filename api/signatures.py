"""Validation of signed PDFs for anyone holding one of our documents."""
from __future__ import annotations

from flask import Blueprint, request
from pydantic import BaseModel

from ._http import container
from .openapi import operation
from .problems import Problem

bp = Blueprint("signatures", __name__)


class ValidationOut(BaseModel):
    intact: bool
    valid: bool
    signer: str | None
    signed_at: str | None
    timestamp: str | None
    level: str | None
    trusted: bool
    problems: list[str]


PDF_BODY = {"type": "string", "format": "binary", "description": "the signed PDF"}


@bp.post("/signatures/validate")
@operation("Validate the signatures of a PDF", tags=("signatures",), permission="signatures:validate",
           body=PDF_BODY, body_media="application/pdf", responses={200: ValidationOut}, errors=(413, 415),
           description="intact: the bytes are those signed; valid: the signature verifies; trusted: the signer "
                       "chains to our trust roots and is not the development certificate a fresh install signs "
                       "with (no legal value: trusted false, with a problem saying so). A tampered or broken "
                       "file answers intact: false, never an error.")
def validate():
    from signing import validate_pdf
    c = container()
    if request.mimetype not in ("application/pdf", "application/octet-stream"):
        raise Problem(415, "Unsupported media type", "send the PDF as application/pdf")
    data = request.get_data()
    if not data:
        raise Problem(422, "Invalid input", errors=[{"pointer": "", "detail": "send the PDF as the request body"}])
    if len(data) > c.settings.max_upload_bytes:
        raise Problem(413, "Upload too large", f"the limit is {c.settings.max_upload_bytes // (1024 * 1024)} MB")
    return validate_pdf(data, trust_roots=c.signer.trust_roots,
                        development_certificates=c.signer.development_certificates).to_dict()
