"""Legal hold on archived documents (S3 Object Lock legal hold, or the local store's flag)."""
from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, ConfigDict

from documents.service import set_legal_hold

from ._http import container, json_body, parsed_body, run_write
from .openapi import operation

bp = Blueprint("archive", __name__)


class LegalHoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool


class LegalHoldOut(BaseModel):
    document_id: str
    legal_hold: bool
    objects: list[str]


@bp.put("/documents/<document_id>/legal-hold")
@operation("Place or lift a legal hold on a document's archived files", tags=("documents",),
           permission="documents:write", body=LegalHoldIn, responses={200: LegalHoldOut}, errors=(404, 409))
def legal_hold(document_id: str):
    hold = parsed_body(LegalHoldIn, json_body())
    return run_write(lambda conn, p: (200, set_legal_hold(conn, container(), p.tenant_id, p.actor, document_id,
                                                          hold.on), {}), "documents:write")
