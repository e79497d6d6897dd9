"""Bearer API keys, roles and tenant isolation."""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from persistence.tables import api_keys


def test_missing_and_unknown_keys_are_401(anonymous, tenant):
    r = anonymous.get("/v1/cases")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    bad = tenant.keys["integrator"][:-2] + "xx"
    r = anonymous.get("/v1/cases", headers={"Authorization": f"Bearer {bad}"})
    assert r.status_code == 401
    assert anonymous.get("/v1/cases", headers={"Authorization": "Basic abc"}).status_code == 401
    assert anonymous.get("/v1/cases", headers={"Authorization": "Bearer rcv_nope"}).status_code == 401


def test_roles(tenant, b2b_case):
    assert tenant.lawyer.post("/v1/cases", json=b2b_case).status_code == 403
    assert tenant.clerk.post("/v1/cases", json=b2b_case).status_code == 403
    case = tenant.integrator.post("/v1/cases", json=b2b_case).json
    for who in (tenant.lawyer, tenant.clerk):
        assert who.get(f"/v1/cases/{case['id']}").status_code == 200
        r = who.post(f"/v1/cases/{case['id']}/payments", json={"date": "2026-02-01", "amount": "1.00"})
        assert r.status_code == 403 and r.json["status"] == 403


def test_keys_are_stored_hashed(container, tenant):
    key = tenant.keys["lawyer"]
    prefix, secret = key.split("_")[1], key.split("_", 2)[2]
    with container.db.read() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).mappings().one()
    assert secret not in str(dict(row))
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["role"] == "lawyer"


def test_tenant_sees_only_its_cases(tenant, other_tenant, b2b_case):
    tenant.integrator.post("/v1/cases", json=b2b_case)
    assert other_tenant.integrator.get("/v1/cases").json["total"] == 0
    assert tenant.integrator.get("/v1/cases").json["total"] == 1
