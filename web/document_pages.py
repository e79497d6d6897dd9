"""Generating documents, following their job, downloading them.

Generation runs as a background job: the lawyer lands on a progress page that polls a JSON
status endpoint (or, without JavaScript, refreshes itself) until the files are ready.
"""
from __future__ import annotations

import logging

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for

from casefiles.services import get_case
from casefiles.errors import Conflict, DomainError, NotFound

from . import services
from .blueprint import bp
from .formatting import LABELS, label
from .security import container, current_user, login_required

_FORMATS = {"pdf", "docx", "zip"}
log = logging.getLogger("recouvre.web")


def _service():
    documents = services.documents()
    if documents is None:
        abort(404)
    return documents


def _document(conn, documents, document_id: str) -> dict:
    try:
        return documents.get_document(conn, current_user().tenant_id, document_id)
    except NotFound:
        abort(404)


def job_state(conn, doc: dict) -> dict | None:
    """Queue position detail for the progress page, when the document names its job."""
    job_id = doc.get("job_id")
    if not job_id:
        return None
    from jobs import get_job
    job = get_job(conn, job_id)
    if job is None or job["tenant_id"] not in (None, current_user().tenant_id):
        return None
    return {"status": job["status"], "attempts": job["attempts"], "max_attempts": job["max_attempts"]}


def progress_text(doc: dict, job: dict | None) -> str:
    if doc["status"] == "ready":
        return "Le document est prêt."
    if doc["status"] == "failed":
        return "La génération a échoué."
    if job and job["status"] == "queued" and job["attempts"] == 0:
        return "En file d'attente…"
    if job and job["attempts"] > 1:
        return f"Génération en cours (nouvel essai {job['attempts']} sur {job['max_attempts']})…"
    return "Génération en cours : mise en forme, conversion en PDF et signature…"


_STEPS = {"claim": "calcul du décompte", "render": "mise en forme", "convert": "conversion en PDF",
          "assemble": "assemblage", "sign": "signature", "archive": "archivage", "generate": "génération"}


@bp.app_template_global("document_error")
def error_text(doc: dict) -> str | None:
    """Why generation failed, in French; the technical message is kept for the administrator."""
    err = doc.get("error")
    if not err:
        return None
    if not isinstance(err, dict):
        err = {}
    if err.get("semester"):
        return (f"Le taux « {err.get('basis', '?')} » du semestre {err['semester']} manque au barème des taux ; "
                "demandez à l'administrateur de l'ajouter, puis relancez la génération.")
    step = _STEPS.get(err.get("step") or "generate", "génération")
    return (f"Échec à l'étape « {step} ». Relancez la génération ; si l'échec se répète, signalez-le à "
            "l'administrateur : le détail technique est enregistré avec le document.")


@bp.post("/cases/<case_id>/documents")
@login_required("documents:write")
def generate_document(case_id: str):
    documents = _service()
    kind = request.form.get("kind") or ""
    if kind not in LABELS["document_kind"]:
        flash("Choisissez le document à générer.", "error")
        return redirect(url_for("web.case", case_id=case_id) + "#documents", code=303)
    c = container()
    user = current_user()
    try:
        with c.db.write() as conn:
            doc = documents.request_document(conn, c, user.tenant_id, user.actor, case_id, kind)
    except NotFound:
        abort(404)
    except Conflict as exc:
        running = getattr(exc, "document_id", None)   # the service refuses a second one while one is pending
        if running is None:
            return _refused(kind, case_id, exc)
        flash(f"{LABELS['document_kind'][kind]} : une génération est déjà en cours, en voici "
              "l'avancement. Attendez qu'elle se termine avant d'en demander une autre.", "info")
        return redirect(url_for("web.document", document_id=running), code=303)
    except DomainError as exc:
        return _refused(kind, case_id, exc)
    # Database.write hands the enqueued job to the workers once the transaction has committed.
    return redirect(url_for("web.document", document_id=doc["id"]), code=303)


def _refused(kind: str, case_id: str, exc: DomainError):
    """The service speaks English to integrators; the lawyer reads French."""
    log.warning("document %s refused for case %s: %s", kind, case_id, exc.detail)
    flash("Le document ne peut pas être généré pour l'instant. Rechargez la page du dossier, vérifiez ses "
          "données, puis recommencez ; si le refus persiste, signalez-le à l'administrateur.", "error")
    return redirect(url_for("web.case", case_id=case_id) + "#documents", code=303)


def pending_document(docs: list[dict], kind: str) -> dict | None:
    """The latest document of this kind still being generated, if any: a pending document, since a
    job that dies for good fails its document (the sweeper runs the job's on_failure)."""
    pending = [d for d in docs if d["kind"] == kind and d["status"] == "pending"]
    return max(pending, key=lambda d: d["created_at"]) if pending else None


@bp.get("/documents/<document_id>")
@login_required("cases:read")
def document(document_id: str):
    documents = _service()
    with container().db.read() as conn:
        doc = _document(conn, documents, document_id)
        job = job_state(conn, doc)
        reference = get_case(conn, current_user().tenant_id, doc["case_id"])["reference"]
    return render_template("document.html", doc=doc, progress=progress_text(doc, job), error=error_text(doc),
                           reference=reference)


@bp.get("/documents/<document_id>/status")
@login_required("cases:read")
def document_status(document_id: str):
    documents = _service()
    with container().db.read() as conn:
        doc = _document(conn, documents, document_id)
        job = job_state(conn, doc)
    return jsonify({
        "id": doc["id"], "status": doc["status"], "status_label": label(doc["status"], "document_status"),
        "progress": progress_text(doc, job), "error": error_text(doc),
        "job": job, "page": url_for("web.document", document_id=doc["id"]),
    })


@bp.get("/documents/<document_id>/<fmt>")
@login_required("cases:read")
def document_file(document_id: str, fmt: str):
    if fmt not in _FORMATS:
        abort(404)
    from storage import ArchiveError
    documents = _service()
    c = container()
    with c.db.read() as conn:
        try:
            file = documents.document_file(conn, c, current_user().tenant_id, document_id, fmt)
        except NotFound:
            abort(404)
        except Conflict:      # not ready (yet): the document page says where it stands
            return redirect(url_for("web.document", document_id=document_id), code=303)
        except ArchiveError:  # not the recorded file, or gone: logged by storage, never served
            abort(500)
    # Streamed, the last chunk held back until the recorded digest is checked.
    return Response(file.chunks(), mimetype=file.media_type, direct_passthrough=True, headers=file.headers())
