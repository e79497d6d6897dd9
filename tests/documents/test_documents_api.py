"""Documents over the API: generated as jobs, signed, archived, served with their digest."""
from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile

import pytest
from pypdf import PdfReader

import documents

from jobs import execute
from signing import validate_pdf


def generate(tenant, container, case_id, kind, **extra):
    r = tenant.lawyer.post(f"/v1/cases/{case_id}/documents", json={"kind": kind, **extra})
    assert r.status_code == 202, r.json
    assert r.json["status"] == "pending" and r.headers["Location"] == f"/v1/documents/{r.json['id']}"
    assert tenant.lawyer.get(f"/v1/documents/{r.json['id']}").json["status"] == "pending"
    with container.db.read() as conn:   # run this document's job, not other tests' (shared schema)
        job_id = documents.get_document(conn, tenant.id, r.json["id"])["job_id"]
    assert execute(container, job_id)
    return tenant.lawyer.get(f"/v1/documents/{r.json['id']}").json


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def b2b(tenant, b2b_case):
    return tenant.integrator.post("/v1/cases", json=b2b_case).json


def test_mise_en_demeure_is_generated_signed_and_archived(tenant, container, b2b):
    doc = generate(tenant, container, b2b["id"], "mise_en_demeure", as_of="2026-03-01", payment_days=15)
    assert doc["status"] == "ready", doc.get("error")
    assert doc["signature"]["level"] == "B-B" and doc["signature"]["development_certificate"] is True
    pdf = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == doc["sha256"] == pdf.headers["X-Content-SHA256"]
    report = validate_pdf(pdf.data, trust_roots=container.signer.trust_roots)
    assert report.intact and report.valid and report.trusted
    text = pdftotext(pdf.data)
    assert "quinze (15) jours" in text or "15 jours" in text or "(15)" in text
    assert "5 964,95" in text.replace("\u202f", " ").replace("\xa0", " ")
    docx = tenant.lawyer.get(f"/v1/documents/{doc['id']}/docx")
    assert docx.status_code == 200 and docx.data[:2] == b"PK"
    assert tenant.lawyer.get(f"/v1/documents/{doc['id']}/zip").status_code == 404
    events = tenant.lawyer.get(f"/v1/cases/{b2b['id']}/events").json["items"]
    generated = [e for e in events if e["type"] == "document.generated"]
    assert len(generated) == 1
    assert generated[0]["payload"]["sha256"] == doc["sha256"]
    assert container.archive.get(generated[0]["payload"]["archive_key"]) == pdf.data
    assert tenant.lawyer.get(f"/v1/cases/{b2b['id']}/events/verify").json["valid"] is True


