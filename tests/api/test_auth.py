"""Bearer API keys, roles and tenant isolation."""
from __future__ import annotations

import hashlib
import io
import re

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


class _UnreadStream(io.BytesIO):
    """A request body that records whether anyone read it."""

    touched = False

    def read(self, *a):
        type(self).touched = True
        return super().read(*a)

    readline = read

    def readinto(self, *a):
        type(self).touched = True
        return super().readinto(*a)


def _send(api, url, body: bytes, content_type: str, method="POST"):
    _UnreadStream.touched = False
    headers = api._headers()
    return api.client.open(url, method=method, input_stream=_UnreadStream(body), content_length=len(body),
                           content_type=content_type, headers=headers)


def test_no_key_and_malformed_json_is_401_not_400(anonymous):
    r = _send(anonymous, "/v1/cases", b'{"reference": ', "application/json")
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert not _UnreadStream.touched


def test_a_lawyer_sending_bad_json_is_403_not_400(tenant):
    r = _send(tenant.lawyer, "/v1/cases", b'{"reference": ', "application/json")
    assert r.status_code == 403 and not _UnreadStream.touched
    r = _send(tenant.clerk, "/v1/cases", b"reference=x", "text/plain")
    assert r.status_code == 403 and not _UnreadStream.touched     # not 415 either


def test_an_unauthenticated_upload_is_not_parsed(anonymous, tenant, b2b_case):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    boundary = "xyz"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + b"%PDF-" + b"0" * 200_000 + f"\r\n--{boundary}--\r\n".encode()
    r = _send(anonymous, f"/v1/cases/{case_id}/evidence", body, f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 401 and not _UnreadStream.touched
    r = _send(tenant.clerk, f"/v1/cases/{case_id}/evidence", body, f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 403 and not _UnreadStream.touched


def _operations(app):
    """Every /v1 route and method with the permission its @operation declares."""
    for rule in app.url_map.iter_rules():
        doc = getattr(app.view_functions.get(rule.endpoint), "__openapi__", None)
        if not rule.rule.startswith("/v1") or doc is None:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z_]+:)?{arg}>", "00000000-0000-0000-0000-000000000000", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url, doc.permission


def test_every_protected_operation_authenticates_before_reading_its_body(app, tenant):
    from accounts import allowed
    from tests.conftest import Api
    anonymous = Api(app.test_client(), None)
    seen = 0
    for method, url, permission in _operations(app):
        if permission is None:
            continue
        seen += 1
        r = _send(anonymous, url, b"\x00garbage{", "application/json", method=method)
        assert (r.status_code, _UnreadStream.touched) == (401, False), (method, url)
        for role in ("lawyer", "clerk"):
            if not allowed(role, permission):
                r = _send(getattr(tenant, role), url, b"\x00garbage{", "application/json", method=method)
                assert (r.status_code, _UnreadStream.touched) == (403, False), (role, method, url)
    assert seen >= 30


def test_public_operations_stay_public(anonymous):
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/v1/openapi.json").status_code == 200
    assert anonymous.get("/v1/docs").status_code == 200
    r = anonymous.post("/v1/hooks/laposte", data=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 404 and "no webhook is configured" in r.json["detail"]     # not 401: HMAC, not a key


def test_options_still_lists_the_methods_without_a_key(anonymous):
    r = anonymous.client.options("/v1/cases")
    assert r.status_code == 200 and {"GET", "POST"} <= set(r.headers["Allow"].replace(" ", "").split(","))
