"""Downloading a pièce (an uploaded file or a scanned avis de réception) of the signed-in user's tenant."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort
from sqlalchemy import select

from persistence.tables import evidence
from storage import ArchiveIntegrityError, ObjectNotFound, open_recorded

from .blueprint import bp, page_error
from .security import container, current_user, login_required

__all__ = ["mailing_scans"]

_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def mailing_scans(conn, tenant_id: str, mailing: dict) -> list[dict]:
    """The scanned avis de réception of one letter, oldest first.

    delivery stores each scan as evidence of its case under the mailing's own archive prefix
    (…/mailings/<id>/receipt-…), which is what ties a scan to its letter."""
    prefix = f"tenants/{tenant_id}/cases/{mailing['case_id']}/mailings/{mailing['id']}/"
    rows = conn.execute(select(evidence.c.id, evidence.c.title, evidence.c.filename, evidence.c.media_type,
                               evidence.c.size, evidence.c.sha256, evidence.c.created_at)
                        .where(evidence.c.tenant_id == tenant_id, evidence.c.case_id == mailing["case_id"],
                               evidence.c.kind == "receipt_scan",
                               evidence.c.archive_key.startswith(prefix, autoescape=True))
                        .order_by(evidence.c.created_at, evidence.c.id)).mappings().all()
    return [dict(r) for r in rows]


def _download_name(row) -> str:
    name = row["filename"] or f"{row['title']}.{_EXTENSIONS.get(row['media_type'], 'bin')}"
    return name.replace("/", "_").replace("\\", "_")


@bp.get("/evidence/<evidence_id>")
@login_required("cases:read")
def evidence_file(evidence_id: str):
    """The archived bytes, streamed and checked against the digest recorded when the file came in."""
    c = container()
    with c.db.read() as conn:
        row = conn.execute(select(evidence).where(evidence.c.id == evidence_id,
                                                  evidence.c.tenant_id == current_user().tenant_id)
                           ).mappings().first()
    if row is None:
        abort(404)
    try:
        file = open_recorded(c.archive, row["archive_key"], sha256=row["sha256"], version_id=row["version_id"],
                             media_type=row["media_type"], filename=_download_name(row))
    except (ArchiveIntegrityError, ObjectNotFound):          # logged by storage; never served
        return page_error(500, title="Pièce illisible",
                          detail="Le fichier archivé de cette pièce est introuvable ou ne correspond plus à "
                                 "l'empreinte enregistrée à sa réception. Ne l'utilisez pas et signalez-le à "
                                 "l'administrateur.")
    ascii_name = file.filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(file.chunks(), mimetype=file.media_type, direct_passthrough=True, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file.filename)}",
        "Content-Length": str(file.size),
        "X-Content-SHA256": file.sha256,
    })