def test_dossier_has_a_signed_merged_pdf_with_an_outline_and_a_zip(tenant, container, b2b):
    import base64
    real_png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    r = tenant.integrator.post(f"/v1/cases/{b2b['id']}/evidence", data={
        "kind": "invoice", "title": "Facture F-2025-0412", "file": (io.BytesIO(real_png), "f.png")},
        content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    generate(tenant, container, b2b["id"], "mise_en_demeure", as_of="2026-03-01")
    doc = generate(tenant, container, b2b["id"], "dossier_injonction_de_payer", as_of="2026-04-15")
    assert doc["status"] == "ready", doc.get("error")
    pdf = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf").data
    assert validate_pdf(pdf, trust_roots=container.signer.trust_roots).intact
    outline = [o.title for o in PdfReader(io.BytesIO(pdf)).outline if not isinstance(o, list)]
    assert any("Requête" in t or "requête" in t for t in outline)
    pieces = [t for t in outline if t.startswith("Pièce n°")]
    # attached pièces: the uploaded invoice scan and the mise en demeure; the contract and the
    # second invoice have no file and are only listed in the bordereau
    assert len(pieces) == 2, outline
    assert any("F-2025-0412" in t for t in pieces) and any("Mise en demeure" in t for t in pieces)
    z = zipfile.ZipFile(io.BytesIO(tenant.lawyer.get(f"/v1/documents/{doc['id']}/zip").data))
    names = z.namelist()
    assert any(n.startswith("01-") for n in names) and any(n.startswith("piece-") for n in names)
    assert "Pièce n°" in pdftotext(pdf)
    assert any("copie à joindre" in w or "F-2025-0467" in w for w in doc["warnings"])
    assert tenant.lawyer.get(f"/v1/cases/{b2b['id']}").json["status"] == "injunction"


def test_missing_rate_fails_the_job_and_says_why(tenant, container, b2b, b2b_case):
    import datetime as dt

    from casefiles.model import parse_case
    from law import MissingRateError, compute_claim
    case, _ = parse_case(b2b_case)
    with pytest.raises(MissingRateError) as missing:      # the first semester the rate data lacks
        compute_claim(case, dt.date(2031, 1, 15), rates=container.rates)
    doc = generate(tenant, container, b2b["id"], "decompte", as_of="2031-01-15")
    assert doc["status"] == "failed"
    error = doc["error"]
    assert error["step"] == "claim"
    assert (error["semester"], error["basis"]) == (missing.value.semester, missing.value.basis)
    assert f"rate for {missing.value.semester}" in error["message"]
    assert tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf").status_code == 409
    types = [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{b2b['id']}/events").json["items"]]
    assert "document.failed" in types


def test_roles_validation_and_isolation(tenant, other_tenant, container, b2b):
    assert tenant.clerk.post(f"/v1/cases/{b2b['id']}/documents", json={"kind": "relance"}).status_code == 403
    r = tenant.lawyer.post(f"/v1/cases/{b2b['id']}/documents", json={"kind": "poem", "payment_days": 0})
    assert r.status_code == 422 and {e["pointer"] for e in r.json["errors"]} == {"/kind", "/payment_days"}
    assert other_tenant.lawyer.post(f"/v1/cases/{b2b['id']}/documents", json={"kind": "relance"}).status_code == 404
    doc_id = tenant.lawyer.post(f"/v1/cases/{b2b['id']}/documents", json={"kind": "relance"}).json["id"]
    assert other_tenant.lawyer.get(f"/v1/documents/{doc_id}").status_code == 404
    assert [d["id"] for d in tenant.clerk.get(f"/v1/cases/{b2b['id']}/documents").json["items"]] == [doc_id]


def test_claim_and_deadlines_endpoints(tenant, b2b):
    claim = tenant.clerk.get(f"/v1/cases/{b2b['id']}/claim?as_of=2026-03-01").json
    assert claim["regime"] == "commercial" and claim["total_outstanding"] == "5964.95"
    assert claim["indemnities"] == "80.00"
    assert sum(float(x["amount"]) for x in claim["lines"]) == pytest.approx(float(claim["interest_accrued"]))
    missing = tenant.clerk.get(f"/v1/cases/{b2b['id']}/claim?as_of=2031-01-15")
    assert missing.status_code == 422 and missing.json["semester"] and missing.json["basis"]
    assert tenant.clerk.get(f"/v1/cases/{b2b['id']}/claim?as_of=nope").status_code == 422
    deadlines = tenant.clerk.get(f"/v1/cases/{b2b['id']}/deadlines?today=2026-03-01").json["items"]
    assert {d["kind"] for d in deadlines} == {"prescription"}
    assert all("L110-4" in d["basis"] or "L. 110-4" in d["basis"] for d in deadlines)


def test_signature_validation_endpoint(tenant, container, b2b):
    doc = generate(tenant, container, b2b["id"], "relance", as_of="2026-01-10")
    pdf = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf").data
    ok = tenant.clerk.post("/v1/signatures/validate", data=pdf, headers={"Content-Type": "application/pdf"}).json
    assert ok["intact"] and ok["valid"] and ok["level"] == "B-B"
    # signed with the development certificate of a fresh install: intact and valid, vouching for nothing
    assert ok["trusted"] is False and len(ok["problems"]) == 1 and "development certificate" in ok["problems"][0]
    i = len(pdf) // 3
    tampered = pdf[:i] + bytes([pdf[i] ^ 0x01]) + pdf[i + 1:]
    bad = tenant.clerk.post("/v1/signatures/validate", data=tampered, headers={"Content-Type": "application/pdf"})
    assert bad.status_code == 200 and bad.json["intact"] is False
    junk = tenant.clerk.post("/v1/signatures/validate", data=b"not a pdf", headers={"Content-Type": "application/pdf"})
    assert junk.status_code == 200 and junk.json["valid"] is False and junk.json["problems"]


def test_legal_hold_on_demand(tenant, container, b2b):
    doc = generate(tenant, container, b2b["id"], "decompte", as_of="2026-03-01")
    r = tenant.lawyer.client.put(f"/v1/documents/{doc['id']}/legal-hold", json={"on": True},
                                 headers={"Authorization": f"Bearer {tenant.keys['lawyer']}"})
    assert r.status_code == 200 and r.json["legal_hold"] is True
    assert all(container.archive.head(k).legal_hold for k in r.json["objects"])
    events = tenant.lawyer.get(f"/v1/cases/{b2b['id']}/events").json["items"]
    assert events[-1]["type"] == "archive.legal_hold" and events[-1]["payload"]["on"] is True


@pytest.mark.parametrize("rendered,months,last_day", [
    ("2026-08-31", 6, "2027-03-01"),     # 28 Feb 2027 is a Sunday (CPC 642)
    ("2026-09-01", 3, "2026-12-01"),
])
def test_ordonnance_starts_the_signification_deadline(tenant, b2b, rendered, months, last_day):
    r = tenant.integrator.post(f"/v1/cases/{b2b['id']}/ordonnance",
                               json={"date": rendered, "court": "Tribunal judiciaire de Strasbourg"})
    assert r.status_code == 201 and r.json["ordonnance"]["date"] == rendered and r.json["status"] == "injunction"
    items = tenant.clerk.get(f"/v1/cases/{b2b['id']}/deadlines?today=2026-10-01").json["items"]
    (sig,) = [d for d in items if d["kind"] == "ip_signification"]
    assert sig["date"] == last_day and "1411" in sig["basis"] and f"{months} mois" in sig["description"] + sig["basis"]
    assert tenant.integrator.post(f"/v1/cases/{b2b['id']}/ordonnance", json={"date": "nope"}).status_code == 422


def test_a_request_of_a_kind_still_being_generated_answers_409_naming_the_running_one(tenant, container, b2b):
    from sqlalchemy import update

    from persistence.tables import jobs
    url = f"/v1/cases/{b2b['id']}/documents"
    first = tenant.lawyer.post(url, json={"kind": "relance", "as_of": "2026-01-10"})
    assert first.status_code == 202, first.json
    again = tenant.integrator.post(url, json={"kind": "relance", "as_of": "2026-02-10"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert again.json["document_id"] == first.json["id"] and again.json["status"] == 409
    other_kind = tenant.lawyer.post(url, json={"kind": "decompte", "as_of": "2026-01-10"})
    assert other_kind.status_code == 202, other_kind.json
    items = tenant.lawyer.get(url).json["items"]
    assert [d["kind"] for d in items] == ["relance", "decompte"]            # the refused one left nothing
    events = [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{b2b['id']}/events").json["items"]]
    assert events.count("document.requested") == 2

    with container.db.read() as conn:
        job_id = documents.get_document(conn, tenant.id, first.json["id"])["job_id"]
    assert execute(container, job_id)
    assert tenant.lawyer.get(f"/v1/documents/{first.json['id']}").json["status"] == "ready"
    later = tenant.lawyer.post(url, json={"kind": "relance", "as_of": "2026-02-10"})
    assert later.status_code == 202, later.json                      # the first one is done

    with container.db.write() as conn:   # a job given up on without its hook: the row is no obstacle
        job_id = documents.get_document(conn, tenant.id, later.json["id"])["job_id"]
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(status="failed"))
    assert tenant.lawyer.post(url, json={"kind": "relance", "as_of": "2026-03-10"}).status_code == 202
    spec = tenant.lawyer.get("/v1/openapi.json").json
    conflict = spec["paths"]["/v1/cases/{case_id}/documents"]["post"]["responses"]["409"]
    assert "document_id" in conflict["description"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_concurrent_requests_of_a_kind_make_one_document(tenant, container, b2b, app, monkeypatch):
    """The guard reads the pending documents after locking the case row: the second request waits
    for the first to commit, then sees its document (without the lock both would pass the check)."""
    import threading

    import documents.service as service
    real_enqueue = service.enqueue

    def slow_enqueue(*args, **kwargs):      # widen the window between the check and the insert
        import time
        time.sleep(0.5)
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(service, "enqueue", slow_enqueue)
    start = threading.Barrier(2)
    answers = []

    def ask():
        client = app.test_client()
        start.wait()
        r = client.post(f"/v1/cases/{b2b['id']}/documents", json={"kind": "mise_en_demeure"},
                        headers={"Authorization": f"Bearer {tenant.keys['lawyer']}"})
        answers.append((r.status_code, r.json))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(code for code, _ in answers) == [202, 409], answers
    created = next(body for code, body in answers if code == 202)
    refused = next(body for code, body in answers if code == 409)
    assert refused["document_id"] == created["id"]
    items = tenant.lawyer.get(f"/v1/cases/{b2b['id']}/documents").json["items"]
    assert [d["id"] for d in items] == [created["id"]]
