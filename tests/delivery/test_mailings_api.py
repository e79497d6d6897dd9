"""Registered mail over the API: mailings, tracking events, legal dates, receipts, packets, hooks."""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import json
import subprocess
import time
import uuid
import zipfile

import pytest
from delivery import s10_check_digit, sign_webhook
from tests.documents.test_documents_api import generate

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@pytest.fixture
def mise_en_demeure(tenant, container, b2b_case):
    """A B2B case (debtor in Strasbourg: Alsace-Moselle holidays) and its ready mise en demeure."""
    case = tenant.integrator.post("/v1/cases", json=b2b_case).json
    doc = generate(tenant, container, case["id"], "mise_en_demeure", as_of="2026-03-01")
    assert doc["status"] == "ready", doc.get("error")
    return case, doc


def _mailing(tenant, case, doc, **extra):
    r = tenant.clerk.post(f"/v1/cases/{case['id']}/mailings",
                          json={"document_id": doc["id"], "service": "lrar", "level": "R1", **extra})
    assert r.status_code == 201, r.json
    return r.json


def _event(tenant, mailing_id, type_, at, **extra):
    r = tenant.clerk.post(f"/v1/mailings/{mailing_id}/events", json={"type": type_, "at": at, **extra})
    assert r.status_code == 200, r.json
    return r.json


