"""Documents that rest on the case's history: earlier letters, the posted mise en demeure and its
avis de réception, the same pièces in the requête and the bordereau, and what the ledger records."""
from __future__ import annotations

import base64
import copy
import hashlib
import io
import re
import subprocess
import zipfile

import pytest
from lxml import etree
from pypdf import PdfReader

import documents
from documents.service import letter_reference
from jobs import execute

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
AGENCY = {"name": "Cabinet Recouvra SAS", "siren": "732829320", "representative": {"name": "Paul Girard"},
          "address": {"lines": ["22 boulevard Haussmann"], "postal_code": "75009", "city": "Paris"}}


def request(tenant, container, case_id, kind, as_of):
    r = tenant.lawyer.post(f"/v1/cases/{case_id}/documents", json={"kind": kind, "as_of": as_of})
    assert r.status_code == 202, r.json
    with container.db.read() as conn:
        return r.json["id"], documents.get_document(conn, tenant.id, r.json["id"])["job_id"]


def generate(tenant, container, case_id, kind, as_of):
    doc_id, job_id = request(tenant, container, case_id, kind, as_of)
    assert execute(container, job_id)
    doc = tenant.lawyer.get(f"/v1/documents/{doc_id}").json
    assert doc["status"] == "ready", doc.get("error")
    return doc


