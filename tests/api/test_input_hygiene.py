"""Input the database or the encoders cannot take is refused up front, on both backends, never a 5xx:
control characters, lone surrogates, nesting too deep, forged cursors."""
from __future__ import annotations

import base64
import io
import json

import pytest
from sqlalchemy import func, select

from persistence.tables import cases, evidence
from tests.api.test_cases import count_cases

PDF = b"%PDF-1.4\n% hygiene\n%%EOF\n"


def _post_raw(api, url, text: str):
    """Sends `text` as the JSON body verbatim, so escapes such as \\u0000 reach the server as written."""
    return api.post(url, data=text.encode(), headers={"Content-Type": "application/json"})


def _pointers(resp, status=422):
    assert resp.status_code == status, (resp.status_code, resp.json)
    assert resp.mimetype == "application/problem+json"
    return sorted(e["pointer"] for e in resp.json["errors"])


@pytest.mark.parametrize("escape", ["\\u0000", "\\u0007", "\\u001b", "\\u000b", "\\ud800", "\\udfff"])
def test_control_characters_in_a_case_are_422_with_one_pointer_each(tenant, container, b2b_case, escape):
    text = json.dumps(b2b_case)
    text = text.replace('"Boulangerie Dupont & Fils SAS"', f'"Boulangerie{escape} Dupont"')
    text = text.replace('"Lyon"', f'"Ly{escape}on"')
    text = text.replace('"Seconde lettre de relance"', f'"{escape}Seconde lettre"')
    r = _post_raw(tenant.integrator, "/v1/cases", text)
    assert _pointers(r) == ["/creditor/address/city", "/debtor/name", "/reminders/2/summary"]
    assert count_cases(container, tenant.id) == 0


def test_control_character_in_a_member_name(tenant, b2b_case):
    text = json.dumps(b2b_case)[:-1] + ', "sur\\u0000prise": 1}'
    r = _post_raw(tenant.integrator, "/v1/cases", text)
    assert _pointers(r) == ["/sur\u0000prise"]


def test_tab_and_line_breaks_are_allowed_in_free_text(tenant, b2b_case):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    r = tenant.integrator.post(f"/v1/cases/{case_id}/reminders", json={
        "date": "2026-02-11", "channel": "letter", "summary": "Lettre :\n\t- rappel\r\n\t- relevé joint"})
    assert r.status_code == 201, r.json
    assert r.json["reminders"][-1]["summary"] == "Lettre :\n\t- rappel\r\n\t- relevé joint"


def test_control_characters_in_payments_and_reminders(tenant, b2b_case):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    r = _post_raw(tenant.integrator, f"/v1/cases/{case_id}/payments",
                  '{"date": "2026-02-01", "amount": "5.00", "method": "ch\\u0000que"}')
    assert _pointers(r) == ["/method"]
    r = _post_raw(tenant.integrator, f"/v1/cases/{case_id}/reminders",
                  '{"date": "2026-02-01", "channel": "email", "summary": "a\\u0000b", "outcome": "\\u0001"}')
    assert _pointers(r) == ["/outcome", "/summary"]
    got = tenant.integrator.get(f"/v1/cases/{case_id}").json
    assert len(got["payments"]) == 1 and len(got["reminders"]) == 3 and got["version"] == 1


@pytest.mark.parametrize("form,name,pointers", [
    ({"title": "Facture\x00F-1"}, "facture.pdf", ["/title"]),
    ({"kind": "invoice\x00", "title": "x\x1b"}, "facture.pdf", ["/kind", "/title"]),
    ({}, "fac\x00ture.pdf", ["/file"]),
])
def test_control_characters_in_an_upload_form(tenant, container, b2b_case, form, name, pointers):
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    fields = {"kind": "invoice", "title": "Facture", **form, "file": (io.BytesIO(PDF), name)}
    r = tenant.integrator.post(f"/v1/cases/{case_id}/evidence", data=fields, content_type="multipart/form-data")
    assert _pointers(r) == pointers
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(evidence).where(evidence.c.case_id == case_id)).scalar() == 0


@pytest.mark.parametrize("url", ["/v1/cases/a%00b", "/v1/cases/a%00b/events", "/v1/cases/a%1Fb/claim",
                                 "/v1/documents/x%00/pdf"])
def test_control_character_in_the_path_is_400(tenant, url):
    r = tenant.integrator.get(url)
    assert r.status_code == 400 and r.mimetype == "application/problem+json", r.data


def test_control_character_in_the_path_of_a_write_is_400(tenant):
    r = tenant.integrator.post("/v1/cases/a%00b/payments", json={"date": "2026-02-01", "amount": "5.00"})
    assert r.status_code == 400 and r.mimetype == "application/problem+json"


@pytest.mark.parametrize("query,pointers", [
    ("q=a%00b", ["/q"]),
    ("reference=R%00&q=%1B", ["/q", "/reference"]),
    ("status=open%00", ["/status"]),
])
def test_control_character_in_the_query_is_422(tenant, b2b_case, query, pointers):
    tenant.integrator.post("/v1/cases", json=b2b_case)
    assert _pointers(tenant.integrator.get(f"/v1/cases?{query}")) == pointers
    assert tenant.integrator.get("/v1/cases?q=a%09b").status_code == 200      # a tab is not refused


def test_control_character_in_an_api_key_is_401(anonymous):
    r = anonymous.get("/v1/cases", headers={"Authorization": "Bearer rcv_ab\x00cd_secret"})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 5000 + b"]" * 5000])
def test_deeply_nested_json_is_400_malformed(tenant, container, body):
    r = tenant.integrator.post("/v1/cases", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.mimetype == "application/problem+json"
    if r.status_code == 400:
        assert r.json["title"] == "Malformed JSON"
    assert count_cases(container, tenant.id) == 0


def test_nesting_far_too_deep_is_400(tenant):
    r = tenant.integrator.post("/v1/cases", data=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["title"] == "Malformed JSON" and "nested" in r.json["detail"]


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("raw", [
    "2026-01-01T10:00:00|00000000-0000-0000-0000-000000000000",     # naive time
    "2026-01-01|00000000-0000-0000-0000-000000000000",              # a date is naive too
    "2026-01-01T10:00:00+00:00|abc\x00def",                         # control character in the id
    "not a time|x",
])
def test_forged_cursor_is_422_on_cursor(tenant, b2b_case, raw):
    tenant.integrator.post("/v1/cases", json=b2b_case)
    r = tenant.integrator.get(f"/v1/cases?cursor={_cursor(raw)}")
    assert _pointers(r) == ["/cursor"]


def test_a_genuine_cursor_still_pages(tenant, container, b2b_case):
    from tests.conftest import with_reference
    for _ in range(3):
        tenant.integrator.post("/v1/cases", json=with_reference(b2b_case))
    page = tenant.integrator.get("/v1/cases?limit=2").json
    rest = tenant.integrator.get(f"/v1/cases?limit=2&cursor={page['next_cursor']}").json
    assert len(page["items"]) == 2 and len(rest["items"]) == 1
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(cases).where(cases.c.tenant_id == tenant.id)).scalar() == 3


@pytest.mark.parametrize("limit", ["٥", "+5", " 5", "1_0", "5.0"])
def test_limit_takes_ascii_digits_only(tenant, limit):
    assert _pointers(tenant.integrator.get("/v1/cases", query_string={"limit": limit})) == ["/limit"]
