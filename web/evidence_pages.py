"""Downloading a pièce (an uploaded file or a scanned avis de réception) of the signed-in user's tenant."""
from __future__ import annotations

from flask import Response, abort
from sqlalchemy import select

from persistence.tables import evidence
from storage import ArchiveIntegrityError, ObjectNotFound, open_recorded

from .blueprint import bp, page_error
from .security import container, current_user, login_required

_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


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
    return Response(file.chunks(), mimetype=file.media_type, direct_passthrough=True, headers=file.headers())
