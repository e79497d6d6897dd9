"""Idempotency-Key: a retried POST replays the first answer; a different body is a conflict."""
from __future__ import annotations

from tests.api.test_cases import count_cases


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


def test_error_answers_are_replayed_too_and_nothing_is_written(tenant, container, b2b_case):
    tenant.integrator.post("/v1/cases", json=b2b_case)
    h = {"Idempotency-Key": "dup"}
    r1 = tenant.integrator.post("/v1/cases", json=b2b_case, headers=h)
    assert r1.status_code == 409
    case_id = tenant.integrator.get("/v1/cases").json["items"][0]["id"]
    h2 = {"Idempotency-Key": "pay-1"}
    p1 = tenant.integrator.post(f"/v1/cases/{case_id}/payments", json={"date": "2026-02-01", "amount": "5.00"}, headers=h2)
    p2 = tenant.integrator.post(f"/v1/cases/{case_id}/payments", json={"date": "2026-02-01", "amount": "5.00"}, headers=h2)
    assert p1.status_code == p2.status_code == 201
    assert len(tenant.integrator.get(f"/v1/cases/{case_id}").json["payments"]) == 2  # one from the fixture, one added
