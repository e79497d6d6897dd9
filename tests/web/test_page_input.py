"""What the pages take from the address and their forms, on both backends: control characters get
a French 400 page (never a 500 from PostgreSQL), file names the database cannot hold are refused in
French, integers are ASCII digits; and the headers of what they serve."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from persistence.tables import evidence

from .helpers import csrf_of, make_case, make_mailing, make_user, signed_in, text_of

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63fc"
                    "cfc0500f000485018084a98c210000000049454e44ae426082")


def _refused_page(resp):
    assert resp.status_code == 400, (resp.status_code, resp.data[:300])
    assert resp.mimetype == "text/html" and "Caractère non autorisé" in resp.text, resp.data[:300]


@pytest.mark.parametrize("query", ["q=%00", "q=ab%1Bc", "status=open%00", "cursor=%00", "page=1%00", "x%00=1"])
def test_a_control_character_in_a_page_query_is_a_french_400(app, container, tenant, query):
    make_case(container, tenant.id, debtor="Boulangerie Martin")
    client = signed_in(app, container, tenant.id)
    _refused_page(client.get(f"/app/cases?{query}"))
    assert client.get("/app/cases?q=Martin%09").status_code == 200          # a tab is not refused


@pytest.mark.parametrize("url", ["/app/cases/a%00b", "/app/mailings/%00", "/app/documents/x%1F/pdf",
                                 "/app/evidence/%00", "/app/nowhere%00"])
def test_a_control_character_in_a_page_path_is_a_french_400(app, container, tenant, url):
    _refused_page(signed_in(app, container, tenant.id).get(url))


def test_outside_the_pages_and_the_api_the_refusal_is_french_too(app):
    _refused_page(app.test_client().get("/?x=%00"))


def test_the_api_keeps_answering_problem_json(app, tenant):
    r = tenant.integrator.get("/v1/cases?q=%00")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    r = tenant.integrator.get("/healthz?x=%00")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"


def test_a_control_character_in_a_page_form_is_a_french_400(app, container, tenant):
    from delivery import service
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"])
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get(f"/app/mailings/{mailing['id']}").text)
    _refused_page(client.post(f"/app/mailings/{mailing['id']}/events", data={
        "csrf_token": token, "type": "first_presented", "date": "2026-01-05", "time": "", "event_id": "e\x001"}))
    _refused_page(client.post("/app/mailings/import", data={"csrf_token": token, "action": "confirm",
                                                            "csv_text": "tracking_number;event;date\nRA\x00;x;y"}))
    with container.db.read() as conn:
        assert service.get_mailing(conn, tenant.id, mailing["id"])["events"] == []


def test_a_control_character_in_the_sign_in_form_is_a_french_400(app, container, tenant):
    email = make_user(container, tenant.id)
    client = app.test_client()
    page = client.get("/app/login")
    _refused_page(client.post("/app/login", data={"email": email + "\x00", "password": "x",
                                                  "csrf_token": csrf_of(page.text)}))


@pytest.mark.parametrize("name", ["a" * 300 + ".png", "avis\x00.png", "avis\x1b.png"])
def test_a_receipt_scan_with_a_file_name_the_database_cannot_hold_is_refused_in_french(app, container, tenant,
                                                                                       name):
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"])
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get(f"/app/mailings/{mailing['id']}").text)
    resp = client.post(f"/app/mailings/{mailing['id']}/receipt-scan", content_type="multipart/form-data",
                       data={"csrf_token": token, "scan": (io.BytesIO(PNG), name)})
    assert resp.status_code == 422, (resp.status_code, resp.data[:300])
    assert "Nom de fichier refusé : 255 caractères au plus" in text_of(resp.text)
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(evidence)
                            .where(evidence.c.case_id == case["id"])).scalar() == 0
    ok = client.post(f"/app/mailings/{mailing['id']}/receipt-scan", content_type="multipart/form-data",
                     data={"csrf_token": token, "scan": (io.BytesIO(PNG), "a" * 251 + ".png")})
    assert ok.status_code == 303


@pytest.mark.parametrize("page", ["%D9%A5", "%205", "%2B5", "1_0", "0", "-2"])
def test_a_page_number_that_is_not_ascii_digits_counts_as_the_first_page(app, container, tenant, page):
    for i in range(3):
        make_case(container, tenant.id, reference=f"PG-{i}")
    client = signed_in(app, container, tenant.id)
    resp = client.get(f"/app/cases?page={page}")
    assert resp.status_code == 200 and "Dossiers 1 à 3 sur 3" in text_of(resp.text)


@pytest.mark.parametrize("age", ["%2015", "%2B15", "1_5", "%D9%A1%D9%A5"])
def test_an_age_filter_that_is_not_ascii_digits_filters_nothing(app, container, tenant, age):
    import datetime as dt
    case = make_case(container, tenant.id)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=20)
    fresh = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)
    make_mailing(container, tenant.id, case["id"], serial=41, events=(("deposited", old),))
    make_mailing(container, tenant.id, case["id"], serial=42, events=(("deposited", fresh),))
    client = signed_in(app, container, tenant.id, "clerk")
    assert len(re.findall(r"/app/mailings/[0-9a-f-]{36}\"", client.get("/app/mailings?age=15").text)) == 1
    assert len(re.findall(r"/app/mailings/[0-9a-f-]{36}\"", client.get(f"/app/mailings?age={age}").text)) == 2


def test_a_piece_downloads_with_the_storage_layers_headers(app, container, tenant):
    import hashlib

    from casefiles import services
    from storage import content_disposition
    case = make_case(container, tenant.id)
    name = 'Relevé "mars" n°3.png'
    key = f"tenants/{tenant.id}/cases/{case['id']}/evidence/releve.png"
    with container.db.write() as conn:
        piece = services.record_evidence(conn, tenant.id, "test", case["id"], kind="invoice", title="Relevé",
                                         filename=name, media_type="image/png", size=len(PNG),
                                         sha256=hashlib.sha256(PNG).hexdigest(), archive_key=key,
                                         store=lambda: container.archive.put(key, PNG, "image/png"))
    resp = signed_in(app, container, tenant.id).get(f"/app/evidence/{piece['id']}")
    assert resp.status_code == 200 and resp.data == PNG
    assert resp.headers["Content-Disposition"] == content_disposition(name)
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="Releve _mars_ n')
    assert resp.headers["Content-Length"] == str(len(PNG))
    assert resp.headers["X-Content-SHA256"] == hashlib.sha256(PNG).hexdigest()


def test_hsts_is_sent_once_over_https_on_every_answer(app, container, tenant):
    client = app.test_client()
    for url in ("/", "/app/login", "/app/nowhere"):
        resp = client.get(url, base_url="https://recouvre.example")
        assert resp.headers.getlist("Strict-Transport-Security") == ["max-age=31536000"], url
        assert "Strict-Transport-Security" not in client.get(url).headers, url
