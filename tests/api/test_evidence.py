"""Evidence uploads: PDF, PNG and JPEG only, sniffed from the bytes; stored write-once; ledgered."""
from __future__ import annotations

import base64
import hashlib
import io

import pytest

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def upload(api, case_id, data, name="piece.bin", **form):
    fields = {"kind": "invoice", "title": "Facture F-2025-0412", **form, "file": (io.BytesIO(data), name)}
    return api.post(f"/v1/cases/{case_id}/evidence", data=fields, content_type="multipart/form-data")


@pytest.fixture
def case(tenant, b2b_case):
    return tenant.integrator.post("/v1/cases", json=b2b_case).json


@pytest.mark.parametrize("data,media", [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")])
def test_accepted_types_are_archived_with_their_digest(tenant, container, case, data, media):
    r = upload(tenant.integrator, case["id"], data, name="scan.dat", date="2025-10-01")
    assert r.status_code == 201, r.json
    body = r.json
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["media_type"] == media
    assert body["size"] == len(data) and body["date"] == "2025-10-01"
    assert container.archive.get(body["archive_key"]) == data
    event = tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"][-1]
    assert event["type"] == "evidence.uploaded" and event["payload"]["sha256"] == body["sha256"]


@pytest.mark.parametrize("data,name,status", [
    (b"just text", "facture.pdf", 415),               # named .pdf, is not one
    (b"GIF89a....", "scan.gif", 415),
    (b"", "vide.pdf", 422),
])
def test_refused_files_change_nothing(tenant, container, case, data, name, status):
    r = upload(tenant.integrator, case["id"], data, name=name)
    assert r.status_code == status and r.mimetype == "application/problem+json"
    assert [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]] == ["case.created"]


def test_oversize_upload_is_413(tenant, container, case):
    import dataclasses
    container.settings = dataclasses.replace(container.settings, max_upload_bytes=1024)
    r = upload(tenant.integrator, case["id"], PDF + b"0" * 2048)
    assert r.status_code == 413


def test_form_fields_are_validated(tenant, case):
    r = upload(tenant.integrator, case["id"], PDF, kind="selfie", title="", date="01/10/2025", colour="red")
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json["errors"]} == {"/kind", "/title", "/date", "/colour"}
    r = tenant.integrator.post(f"/v1/cases/{case['id']}/evidence", data={"kind": "invoice", "title": "x"},
                               content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/file"


def test_same_file_twice_is_stored_once(tenant, container, case):
    a = upload(tenant.integrator, case["id"], PDF).json
    b = upload(tenant.integrator, case["id"], PDF, title="Même facture").json
    assert a["archive_key"] == b["archive_key"] and a["id"] != b["id"]


def test_roles_and_tenants(tenant, other_tenant, case):
    assert upload(tenant.clerk, case["id"], PDF).status_code == 403
    assert upload(other_tenant.integrator, case["id"], PDF).status_code == 404


def _archived_files(container):
    root = container.archive.root
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "evidence" in p.parts)


def _unique_pdf(tag: str) -> bytes:
    return PDF.replace(b"trailer", f"% {tag}\ntrailer".encode())


@pytest.mark.parametrize("name,form", [
    ("f" * 252 + ".pdf", {}),                         # longer than the evidence.filename column (255)
    ("scan.pdf", {"title": "Facture\x00F-1"}),         # PostgreSQL refuses NUL in text
    ("scan.pdf", {"date": "20251001"}),               # not YYYY-MM-DD
    ("scan.pdf", {"kind": "selfie"}),
])
def test_a_refused_upload_leaves_no_file_in_the_archive(tenant, container, case, name, form):
    data = _unique_pdf(name[:8] + repr(form))
    r = upload(tenant.integrator, case["id"], data, name=name, **form)
    assert r.status_code == 422 and r.mimetype == "application/problem+json", (r.status_code, r.data[:300])
    sha = hashlib.sha256(data).hexdigest()
    assert not container.archive.exists(f"tenants/{tenant.id}/cases/{case['id']}/evidence/{sha}.pdf")
    assert _archived_files(container) == []
    assert [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]] == ["case.created"]


def test_a_failed_put_rolls_the_evidence_back(tenant, container, case, monkeypatch):
    from sqlalchemy import func, select

    from persistence.tables import evidence
    from storage import ArchiveError

    def failing_put(key, data, content_type, legal_hold=False):
        raise ArchiveError("disk full")
    monkeypatch.setattr(container.archive, "put", failing_put)
    r = upload(tenant.integrator, case["id"], _unique_pdf("put fails"))
    assert r.status_code == 500 and r.mimetype == "application/problem+json"
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(evidence).where(evidence.c.case_id == case["id"])).scalar() == 0
    assert [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]] == ["case.created"]


def test_the_ledger_records_the_archived_version(tenant, container, case):
    body = upload(tenant.integrator, case["id"], _unique_pdf("version")).json
    event = tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"][-1]
    stored = container.archive.head(body["archive_key"])
    assert event["payload"]["archive_key"] == body["archive_key"]
    assert "version_id" in event["payload"] and event["payload"]["version_id"] == stored.version_id


def test_an_unknown_case_archives_nothing(tenant, container):
    r = upload(tenant.integrator, "00000000-0000-0000-0000-000000000000", _unique_pdf("no case"))
    assert r.status_code == 404
    assert _archived_files(container) == []
