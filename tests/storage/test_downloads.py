"""Document downloads: streamed from the archive against the recorded digest, or redirected to a
presigned URL of the recorded S3 version. A stored object that is not the recorded one is never
served whole."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import urllib.request
import uuid

from sqlalchemy import insert

from storage import ArchiveIntegrityError
from tests.conftest import load_fixture, make_tenant, with_reference

from .storage_helpers import forge_local

PDF = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n"
DIGEST = hashlib.sha256(PDF).hexdigest()


def ready_document(container, tenant, data: bytes = PDF) -> dict:
    """A case and a ready letter whose PDF is archived (the row the generation job would write)."""
    from persistence.tables import documents
    case = tenant.integrator.post("/v1/cases", json=with_reference(load_fixture("case-b2b.json"))).json
    doc_id = str(uuid.uuid4())
    key = f"tenants/{tenant.id}/cases/{case['id']}/documents/{doc_id}/mise_en_demeure.pdf"
    stored = container.archive.put(key, data, "application/pdf")
    now = dt.datetime.now(dt.timezone.utc)
    with container.db.write() as conn:
        conn.execute(insert(documents).values(
            id=doc_id, tenant_id=tenant.id, case_id=case["id"], kind="mise_en_demeure", status="ready",
            params={"as_of": "2026-03-01", "payment_days": 8}, sha256=stored.sha256, pdf_key=key,
            pdf_version=stored.version_id, warnings=[], created_at=now, updated_at=now))
    return {"id": doc_id, "key": key, "stored": stored, "case": case}


def body_until_error(resp) -> tuple[bytes, Exception | None]:
    received = []
    try:
        for chunk in resp.response:
            received.append(chunk)
    except ArchiveIntegrityError as exc:
        return b"".join(received), exc
    return b"".join(received), None


def test_the_pdf_is_streamed_with_its_recorded_digest(tenant, container, monkeypatch):
    doc = ready_document(container, tenant)

    def whole_object(*args, **kwargs):
        raise AssertionError("a download must not load the whole object")
    monkeypatch.setattr(container.archive, "get", whole_object)
    resp = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.is_streamed
    assert resp.headers["Content-Length"] == str(len(PDF))
    assert resp.headers["X-Content-SHA256"] == DIGEST
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="')
    assert resp.get_data() == PDF
    meta = tenant.lawyer.get(f"/v1/documents/{doc['id']}").json
    assert meta["sha256"] == hashlib.sha256(resp.get_data()).hexdigest()
    local = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf?redirect=true")   # nothing to redirect to
    assert local.status_code == 200 and local.get_data() == PDF
    bad = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf?redirect=yes")
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "/redirect"


def test_a_reference_beyond_latin_1_still_names_the_download(tenant, container):
    """Header values are Latin-1 at most: the name goes as an ASCII fallback and as UTF-8."""
    from sqlalchemy import update

    from persistence.tables import cases
    doc = ready_document(container, tenant)
    with container.db.write() as conn:   # older data, or a rule loosened later: the header must hold
        conn.execute(update(cases).where(cases.c.id == doc["case"]["id"]).values(reference="ŁÓDŹ-Д1"))
    resp = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf")
    assert resp.status_code == 200 and resp.get_data() == PDF
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"_ODZ-_1-mise_en_demeure.pdf\"; "
        "filename*=UTF-8''%C5%81%C3%93D%C5%B9-%D0%941-mise_en_demeure.pdf")


def test_tampered_bytes_are_cut_short_of_their_length_and_logged(tenant, container, caplog):
    doc = ready_document(container, tenant)
    forge_local(container.archive.root, doc["key"], PDF[:-8] + b"%%FORGE\n", fix_sidecar=False)
    resp = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf")
    assert resp.status_code == 200 and resp.headers["Content-Length"] == str(len(PDF))
    received, error = body_until_error(resp)
    assert error is not None and len(received) < len(PDF)
    assert b"%%FORGE" not in received
    assert any("stopped after" in r.getMessage() for r in caplog.records if r.name == "recouvre.storage")


def test_a_forged_object_with_matching_metadata_is_refused_before_any_byte(tenant, container, caplog):
    doc = ready_document(container, tenant)
    forge_local(container.archive.root, doc["key"], b"%PDF-forged", fix_sidecar=True)
    resp = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf")
    assert resp.status_code == 500 and resp.mimetype == "application/problem+json"
    assert b"forged" not in resp.data and "not served" in resp.json["detail"]
    assert any("not served" in r.getMessage() for r in caplog.records)


def test_the_pages_stream_the_recorded_bytes_too(app, tenant, container):
    from tests.web.helpers import signed_in
    doc = ready_document(container, tenant)
    client = signed_in(app, container, tenant.id)
    resp = client.get(f"/app/documents/{doc['id']}/pdf")
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.headers["Content-Length"] == str(len(PDF)) and resp.headers["X-Content-SHA256"] == DIGEST
    assert resp.get_data() == PDF
    forge_local(container.archive.root, doc["key"], PDF[:-8] + b"%%FORGE\n", fix_sidecar=False)
    received, error = body_until_error(client.get(f"/app/documents/{doc['id']}/pdf"))
    assert error is not None and len(received) < len(PDF)




def test_on_s3_the_recorded_version_is_served_or_presigned(s3, s3_container):
    from app import create_app
    container = s3_container
    tenant = make_tenant(create_app(container=container), container)
    doc = ready_document(container, tenant)
    forged = b"%PDF-forged"
    s3.put_object(Bucket=container.archive.bucket, Key=f"recouvre/{doc['key']}", Body=forged,
                  ChecksumAlgorithm="SHA256", Metadata={"sha256": hashlib.sha256(forged).hexdigest()})
    streamed = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf")
    assert streamed.status_code == 200 and streamed.get_data() == PDF

    resp = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf?redirect=true")
    assert resp.status_code == 302 and resp.headers["X-Content-SHA256"] == DIGEST
    location = resp.headers["Location"]
    assert f"versionId={doc['stored'].version_id}" in location and "X-Amz-Signature=" in location
    with urllib.request.urlopen(location, timeout=10) as download:
        data = download.read()
        assert download.headers["Content-Type"] == "application/pdf"
        assert "mise_en_demeure.pdf" in download.headers["Content-Disposition"]
    assert data == PDF and hashlib.sha256(data).hexdigest() == resp.headers["X-Content-SHA256"]