class TestTrackingNumbers:
    @pytest.mark.parametrize("number,rule", [
        ("RA473124828FR", "s10.check_digit"), ("RA47312482FR", "format"), ("XX", "format"),
        ("1A0123456789", "format")])
    def test_invalid_numbers_name_the_rule(self, tenant, mise_en_demeure, number, rule):
        case, doc = mise_en_demeure
        r = tenant.clerk.post(f"/v1/cases/{case['id']}/mailings", json={
            "document_id": doc["id"], "service": "lrar", "level": "R1", "tracking_number": number})
        assert r.status_code == 422
        (err,) = [e for e in r.json["errors"] if e["pointer"] == "/tracking_number"]
        assert rule in err["detail"]

    def test_valid_numbers_and_adding_one_later(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        assert _mailing(tenant, case, doc, tracking_number="ra 4731 2482 9fr")["tracking_number"] == "RA473124829FR"
        m = _mailing(tenant, case, doc)
        assert m["tracking_number"] is None and m["status"] == "created"
        r = tenant.clerk.patch(f"/v1/mailings/{m['id']}", json={"tracking_number": "1A01234567890"})
        assert r.status_code == 200 and r.json["tracking_number"] == "1A01234567890"
        again = tenant.clerk.patch(f"/v1/mailings/{m['id']}", json={"tracking_number": "RR123456785FR"})
        assert again.status_code == 409

    def test_only_ready_letters_of_the_case_can_be_mailed(self, tenant, container, mise_en_demeure, b2c_case):
        case, doc = mise_en_demeure
        other = tenant.integrator.post("/v1/cases", json=b2c_case).json
        r = tenant.clerk.post(f"/v1/cases/{other['id']}/mailings",
                              json={"document_id": doc["id"], "service": "lrar", "level": "R1"})
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/document_id"
        assert tenant.lawyer.post(f"/v1/cases/{case['id']}/mailings",
                                  json={"document_id": doc["id"], "service": "lrar", "level": "R1"}).status_code == 403
        bad = tenant.clerk.post(f"/v1/cases/{case['id']}/mailings",
                                json={"document_id": doc["id"], "service": "pigeon", "level": "R9"})
        assert {e["pointer"] for e in bad.json["errors"]} == {"/service", "/level"}


class TestReceiptEvents:
    def test_first_presentation_sets_the_effective_date_deadline_and_notice(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
        # out of order: the outcome arrives before the presentation and the deposit
        _event(tenant, m["id"], "unclaimed", "2026-03-20T09:00:00+01:00")
        _event(tenant, m["id"], "deposited", "2026-03-02T16:00:00+01:00")
        got = _event(tenant, m["id"], "first_presented", "2026-03-05T10:12:00+01:00")
        assert got["status"] == "unclaimed" and got["effective_date"] == "2026-03-05"
        # 5 March + 8 days = Friday 13 March: a working day
        assert got["deadline"] == "2026-03-13"
        again = _event(tenant, m["id"], "first_presented", "2026-03-05T10:12:00+01:00")
        assert len(again["events"]) == 3
        assert tenant.clerk.get(f"/v1/cases/{case['id']}").json["formal_notice_date"] == "2026-03-05"
        assert tenant.clerk.get(f"/v1/cases/{case['id']}").json["status"] == "formal_notice"
        deadlines = tenant.clerk.get(f"/v1/cases/{case['id']}/deadlines?today=2026-03-06").json["items"]
        assert {"kind": "payment_deadline", "date": "2026-03-13"}.items() <= \
            next(d for d in deadlines if d["kind"] == "payment_deadline").items()
        types = [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]]
        assert types.count("mailing.event_recorded") == 3 and "case.formal_notice_dated" in types

    @pytest.mark.parametrize("presented,days,expected,why", [
        ("2026-03-13T10:00:00+01:00", 8, "2026-03-23", "ends Saturday 21 March → Monday"),
        ("2026-03-26T10:00:00+01:00", 8, "2026-04-07", "Good Friday, Easter Monday: Alsace-Moselle debtor"),
        ("2026-07-06T10:00:00+02:00", 8, "2026-07-15", "14 July"),
        ("2026-01-23T10:00:00+01:00", 8, "2026-02-02", "31 January is a Saturday → Monday 2 February"),
    ])
    def test_deadline_rolls_over_weekends_and_holidays(self, tenant, container, mise_en_demeure, presented, days,
                                                       expected, why):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        assert _event(tenant, m["id"], "first_presented", presented)["deadline"] == expected, why

    def test_good_friday_is_a_working_day_outside_alsace_moselle(self, tenant, container, b2c_case):
        b2c_case["reference"] = "B2C-GOOD-FRIDAY"
        case = tenant.integrator.post("/v1/cases", json=b2c_case).json   # debtor in Bordeaux (33)
        doc = generate(tenant, container, case["id"], "mise_en_demeure", as_of="2026-03-20")
        m = _mailing(tenant, case, doc)
        assert _event(tenant, m["id"], "first_presented", "2026-03-26T10:00:00+01:00")["deadline"] == "2026-04-03"

    def test_npai_gives_no_effective_date_and_flags_the_address(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        got = _event(tenant, m["id"], "addressee_unknown", "2026-03-04T11:00:00+01:00")
        assert got["status"] == "addressee_unknown" and got["effective_date"] is None and got["deadline"] is None
        assert tenant.clerk.get(f"/v1/cases/{case['id']}").json["address_invalid"] is True

    def test_event_validation(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        r = tenant.clerk.post(f"/v1/mailings/{m['id']}/events", json={"type": "lost", "at": "2026-03-04"})
        assert r.status_code == 422 and {e["pointer"] for e in r.json["errors"]} >= {"/type"}
        future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).isoformat()
        assert tenant.clerk.post(f"/v1/mailings/{m['id']}/events",
                                 json={"type": "delivered", "at": future}).status_code == 422


class TestClerks:
    def test_queue_is_oldest_first_and_filters_by_age(self, tenant, container, mise_en_demeure):
        case, doc = mise_en_demeure
        old, new, done = (_mailing(tenant, case, doc) for _ in range(3))
        _event(tenant, old["id"], "deposited", "2026-01-10T10:00:00+01:00")
        _event(tenant, new["id"], "deposited", (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat())
        _event(tenant, done["id"], "delivered", "2026-01-12T10:00:00+01:00")
        queue = tenant.clerk.get("/v1/mailings?awaiting_receipt=true").json["items"]
        assert [m["id"] for m in queue] == [old["id"], new["id"]]
        assert [m["id"] for m in tenant.clerk.get("/v1/mailings?awaiting_receipt=true&older_than_days=7")
                .json["items"]] == [old["id"]]
        assert tenant.clerk.get("/v1/mailings?older_than_days=x").status_code == 422

    def test_receipt_scan_is_archived_as_evidence(self, tenant, container, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
        r = tenant.clerk.post(f"/v1/mailings/{m['id']}/receipt", data={"file": (io.BytesIO(PNG), "ar.png")},
                              content_type="multipart/form-data")
        assert r.status_code == 201, r.json
        ev = r.json["evidence"]
        assert ev["kind"] == "receipt_scan" and "RA473124829FR" in ev["title"]
        assert container.archive.get(ev["archive_key"]) == PNG
        types = [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]]
        assert "mailing.receipt_scanned" in types
        bad = tenant.clerk.post(f"/v1/mailings/{m['id']}/receipt", data={"file": (io.BytesIO(b"hello"), "x.txt")},
                                content_type="multipart/form-data")
        assert bad.status_code == 415

    def test_csv_import_reports_rejected_lines(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
        csv_text = ("tracking_number;event;date\n"
                    "RA473124829FR;AG1;2026-03-05\n"
                    "RA473124828FR;DI1;2026-03-06\n"
                    "RR123456785FR;delivered;2026-03-06\n"
                    "RA473124829FR;teleported;2026-03-06\n")
        preview = tenant.clerk.post("/v1/mailings/tracking-import?dry_run=true", data=csv_text,
                                    headers={"Content-Type": "text/csv"}).json
        assert [a["line"] for a in preview["accepted"]] == [2]
        assert [r["line"] for r in preview["rejected"]] == [3, 4, 5]
        assert all(r["message"] for r in preview["rejected"])
        assert tenant.clerk.get(f"/v1/mailings/{m['id']}").json["events"] == []
        done = tenant.clerk.post("/v1/mailings/tracking-import", data=csv_text, headers={"Content-Type": "text/csv"}).json
        assert done["dry_run"] is False
        assert tenant.clerk.get(f"/v1/mailings/{m['id']}").json["effective_date"] == "2026-03-05"

    def test_packet_and_print_batch(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        a = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
        b = _mailing(tenant, case, doc, tracking_number="RR123456785FR")
        packet = tenant.clerk.get(f"/v1/mailings/{a['id']}/pdf")
        assert packet.status_code == 200 and packet.data.startswith(b"%PDF-")
        text = subprocess.run(["pdftotext", "-", "-"], input=packet.data, capture_output=True).stdout.decode()
        assert "RA473124829FR" in text and "67000 STRASBOURG" in text and "3 PLACE DU MARCHE" in text
        assert tenant.clerk.get(f"/v1/mailings/{a['id']}/pdf").data == packet.data   # archived once
        z = zipfile.ZipFile(io.BytesIO(tenant.clerk.post("/v1/mailings/print-batch",
                                                         json={"mailing_ids": [a["id"], b["id"]]}).data))
        assert sorted(z.namelist()) == ["batch.pdf", "manifest.csv"]
        manifest = z.read("manifest.csv").decode().splitlines()
        assert len(manifest) == 3 and "RR123456785FR" in manifest[2]


class TestProviderHooks:
    SECRET = "hook-secret"

    @pytest.fixture
    def hooked(self, app, container):
        env = dict(container.settings.environ, RECOUVRE_HOOK_SECRET_LAPOSTE=self.SECRET)
        container.settings = dataclasses.replace(container.settings, environ=env)
        return app.test_client()

    def _post(self, client, body: bytes, *, secret=None, ts=None):
        ts = str(int(time.time()) if ts is None else ts)
        sig = sign_webhook((secret or self.SECRET).encode(), ts, body)
        return client.post("/v1/hooks/laposte", data=body, headers={
            "Content-Type": "application/json", "X-Hook-Timestamp": ts, "X-Hook-Signature": sig})

    def test_signed_events_are_applied_once(self, hooked, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        serial = f"{uuid.uuid4().int % 10**8:08d}"      # a number no other test's mailing carries
        number = f"RA{serial}{s10_check_digit(serial)}FR"
        m = _mailing(tenant, case, doc, tracking_number=number)
        body = json.dumps({"shipment": {"idShip": number, "event": [
            {"code": "AG1", "date": "2026-03-05T10:12:00+01:00", "label": "En attente d'être retiré au guichet"},
            {"code": "PC1", "date": "2026-03-02T16:00:00+01:00", "label": "Pris en charge"}]}}).encode()
        r = self._post(hooked, body)
        assert r.status_code == 200 and r.json == {"status": "accepted", "applied": 2, "unknown_tracking_numbers": 0}
        assert self._post(hooked, body).json["status"] == "duplicate"
        got = tenant.clerk.get(f"/v1/mailings/{m['id']}").json
        assert got["status"] == "presented" and got["effective_date"] == "2026-03-05" and len(got["events"]) == 2

    def test_bad_or_stale_signatures_are_refused(self, hooked, tenant):
        body = b'{"shipment": {"idShip": "RA473124829FR", "event": []}}'
        assert self._post(hooked, body, secret="wrong").status_code == 401
        assert self._post(hooked, body, ts=int(time.time()) - 3600).status_code == 401
        assert hooked.post("/v1/hooks/laposte", data=body).status_code == 401
        assert hooked.post("/v1/hooks/unknown", data=body).status_code == 404


def test_passed_deadline_is_announced_once(tenant, container, mise_en_demeure):
    from jobs import run_periodic
    case, doc = mise_en_demeure
    m = _mailing(tenant, case, doc)
    presented = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=20)).isoformat()
    deadline = _event(tenant, m["id"], "first_presented", presented)["deadline"]
    run_periodic(container)
    run_periodic(container)
    reached = [e for e in tenant.integrator.get("/v1/events?limit=500").json["items"]
               if e["type"] == "deadline.reached" and e["data"]["mailing_id"] == m["id"]]
    assert len(reached) == 1
    assert reached[0]["data"]["date"] == deadline and reached[0]["data"]["case_id"] == case["id"]


def test_csv_without_its_header_is_refused_whole(tenant):
    r = tenant.clerk.post("/v1/mailings/tracking-import", data="RA473124829FR;AG1;2026-03-05\n",
                          headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and all(e["pointer"].startswith("/header/") for e in r.json["errors"])
    assert any("tracking_number" in e["pointer"] or "tracking_number" in e["detail"] for e in r.json["errors"])


def test_packet_is_built_by_a_job_ahead_of_printing(tenant, container, mise_en_demeure):
    from sqlalchemy import select

    from jobs import execute
    from persistence.tables import jobs
    case, doc = mise_en_demeure
    m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
    with container.db.read() as conn:
        (job_id,) = conn.execute(select(jobs.c.id).where(jobs.c.kind == "mailing.packet",
                                                         jobs.c.payload["mailing_id"].as_string() == m["id"])).scalars()
    assert execute(container, job_id)
    with container.db.read() as conn:
        key = conn.execute(select(jobs.c.result).where(jobs.c.id == job_id)).scalar()["archive_key"]
    assert container.archive.get(key) == tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf").data
