"""Idempotency-Key: a retried POST replays the first answer; a different body is a conflict."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from persistence.tables import evidence, idempotency_keys
from tests.api.test_cases import count_cases
from tests.conftest import with_reference


def test_same_key_same_body_replays(tenant, container, b2b_case):
    h = {"Idempotency-Key": "create-ex-b2b-1"}
    first = tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    again = tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count_cases(container, tenant.id) == 1


def test_same_key_other_body_is_409(tenant, container, b2b_case):
    h = {"Idempotency-Key": "k-1"}
    assert tenant.integrator.post("/v1/cases", json=b2b_case, headers=h).status_code == 201
    b2b_case["reference"] = "OTHER-1"
    r = tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert count_cases(container, tenant.id) == 1


def test_key_reformatted_json_is_the_same_request(tenant, b2b_case):
    import json
    h = {"Idempotency-Key": "k-2", "Content-Type": "application/json"}
    a = tenant.integrator.post("/v1/cases", data=json.dumps(b2b_case), headers=h)
    b = tenant.integrator.post("/v1/cases", data=json.dumps(b2b_case, indent=2), headers=h)
    assert a.status_code == b.status_code == 201 and a.json["id"] == b.json["id"]


def test_keys_are_per_tenant(tenant, other_tenant, b2b_case):
    h = {"Idempotency-Key": "shared-key"}
    a = tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    b = other_tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    assert a.status_code == b.status_code == 201 and a.json["id"] != b.json["id"]


def test_a_refused_request_records_nothing_and_leaves_the_key_free(tenant, container, b2b_case):
    """Only successes are recorded (see api._http.run_write): a 4xx rolls back with the key, so the
    same request is answered afresh and the corrected request may reuse the key."""
    assert tenant.integrator.post("/v1/cases", json=b2b_case).status_code == 201
    h = {"Idempotency-Key": "dup"}
    r1 = tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    r2 = tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    assert r1.status_code == r2.status_code == 409
    assert "Idempotent-Replayed" not in r1.headers and "Idempotent-Replayed" not in r2.headers
    assert r2.json["detail"] == "a case with this reference already exists"     # not "key reused"
    fixed = with_reference(b2b_case)
    r3 = tenant.integrator.post("/v1/cases", json=fixed, headers=h)
    assert r3.status_code == 201 and "Idempotent-Replayed" not in r3.headers
    r4 = tenant.integrator.post("/v1/cases", json=fixed, headers=h)
    assert r4.status_code == 201 and r4.headers["Idempotent-Replayed"] == "true" and r4.json == r3.json
    assert count_cases(container, tenant.id) == 2
    with container.db.read() as conn:
        keys = conn.execute(select(idempotency_keys.c.key, idempotency_keys.c.status_code)
                            .where(idempotency_keys.c.tenant_id == tenant.id)).all()
    assert [tuple(k) for k in keys] == [("dup", 201)]


def test_a_replayed_payment_is_recorded_once(tenant, b2b_case):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    h = {"Idempotency-Key": "pay-1"}
    p1 = tenant.integrator.post(f"/v1/cases/{case_id}/payments", json={"date": "2026-02-01", "amount": "5.00"}, headers=h)
    p2 = tenant.integrator.post(f"/v1/cases/{case_id}/payments", json={"date": "2026-02-01", "amount": "5.00"}, headers=h)
    assert p1.status_code == p2.status_code == 201 and p2.headers["Idempotent-Replayed"] == "true"
    assert len(tenant.integrator.get(f"/v1/cases/{case_id}").json["payments"]) == 2  # one from the fixture, one added


REMINDER = {"date": "2026-02-11", "channel": "phone", "summary": "Relance téléphonique"}


def test_reminder_same_key_replays_and_other_body_is_409(tenant, b2b_case):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    h = {"Idempotency-Key": "rem-1"}
    first = tenant.integrator.post(f"/v1/cases/{case_id}/reminders", json=REMINDER, headers=h)
    again = tenant.integrator.post(f"/v1/cases/{case_id}/reminders", json=dict(reversed(REMINDER.items())), headers=h)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    other = tenant.integrator.post(f"/v1/cases/{case_id}/reminders", json={**REMINDER, "summary": "Autre relance"},
                                   headers=h)
    assert other.status_code == 409 and other.json["title"] == "Idempotency key reused"
    assert len(tenant.integrator.get(f"/v1/cases/{case_id}").json["reminders"]) == 4   # three in the fixture


PDF_A = b"%PDF-1.4\n% piece A\n%%EOF\n"
PDF_B = b"%PDF-1.4\n% piece B\n%%EOF\n"


def _upload(api, case_id, data, key, name="facture.pdf", **form):
    fields = {"kind": "invoice", "title": "Facture F-2025-0412", **form, "file": (io.BytesIO(data), name)}
    return api.post(f"/v1/cases/{case_id}/evidence", data=fields, content_type="multipart/form-data",
                    headers={"Idempotency-Key": key})


def _evidence_count(container, case_id):
    with container.db.read() as conn:
        return conn.execute(select(func.count()).select_from(evidence).where(evidence.c.case_id == case_id)).scalar()


def test_evidence_same_key_same_upload_replays(tenant, container, b2b_case):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    first = _upload(tenant.integrator, case_id, PDF_A, "ev-1", date="2025-10-01")
    again = _upload(tenant.integrator, case_id, PDF_A, "ev-1", date="2025-10-01")
    assert first.status_code == again.status_code == 201, first.json
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert _evidence_count(container, case_id) == 1


@pytest.mark.parametrize("change", [
    {"data": PDF_B},                     # another file under the same name
    {"title": "Facture F-2025-0467"},
    {"kind": "contract"},
    {"date": "2025-10-02"},
    {"name": "autre-nom.pdf"},
], ids=["file", "title", "kind", "date", "filename"])
def test_evidence_same_key_other_upload_is_409(tenant, container, b2b_case, change):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    assert _upload(tenant.integrator, case_id, PDF_A, "ev-2", date="2025-10-01").status_code == 201
    args = {"data": PDF_A, "date": "2025-10-01", **change}
    r = _upload(tenant.integrator, case_id, args.pop("data"), "ev-2", **args)
    assert r.status_code == 409 and r.mimetype == "application/problem+json", r.json
    assert r.json["title"] == "Idempotency key reused"
    assert _evidence_count(container, case_id) == 1


def test_the_fingerprint_of_a_receipt_scan_covers_the_file(app):
    """POST /v1/mailings/{id}/receipt reads its form with the same helpers: its fingerprint must see the file."""
    from api._http import _request_fingerprint

    def fingerprint(data, name="ar.pdf", **form):
        url = "/v1/mailings/00000000-0000-0000-0000-000000000000/receipt"
        with app.test_request_context(url, method="POST", content_type="multipart/form-data",
                                      data={**form, "file": (io.BytesIO(data), name)}):
            from flask import request
            assert request.files["file"].read() == data      # the view reads the file first
            return _request_fingerprint()

    same = fingerprint(PDF_A)
    assert fingerprint(PDF_A) == same
    assert len({same, fingerprint(PDF_B), fingerprint(PDF_A, name="autre.pdf"), fingerprint(PDF_A, extra="x")}) == 4


def test_the_fingerprint_reuses_the_digest_of_the_upload_the_view_hashed(app, monkeypatch):
    """read_upload (evidence, receipt scans) hashes the file once; the fingerprint takes that digest
    instead of reading and hashing the file again."""
    import hashlib

    import api._http
    from api.cases import read_upload

    def no_second_read(stream):
        raise AssertionError("the upload was read and hashed a second time")
    path = "/v1/cases/00000000-0000-0000-0000-000000000000/evidence"

    def fingerprint(data, name="piece.pdf"):
        with app.test_request_context(path, method="POST", content_type="multipart/form-data",
                                      data={"kind": "invoice", "file": (io.BytesIO(data), name)}):
            got, _, _, _ = read_upload(1024 * 1024)
            from flask import request
            assert got == data and api._http.upload_digest(request.files["file"]) == hashlib.sha256(data).hexdigest()
            with monkeypatch.context() as m:
                m.setattr(api._http, "_stream_sha256", no_second_read)
                return api._http._request_fingerprint()

    same = fingerprint(PDF_A)
    assert fingerprint(PDF_A) == same and fingerprint(PDF_B) != same and fingerprint(PDF_A, "autre.pdf") != same
