"""The case's proof ZIP: what a court or the debtor's lawyer can check without trusting us."""
from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, Response

from proofs import build_proof_zip
from storage import ArchiveError

from ._http import container, run_read
from .openapi import operation
from .problems import Problem

log = logging.getLogger("recouvre.api")

bp = Blueprint("proofs", __name__)


@bp.get("/cases/<case_id>/proof")
@operation("Download the case's offline-verifiable proof (ZIP)", tags=("ledger",), permission="cases:read",
           responses={200: ("The ZIP", None, "application/zip")}, errors=(404, 500),
           description="The ledger (JSON), the RFC 3161 timestamps of its head, every archived file the ledger "
                       "records with its SHA-256, a manifest and a README (French and English) explaining how "
                       "to verify by hand or with `recouvre proof verify FILE.zip`, which needs no server.")
def proof(case_id: str):
    try:
        data = run_read(lambda conn, p: build_proof_zip(conn, container(), p.tenant_id, case_id), "cases:read")
    except ArchiveError as exc:   # every file is read against the digest its ledger event recorded
        log.error("proof of case %s not built: %s", case_id, exc)
        raise Problem(500, "Archived file unavailable",
                      "a file the ledger records is missing from the archive or no longer matches its recorded "
                      "SHA-256; no proof was built and the error was logged") from None
    resp = Response(data, mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="proof-{case_id}.zip"'
    resp.headers["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    return resp


__all__ = ["bp"]
