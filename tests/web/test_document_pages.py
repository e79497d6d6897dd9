"""Generating a document from the case page, following its job, downloading it."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import update

from .helpers import csrf_of, make_case, signed_in, text_of


def _request(client, case_id: str, kind: str):
    token = csrf_of(client.get(f"/app/cases/{case_id}").text)
    return client.post(f"/app/cases/{case_id}/documents", data={"csrf_token": token, "kind": kind})


def _run_jobs(container) -> None:
    from jobs import execute
    while execute(container):
        pass


def test_progress_page_polls_and_has_a_no_script_fallback(app, container, tenant):
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    resp = _request(client, case["id"], "dossier_injonction_de_payer")
    assert resp.status_code == 303 and re.fullmatch(r"/app/documents/[0-9a-f-]{36}", resp.location)
    page = client.get(resp.location)
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page.text
    assert f'data-poll="{resp.location}/status"' in page.text
    assert "En file d'attente" in text_of(page.text)
    status = client.get(resp.location + "/status").json
    assert status["status"] == "pending" and status["status_label"] == "En cours de génération"
    assert status["job"]["status"] == "queued"
    assert client.get(resp.location + "/zip").location == resp.location      # not ready: back to the progress page
    case_text = text_of(client.get(f"/app/cases/{case['id']}").text)
    assert "Dossier d'injonction de payer" in case_text and "En cours de génération" in case_text


def test_failed_generation_says_why_in_french(app, container, tenant):
    from persistence.tables import documents
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    location = _request(client, case["id"], "decompte").location
    doc_id = location.rsplit("/", 1)[1]
    with container.db.write() as conn:
        conn.execute(update(documents).where(documents.c.id == doc_id).values(status="failed", error={
            "step": "claim", "message": "no BCE rate for 2031-S1", "semester": "2031-S1", "basis": "BCE + 10 points"}))
    text = text_of(client.get(location).text)
    assert "La génération a échoué." in text
    assert "Le taux « BCE + 10 points » du semestre 2031-S1 manque au barème des taux" in text
    assert client.get(location + "/status").json["status"] == "failed"
    assert "manque au barème" in text_of(client.get(f"/app/cases/{case['id']}").text)


def test_unknown_kind_is_refused_with_a_message(app, container, tenant):
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    resp = _request(client, case["id"], "poème")
    assert resp.status_code == 303
    assert "Choisissez le document à générer." in client.get(resp.location).text


def test_another_tenants_document_is_not_found(app, container, tenant, other_tenant):
    case = make_case(container, other_tenant.id)
    theirs = signed_in(app, container, other_tenant.id)
    location = _request(theirs, case["id"], "relance").location
    mine = signed_in(app, container, tenant.id)
    for suffix in ("", "/status", "/pdf", "/zip"):
        assert mine.get(location + suffix).status_code == 404
    token = csrf_of(mine.get("/app/cases").text)
    assert mine.post(f"/app/cases/{case['id']}/documents",
                     data={"csrf_token": token, "kind": "relance"}).status_code == 404


@pytest.mark.libreoffice
@pytest.mark.slow
def test_dossier_is_generated_and_downloaded(app, container, tenant):
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    location = _request(client, case["id"], "dossier_injonction_de_payer").location
    _run_jobs(container)
    assert client.get(location + "/status").json["status"] == "ready"
    page = client.get(location)
    assert "Le document est prêt." in page.text and 'id="telecharger-zip"' in page.text
    resp = client.get(location + "/zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="')
    assert any(n.startswith("01-") for n in zipfile.ZipFile(io.BytesIO(resp.data)).namelist())
    pdf = client.get(location + "/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    case_page = client.get(f"/app/cases/{case['id']}").text
    assert "Injonction de payer" in text_of(case_page)                     # the stage moved on
    assert f'{location}/zip' in case_page


def _documents_of(container, tenant_id: str, case_id: str) -> list[dict]:
    from documents import service
    with container.db.read() as conn:
        return service.list_documents(conn, tenant_id, case_id)


def test_a_pending_dossier_shows_its_progress_instead_of_starting_another(app, container, tenant):
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    first = _request(client, case["id"], "dossier_injonction_de_payer").location
    html = client.get(f"/app/cases/{case['id']}").text
    assert 'id="generer-dossier"' not in html                             # no button to start a second one
    follow = re.search(r'<a class="button primary" id="suivre-dossier" href="([^"]+)">', html)
    assert follow and follow.group(1) == first
    assert "En file d'attente…" in text_of(re.search(r'<div class="kpi action" id="dossier-en-cours">.*?</div>',
                                                      html, re.S).group(0))
    again = _request(client, case["id"], "dossier_injonction_de_payer")        # e.g. from the Générer menu
    assert again.status_code == 303 and again.location == first
    assert "une génération est déjà en cours" in text_of(client.get(again.location).text)
    assert [d["kind"] for d in _documents_of(container, tenant.id, case["id"])] == ["dossier_injonction_de_payer"]
    other = _request(client, case["id"], "decompte")                             # another kind still starts
    assert other.status_code == 303 and other.location != first


def test_generation_refusals_are_in_french(app, container, tenant, monkeypatch):
    from casefiles.errors import Conflict, InvalidInput
    from casefiles.model import FieldError
    from documents import service
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    for exc in (InvalidInput([FieldError("/payment_days", "payment_days must be an integer from 1 to 90")]),
                Conflict("case is closed")):
        def refuse(*_a, _exc=exc, **_kw):
            raise _exc
        monkeypatch.setattr(service, "request_document", refuse)
        resp = _request(client, case["id"], "relance")
        text = text_of(client.get(resp.location).text)
        assert "Le document ne peut pas être généré pour l'instant." in text
        assert "must be" not in text and "closed" not in text and "payment_days" not in text


def test_a_failed_step_is_explained_in_french_without_the_technical_message(app, container, tenant):
    from persistence.tables import documents
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    location = _request(client, case["id"], "relance").location
    with container.db.write() as conn:
        conn.execute(update(documents).where(documents.c.id == location.rsplit("/", 1)[1]).values(
            status="failed", error={"step": "convert", "message": "soffice exited with status 81"}))
    for page in (client.get(location).text, client.get(f"/app/cases/{case['id']}").text,
                 client.get(location + "/status").json["error"]):
        assert "Échec à l'étape « conversion en PDF ». Relancez la génération" in text_of(page)
        assert "soffice" not in page and "exited" not in page


@pytest.mark.libreoffice
@pytest.mark.slow
def test_the_docx_of_a_letter_downloads_for_its_tenant_only(app, container, tenant, other_tenant):
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    location = _request(client, case["id"], "relance").location
    _run_jobs(container)
    page = client.get(location).text
    assert f'href="{location}/docx"' in page and "Télécharger le DOCX" in page
    resp = client.get(location + "/docx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="') and ".docx" in \
        resp.headers["Content-Disposition"]
    assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
    stranger = signed_in(app, container, other_tenant.id)
    for suffix in ("/docx", "/pdf", ""):
        theirs = stranger.get(location + suffix)
        assert theirs.status_code == 404 and "Page introuvable" in theirs.text and theirs.data[:2] != b"PK"


def test_a_generation_the_service_finds_running_leads_to_that_documents_progress(app, container, tenant, monkeypatch):
    """The guard is the service's, taken under the case lock: when the other request's document was
    not visible yet to the page, the page still follows the running one instead of a vague refusal."""
    from documents import service
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    first = _request(client, case["id"], "relance").location
    monkeypatch.setattr(service, "list_documents", lambda *_a, **_kw: [])     # not committed when the page looked
    again = _request(client, case["id"], "relance")
    assert again.status_code == 303 and again.location == first
    assert "une génération est déjà en cours" in text_of(client.get(again.location).text)
    monkeypatch.undo()
    assert [d["kind"] for d in _documents_of(container, tenant.id, case["id"])] == ["relance"]