def text_of(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    text = out.decode().replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", re.sub(r"(?<=\w)-[ \t]*\n\s*", "-", text))


def pdf_of(tenant, doc) -> bytes:
    return tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf").data


def piece_rows(docx: bytes) -> list[tuple[str, ...]]:
    """(number, title, date, observation) of the pièces table of a requête or bordereau DOCX."""
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml"))
    for tbl in root.iter(f"{W}tbl"):
        rows = [["".join(t.text or "" for t in tc.iter(f"{W}t")) for tc in tr.iter(f"{W}tc")]
                for tr in tbl.iter(f"{W}tr")]
        if rows and rows[0][:2] == ["N°", "Pièce"]:
            return [(r[0].removeprefix("Pièce n°"), *r[1:]) for r in rows[1:]]
    raise AssertionError("no pièces table")


def post_mailing(tenant, case_id, doc_id, tracking="RA473124829FR"):
    r = tenant.integrator.post(f"/v1/cases/{case_id}/mailings", json={
        "document_id": doc_id, "service": "lrar", "level": "R1", "tracking_number": tracking})
    assert r.status_code == 201, r.json
    mailing = r.json
    for ev_type, at in (("deposited", "2026-03-02T16:00:00+01:00"), ("first_presented", "2026-03-05T10:12:00+01:00")):
        r = tenant.integrator.post(f"/v1/mailings/{mailing['id']}/events", json={"type": ev_type, "at": at})
        assert r.status_code in (200, 201), r.json
    return r.json


def upload(tenant, case_id, kind, title, data, name, date=None):
    form = {"kind": kind, "title": title, "file": (io.BytesIO(data), name)}
    if date:
        form["date"] = date
    r = tenant.integrator.post(f"/v1/cases/{case_id}/evidence", data=form, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    return r.json


def invoice_pdf(title: str) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(TTFont("HistSans", "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, initialFontName="HistSans")
    c.setFont("HistSans", 12)
    c.drawString(72, 700, title)
    c.save()
    return buf.getvalue()


@pytest.fixture
def b2b(tenant, b2b_case):
    return tenant.integrator.post("/v1/cases", json=b2b_case).json


def test_requete_and_bordereau_list_the_same_pieces(tenant, container, b2b):
    upload(tenant, b2b["id"], "invoice", "Facture F-2025-0412", invoice_pdf("Facture F-2025-0412"), "f.pdf")
    med = generate(tenant, container, b2b["id"], "mise_en_demeure", "2026-03-01")
    post_mailing(tenant, b2b["id"], med["id"])
    requete = generate(tenant, container, b2b["id"], "requete_injonction_de_payer", "2026-04-15")
    bordereau = generate(tenant, container, b2b["id"], "bordereau_pieces", "2026-04-15")
    listed = [piece_rows(tenant.lawyer.get(f"/v1/documents/{d['id']}/docx").data) for d in (requete, bordereau)]
    assert listed[0] == listed[1]
    titles = {row[1]: row for row in listed[0]}
    assert titles["Facture n° F-2025-0412"][3] == ""                      # the uploaded scan is attached
    assert titles["Mise en demeure du 1er mars 2026 par lettre recommandée avec demande d'avis de réception"][2:] \
        == ("01/03/2026", "")


def test_requete_dates_the_notice_by_its_letter_and_the_proof_by_its_deposit(tenant, container, b2b):
    med = generate(tenant, container, b2b["id"], "mise_en_demeure", "2026-03-01")
    mailing = post_mailing(tenant, b2b["id"], med["id"])
    assert tenant.lawyer.get(f"/v1/cases/{b2b['id']}").json["formal_notice_date"] == "2026-03-05"
    requete = generate(tenant, container, b2b["id"], "requete_injonction_de_payer", "2026-04-15")
    text = text_of(pdf_of(tenant, requete))
    assert ("Par lettre recommandée avec demande d'avis de réception du 1er mars 2026, déposée le 2 mars 2026 sous "
            "le n° RA473124829FR, le débiteur a été mis en demeure de payer.") in text
    assert "5 mars 2026" not in text
    rows = piece_rows(tenant.lawyer.get(f"/v1/documents/{requete['id']}/docx").data)
    proof = next(r for r in rows if r[1].startswith("Preuve d'envoi et avis de réception"))
    assert proof[1:] == ("Preuve d'envoi et avis de réception — LRAR n° RA473124829FR", "02/03/2026", "copie à joindre")
    assert any("Preuve d'envoi" in w and "copie à joindre" in w for w in requete["warnings"])

    # the clerk scans the avis de réception: the dossier attaches it, the warning goes
    r = tenant.clerk.post(f"/v1/mailings/{mailing['id']}/receipt", data={"file": (io.BytesIO(PNG), "ar.png")},
                          content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    dossier = generate(tenant, container, b2b["id"], "dossier_injonction_de_payer", "2026-04-15")
    outline = [o.title for o in PdfReader(io.BytesIO(pdf_of(tenant, dossier))).outline if not isinstance(o, list)]
    assert any(t.startswith("Pièce n°") and "Preuve d'envoi et avis de réception — LRAR n° RA473124829FR" in t
               for t in outline), outline
    assert not any("Preuve d'envoi" in w for w in dossier["warnings"])


def test_of_two_notices_of_one_date_the_requete_cites_and_lists_the_same_one(tenant, container, b2b):
    """The latest dated notice, and of two the same day the one created last: the requête's sentence
    (deposit date, tracking number) and its pièces name the same letter."""
    first = generate(tenant, container, b2b["id"], "mise_en_demeure", "2026-03-01")
    post_mailing(tenant, b2b["id"], first["id"], tracking="RA100000017FR")
    second = generate(tenant, container, b2b["id"], "mise_en_demeure", "2026-03-01")
    post_mailing(tenant, b2b["id"], second["id"], tracking="RA100000025FR")
    requete = generate(tenant, container, b2b["id"], "requete_injonction_de_payer", "2026-04-15")
    text = text_of(pdf_of(tenant, requete))
    assert "sous le n° RA100000025FR, le débiteur a été mis en demeure de payer." in text
    assert "RA100000017FR" not in text
    rows = piece_rows(tenant.lawyer.get(f"/v1/documents/{requete['id']}/docx").data)
    proofs = [r[1] for r in rows if r[1].startswith("Preuve d'envoi")]
    assert proofs == ["Preuve d'envoi et avis de réception — LRAR n° RA100000025FR"]


def test_a_day_s_letter_is_filed_once_as_the_generated_relance(tenant, container, b2c_case):
    """A relance generated and also recorded by hand the same day is one pièce, the signed letter;
    a reminder recorded after the bordereau's date is not among its pièces."""
    case_in = copy.deepcopy(b2c_case)
    case_in.update(formal_notice_date=None, reminders=[
        {"date": "2026-01-10", "channel": "letter", "summary": "Courrier de rappel"},
        {"date": "2026-01-12", "channel": "email", "summary": "Courriel de rappel"},
        {"date": "2026-05-02", "channel": "email", "summary": "Courriel ultérieur"}])
    case = tenant.integrator.post("/v1/cases", json=case_in).json
    relance = generate(tenant, container, case["id"], "relance", "2026-01-10")
    bordereau = generate(tenant, container, case["id"], "bordereau_pieces", "2026-04-15")
    reminders = [r[1:] for r in piece_rows(tenant.lawyer.get(f"/v1/documents/{bordereau['id']}/docx").data)
                 if r[1].startswith("Relance")]
    assert reminders == [
        (f"Relance du 10 janvier 2026 (courrier n° {letter_reference(relance['id'])})", "10/01/2026", ""),
        ("Relance (courriel) — Courriel de rappel", "12/01/2026", "copie à joindre")]


def test_a_notice_never_posted_is_not_called_an_lrar(tenant, container, b2b):
    generate(tenant, container, b2b["id"], "mise_en_demeure", "2026-03-01")
    text = text_of(pdf_of(tenant, generate(tenant, container, b2b["id"], "requete_injonction_de_payer",
                                           "2026-04-15")))
    assert "Le débiteur a été mis en demeure de payer (mise en demeure du 1er mars 2026)." in text
    assert "recommandée" not in text


def test_a_generated_relance_counts_for_the_next_and_is_filed_as_a_piece(tenant, container, b2c_case):
    case_in = copy.deepcopy(b2c_case)
    case_in.update(reminders=[], formal_notice_date=None)
    case = tenant.integrator.post("/v1/cases", json=case_in).json
    first = generate(tenant, container, case["id"], "relance", "2026-01-10")
    assert "Rappel de facture impayée" in text_of(pdf_of(tenant, first))
    second = generate(tenant, container, case["id"], "relance", "2026-02-10")
    text = text_of(pdf_of(tenant, second))
    assert "Relance : facture toujours impayée" in text and "Malgré le rappel du 10 janvier 2026" in text
    med = text_of(pdf_of(tenant, generate(tenant, container, case["id"], "mise_en_demeure", "2026-03-01")))
    assert "Nos relances du 10 janvier 2026 (courrier) et du 10 février 2026 (courrier) sont restées sans effet" in med
    bordereau = generate(tenant, container, case["id"], "bordereau_pieces", "2026-04-15")
    rows = piece_rows(tenant.lawyer.get(f"/v1/documents/{bordereau['id']}/docx").data)
    assert (f"Relance du 10 janvier 2026 (courrier n° {letter_reference(first['id'])})", "10/01/2026", "") in \
        [r[1:] for r in rows]
    assert (f"Relance du 10 février 2026 (courrier n° {letter_reference(second['id'])})", "10/02/2026", "") in \
        [r[1:] for r in rows]


def test_agency_letters_recall_the_first_letter(tenant, container, b2b_case):
    case_in = dict(copy.deepcopy(b2b_case), collection_agency=AGENCY)
    case = tenant.integrator.post("/v1/cases", json=case_in).json
    first = generate(tenant, container, case["id"], "relance", "2026-01-10")
    ref = letter_reference(first["id"])
    first_text = text_of(pdf_of(tenant, first))
    assert f"courrier n° {ref}" in first_text and "première lettre" not in first_text
    med = text_of(pdf_of(tenant, generate(tenant, container, case["id"], "mise_en_demeure", "2026-03-01")))
    assert f"notre première lettre relative à cette créance porte la référence {ref} et est datée du " \
           "10 janvier 2026" in med
    assert "disposition législative contraire au sens de l'article L. 111-8, alinéa 2" in med


def _signature_widgets(pdf: bytes) -> list[tuple[int, list[float]]]:
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for n, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            a = annot.get_object()
            if a.get("/FT") == "/Sig" or (a.get("/Parent") and a["/Parent"].get_object().get("/FT") == "/Sig"):
                found.append((n, [float(v) for v in a["/Rect"]]))
    return found


def test_dossier_signature_is_visible_where_the_requete_is_signed_and_titled_as_a_dossier(tenant, container, b2b):
    dossier = generate(tenant, container, b2b["id"], "dossier_injonction_de_payer", "2026-04-15")
    pdf = pdf_of(tenant, dossier)
    ((page, rect),) = _signature_widgets(pdf)
    assert rect[2] - rect[0] > 100 and rect[3] - rect[1] > 40
    z = zipfile.ZipFile(io.BytesIO(tenant.lawyer.get(f"/v1/documents/{dossier['id']}/zip").data))
    assert _signature_widgets(z.read("01-requete.pdf")) == [(page, rect)]
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info.title == f"Dossier d'injonction de payer — {b2b['reference']}"


def test_the_ledger_and_the_row_record_every_archived_file(tenant, container, b2b):
    med = generate(tenant, container, b2b["id"], "mise_en_demeure", "2026-03-01")
    dossier = generate(tenant, container, b2b["id"], "dossier_injonction_de_payer", "2026-04-15")
    events = {e["payload"]["document_id"]: e["payload"] for e in
              tenant.lawyer.get(f"/v1/cases/{b2b['id']}/events").json["items"] if e["type"] == "document.generated"}
    from persistence.tables import documents as table
    from sqlalchemy import select
    with container.db.read() as conn:
        rows = {r["id"]: r for r in conn.execute(select(table).where(table.c.case_id == b2b["id"])).mappings()}
    docx = tenant.lawyer.get(f"/v1/documents/{med['id']}/docx").data
    payload, row = events[med["id"]], rows[med["id"]]
    assert set(payload) >= {"document_id", "kind", "sha256", "archive_key", "version_id", "signature", "docx"}
    assert "zip" not in payload
    assert payload["docx"] == {"sha256": hashlib.sha256(docx).hexdigest(), "archive_key": row["docx_key"],
                               "version_id": row["docx_version"]}
    assert row["docx_sha256"] == payload["docx"]["sha256"] and payload["version_id"] == row["pdf_version"]
    zipped = tenant.lawyer.get(f"/v1/documents/{dossier['id']}/zip").data
    payload, row = events[dossier["id"]], rows[dossier["id"]]
    assert payload["zip"] == {"sha256": hashlib.sha256(zipped).hexdigest(), "archive_key": row["zip_key"],
                              "version_id": row["zip_version"]}
    assert "docx" not in payload and row["docx_key"] is None
    assert container.archive.get(payload["archive_key"], expected_sha256=payload["sha256"]) == pdf_of(tenant, dossier)
    assert tenant.lawyer.get(f"/v1/cases/{b2b['id']}/events/verify").json["valid"] is True


def test_a_piece_whose_archived_bytes_are_not_the_recorded_ones_fails_the_dossier(tenant, container, b2b):
    """The object's own metadata can be forged with its bytes: the digest the database recorded decides."""
    import json
    ev = upload(tenant, b2b["id"], "invoice", "Facture F-2025-0412", invoice_pdf("Facture F-2025-0412"), "f.pdf")
    path = container.archive._path(ev["archive_key"])
    forged = invoice_pdf("Facture F-2025-0412 (falsifiée)")
    meta_path = path.with_name(f".{path.name}.meta.json")
    meta = json.loads(meta_path.read_bytes())
    meta["sha256"] = hashlib.sha256(forged).hexdigest()
    meta["size"] = len(forged)
    for p, data in ((path, forged), (meta_path, json.dumps(meta).encode())):
        p.chmod(0o644)
        p.write_bytes(data)
    doc_id, job_id = request(tenant, container, b2b["id"], "dossier_injonction_de_payer", "2026-04-15")
    assert execute(container, job_id)
    doc = tenant.lawyer.get(f"/v1/documents/{doc_id}").json
    assert doc["status"] == "failed" and doc["error"]["step"] == "assemble"
    assert "not the file recorded" in doc["error"]["message"]
