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


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_json_in_another_encoding_than_utf8_is_400_malformed(tenant, container, b2b_case, encoding):
    """json.loads(bytes) would take these, and the \\u0000 inside would then escape the screening."""
    text = json.dumps(b2b_case).replace('"Boulangerie Dupont & Fils SAS"', '"Boulangerie\\u0000 Dupont"')
    r = tenant.integrator.post("/v1/cases", data=text.encode(encoding), headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.mimetype == "application/problem+json", (r.status_code, r.data[:300])
    assert r.json["title"] == "Malformed JSON"
    clean = tenant.integrator.post("/v1/cases", data=json.dumps(b2b_case).encode(encoding),
                                   headers={"Content-Type": "application/json"})
    assert clean.status_code == 400 and clean.json["title"] == "Malformed JSON"
    assert count_cases(container, tenant.id) == 0


@pytest.mark.parametrize("raw", [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xff", b"\xc3"])
def test_bytes_that_are_not_utf8_are_400_malformed(tenant, container, b2b_case, raw):
    """UTF-8-encoded surrogates (CESU-8) would arrive as lone surrogates, without any \\u escape."""
    body = json.dumps(b2b_case).encode().replace(b"Boulangerie Dupont", b"Boulangerie " + raw + b" Dupont")
    r = tenant.integrator.post("/v1/cases", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["title"] == "Malformed JSON" and "UTF-8" in r.json["detail"]
    assert count_cases(container, tenant.id) == 0


def test_a_utf8_byte_order_mark_is_ignored(tenant, b2b_case):
    r = tenant.integrator.post("/v1/cases", data=b"\xef\xbb\xbf" + json.dumps(b2b_case).encode(),
                               headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.json


def test_screen_json_on_its_own(app):
    from api._http import screen_json
    from api.problems import Problem
    with app.test_request_context("/"):
        assert screen_json('{"a": ["é", 1.50]}'.encode()) == {"a": ["é", __import__("decimal").Decimal("1.50")]}
        assert screen_json(b'{"a": "tab\\there"}') == {"a": "tab\there"}
        for raw, status in ((b'{"a": "\\u0000"}', 422), ('{"a": "é"}'.encode("utf-16"), 400),
                            (b'{"a": "\xed\xa0\x80"}', 400), (b"[" * 100_000, 400), (b"{", 400)):
            with pytest.raises(Problem) as refused:
                screen_json(raw)
            assert refused.value.status == status, raw[:20]
        with pytest.raises(Problem) as refused:
            screen_json(b'{"x": ["ok", "\\ud800"], "y\\u001b": 1}')
        assert sorted(e["pointer"] for e in refused.value.errors) == ["/x/1", "/y\x1b"]


@pytest.mark.parametrize("raw", ["٥", " 5", "+5", "1_0", "5 ", "-1", "0", "201", "5.0", "", "0x5", "00050"])
def test_int_arg_takes_ascii_digits_in_range_only(app, raw):
    from api._http import int_arg
    from api.problems import Problem
    with app.test_request_context("/", query_string={"n": raw}):
        with pytest.raises(Problem) as refused:
            int_arg("n", 7, minimum=1, maximum=200)
    assert refused.value.status == 422 and [e["pointer"] for e in refused.value.errors] == ["/n"]


def test_int_arg_accepts_the_range_and_defaults(app):
    from api._http import int_arg
    for raw, expected in (("1", 1), ("200", 200), ("050", 50)):
        with app.test_request_context("/", query_string={"n": raw}):
            assert int_arg("n", 7, minimum=1, maximum=200) == expected
    with app.test_request_context("/"):
        assert int_arg("n", 7, minimum=1, maximum=200) == 7


@pytest.mark.parametrize("query", ["since=%D9%A5", "since=%205", "since=%2B5", "since=1_0", "limit=%D9%A5",
                                   "limit=%205", "limit=%2B5", "limit=1_0"])
def test_event_feed_integers_point_at_the_faulty_parameter(tenant, query):
    name = query.split("=")[0]
    assert _pointers(tenant.lawyer.get(f"/v1/events?{query}")) == [f"/{name}"]


def test_a_limit_and_a_status_both_wrong_get_one_pointer_each(tenant):
    assert _pointers(tenant.integrator.get("/v1/cases?limit=%2B5&status=nope")) == ["/limit", "/status"]


def test_an_unauthenticated_upload_is_401_before_its_form_is_screened(anonymous):
    r = anonymous.post("/v1/cases/x/evidence", content_type="multipart/form-data",
                       data={"title": "a\x00b", "file": (io.BytesIO(PDF), "f.pdf")})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"


@pytest.mark.parametrize("name,detail", [("f" * 300 + ".pdf", "longer than 255"), ("fac\x1bture.pdf", "control")])
def test_record_evidence_refuses_a_file_name_the_column_cannot_hold(container, tenant, b2b_case, name, detail):
    """The rule lives in the domain: the API upload and the clerk's receipt scan both go through it."""
    from casefiles import services
    from casefiles.errors import InvalidInput
    with container.db.write() as conn:
        case = services.create_case(conn, tenant.id, "test", b2b_case)
    stored = []
    with pytest.raises(InvalidInput) as refused, container.db.write() as conn:
        services.record_evidence(conn, tenant.id, "test", case["id"], kind="invoice", title="Facture",
                                 filename=name, media_type="application/pdf", size=len(PDF), sha256="0" * 64,
                                 archive_key="k.pdf", store=lambda: stored.append(1))
    assert [e.pointer for e in refused.value.errors] == ["/file"] and detail in refused.value.errors[0].message
    assert stored == []
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(evidence).where(evidence.c.case_id == case["id"])).scalar() == 0
    with container.db.write() as conn:         # 255 characters fit
        services.record_evidence(conn, tenant.id, "test", case["id"], kind="invoice", title="Facture",
                                 filename="f" * 251 + ".pdf", media_type="application/pdf", size=len(PDF),
                                 sha256="0" * 64, archive_key="k.pdf",
                                 store=lambda: container.archive.put("k.pdf", PDF, "application/pdf"))
