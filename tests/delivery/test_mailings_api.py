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
        ("1A0123456789", "format"), ("RA٤٧٣١٢٤٨٢٩FR", "format")])
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
        # An instant is ISO 8601 text with its offset: Unix seconds and naive times are refused.
        for at in (1772701200, "1772701200", "2026-03-05T10:00:00", "2026-03-05"):
            r = tenant.clerk.post(f"/v1/mailings/{m['id']}/events", json={"type": "delivered", "at": at})
            assert r.status_code == 422 and [e["pointer"] for e in r.json["errors"]] == ["/at"], at
        assert tenant.clerk.get(f"/v1/mailings/{m['id']}").json["events"] == []


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
        assert r.status_code == 200 and r.json == {"status": "accepted", "applied": 2, "unknown_tracking_numbers": 0,
                                                   "conflicts": 0}
        assert self._post(hooked, body).json["status"] == "duplicate"
        got = tenant.clerk.get(f"/v1/mailings/{m['id']}").json
        assert got["status"] == "presented" and got["effective_date"] == "2026-03-05" and len(got["events"]) == 2

    def test_an_event_id_resent_with_other_content_is_skipped_and_the_rest_applies(self, hooked, tenant,
                                                                                  mise_en_demeure):
        """La Poste pushes the whole history each time; an ND1 reworded must not block what follows."""
        case, doc = mise_en_demeure
        serial = f"{uuid.uuid4().int % 10**8:08d}"
        number = f"RA{serial}{s10_check_digit(serial)}FR"
        m = _mailing(tenant, case, doc, tracking_number=number)
        deposit = {"code": "PC1", "date": "2026-03-02T16:00:00+01:00", "label": "Pris en charge"}
        nd1 = {"code": "ND1", "date": "2026-03-05T10:12:00+01:00"}

        def body(*scans):
            return json.dumps({"shipment": {"idShip": number, "event": list(scans)}}).encode()
        first = self._post(hooked, body(deposit, {**nd1, "label": "Non distribuable"}))
        assert first.json == {"status": "accepted", "applied": 2, "unknown_tracking_numbers": 0, "conflicts": 0}
        presented = {"code": "AG1", "date": "2026-03-04T09:00:00+01:00", "label": "En attente d'être retiré"}
        later = body(deposit, presented, {**nd1, "label": "Refusé par le destinataire"})  # same Suivi id
        r = self._post(hooked, later)
        assert r.status_code == 200, r.json
        assert r.json == {"status": "accepted", "applied": 2, "unknown_tracking_numbers": 0, "conflicts": 1}
        assert self._post(hooked, later).json["status"] == "duplicate"       # the delivery itself was kept
        got = tenant.clerk.get(f"/v1/mailings/{m['id']}").json
        assert [e["type"] for e in got["events"]] == ["deposited", "first_presented", "addressee_unknown"]
        assert got["effective_date"] is None and got["status"] == "addressee_unknown"
        again = self._post(hooked, body(deposit, presented, {**nd1, "label": "Refusé par le destinataire"},
                                        {"code": "RE1", "date": "2026-03-09T10:00:00+01:00",
                                         "label": "Retourné à l'expéditeur"}))
        assert again.json["conflicts"] == 1 and again.json["applied"] == 3
        assert [e["type"] for e in tenant.clerk.get(f"/v1/mailings/{m['id']}").json["events"]][-1] == "returned"

    def test_a_signed_payload_with_a_control_character_is_refused_not_a_500(self, hooked, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
        body = json.dumps({"shipment": {"idShip": "RA473124829FR", "event": [
            {"code": "DI1", "date": "2026-03-05T10:12:00+01:00", "label": "Distribu\u0000é"}]}}).encode()
        r = self._post(hooked, body)
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/shipment/event/0/label"
        assert tenant.clerk.get(f"/v1/mailings/{m['id']}").json["events"] == []

    def test_a_signed_body_that_is_not_utf8_json_is_a_400_problem(self, hooked, tenant):
        for body in ('{"shipment": {"idShip": "RA473124829FR", "event": []}}'.encode("utf-16"), b"{not json"):
            r = self._post(hooked, body)
            assert _is_problem(r, 400) and r.json["title"] == "Malformed JSON", (body, r.json)

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


def test_a_csv_line_with_a_control_character_is_rejected_and_the_others_kept(tenant, mise_en_demeure):
    case, doc = mise_en_demeure
    m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
    r = tenant.clerk.post("/v1/mailings/tracking-import", data="tracking_number,event,date\nRA473124829FR,DI1\x00,"
                          "2026-03-06\nRA473124829FR,AG1,2026-03-05\n".encode(), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.json
    (rejected,) = r.json["rejected"]
    assert rejected["line"] == 2 and rejected["message"].startswith("caractère de contrôle interdit")
    assert [a["line"] for a in r.json["accepted"]] == [3]
    assert [e["type"] for e in tenant.clerk.get(f"/v1/mailings/{m['id']}").json["events"]] == ["first_presented"]


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


# --- audit findings: legal dates, deduplication, addresses, annexes, packets, clerks' queue -----------------

def _case(tenant):
    return lambda case_id: tenant.clerk.get(f"/v1/cases/{case_id}").json


def _ledger(tenant, case_id, type_):
    return [e["payload"] for e in tenant.lawyer.get(f"/v1/cases/{case_id}/events").json["items"] if e["type"] == type_]


def _is_problem(r, status):
    return r.status_code == status and r.headers["Content-Type"].startswith("application/problem+json")


class TestFormalNoticeDate:
    """The date civil interest runs from: the earliest mise en demeure's effective date."""

    def test_the_earliest_mise_en_demeure_wins_whatever_the_order_of_events(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        get = _case(tenant)
        first, second = _mailing(tenant, case, doc), _mailing(tenant, case, doc)
        _event(tenant, second["id"], "first_presented", "2026-03-10T10:00:00+01:00")
        assert get(case["id"])["formal_notice_date"] == "2026-03-10"
        _event(tenant, first["id"], "first_presented", "2026-03-05T10:00:00+01:00")
        assert get(case["id"])["formal_notice_date"] == "2026-03-05"
        # news of the later letter arrives last: the date must not follow it
        _event(tenant, second["id"], "delivered", "2026-03-12T09:00:00+01:00")
        _event(tenant, second["id"], "deposited", "2026-03-08T09:00:00+01:00")
        assert get(case["id"])["formal_notice_date"] == "2026-03-05"
        assert get(case["id"])["status"] == "formal_notice"
        dated = _ledger(tenant, case["id"], "case.formal_notice_dated")
        assert [(d["mailing_id"], d["formal_notice_date"]) for d in dated] == [
            (second["id"], "2026-03-10"), (first["id"], "2026-03-05")]

    def test_npai_moves_the_date_to_the_next_letter_then_clears_it(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        get = _case(tenant)
        first, second = _mailing(tenant, case, doc), _mailing(tenant, case, doc)
        _event(tenant, first["id"], "first_presented", "2026-03-05T10:00:00+01:00")
        _event(tenant, second["id"], "first_presented", "2026-03-10T10:00:00+01:00")
        assert get(case["id"])["formal_notice_date"] == "2026-03-05"
        assert _event(tenant, first["id"], "addressee_unknown", "2026-03-06T10:00:00+01:00")["effective_date"] is None
        assert get(case["id"])["formal_notice_date"] == "2026-03-10"
        _event(tenant, second["id"], "addressee_unknown", "2026-03-11T10:00:00+01:00")
        after = get(case["id"])
        assert after.get("formal_notice_date") is None and after["status"] == "open"
        assert _ledger(tenant, case["id"], "case.formal_notice_dated")[-1]["formal_notice_date"] is None
        # the décompte no longer has a starting point from these letters
        assert "formal_notice_date" not in after


class TestDeadlineRegion:
    def test_a_german_debtor_at_a_68_postcode_gets_national_holidays(self, tenant, container, b2b_case):
        b2b_case["reference"] = "B2B-MANNHEIM"
        b2b_case["debtor"]["address"] = {"lines": ["Hauptstraße 5"], "postal_code": "68159", "city": "Mannheim",
                                         "country": "DE"}
        case = tenant.integrator.post("/v1/cases", json=b2b_case).json
        doc = generate(tenant, container, case["id"], "mise_en_demeure", as_of="2026-03-20")
        assert doc["status"] == "ready", doc.get("error")
        m = _mailing(tenant, case, doc)
        # 26 March + 8 days = Good Friday 3 April: a working day outside Alsace-Moselle
        got = _event(tenant, m["id"], "first_presented", "2026-03-26T10:00:00+01:00")
        assert got["deadline"] == "2026-04-03"
        deadlines = tenant.clerk.get(f"/v1/cases/{case['id']}/deadlines?today=2026-03-27").json["items"]
        assert next(d for d in deadlines if d["kind"] == "payment_deadline")["date"] == got["deadline"]


class TestEventsStoredOnce:
    def test_the_same_instant_in_another_offset_is_one_event(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        _event(tenant, m["id"], "first_presented", "2026-03-05T10:12:00+01:00")
        again = _event(tenant, m["id"], "first_presented", "2026-03-05T09:12:00Z")
        assert len(again["events"]) == 1
        assert len(_ledger(tenant, case["id"], "mailing.event_recorded")) == 1

    def test_an_event_with_and_without_its_id_is_one_event(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        _event(tenant, m["id"], "first_presented", "2026-03-05T10:12:00+01:00", id="lp-ag1")
        assert len(_event(tenant, m["id"], "first_presented", "2026-03-05T10:12:00+01:00")["events"]) == 1
        _event(tenant, m["id"], "delivered", "2026-03-06T10:00:00+01:00")       # no id first, then with one
        assert len(_event(tenant, m["id"], "delivered", "2026-03-06T09:00:00Z", id="lp-di1")["events"]) == 2
        assert len(_event(tenant, m["id"], "first_presented", "2026-03-05T09:12:00Z", id="lp-ag1")["events"]) == 2
        assert len(_ledger(tenant, case["id"], "mailing.event_recorded")) == 2

    def test_an_id_reused_with_other_content_is_a_conflict(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        _event(tenant, m["id"], "first_presented", "2026-03-05T10:12:00+01:00", id="lp-1")
        for other in ({"type": "refused", "at": "2026-03-05T10:12:00+01:00"},
                      {"type": "first_presented", "at": "2026-03-06T10:12:00+01:00"}):
            r = tenant.clerk.post(f"/v1/mailings/{m['id']}/events", json={**other, "id": "lp-1"})
            assert _is_problem(r, 409), r.json
            assert "lp-1" in r.json["detail"]
        got = tenant.clerk.get(f"/v1/mailings/{m['id']}").json
        assert [(e["type"], e["at"]) for e in got["events"]] == [("first_presented", "2026-03-05T09:12:00+00:00")]
        assert len(_ledger(tenant, case["id"], "mailing.event_recorded")) == 1


LONG_NAME = "Établissements Hubert Schwarzenberger et Associés Réunis SARL"    # 61 characters
FOUR_LINES = ["Bâtiment A", "Escalier 2", "3 place du Marché", "BP 12"]


class TestUnprintableAddresses:
    def test_a_61_character_name_is_printed_on_two_lines(self, tenant, container, b2b_case):
        b2b_case["reference"] = "B2B-LONG-NAME"
        b2b_case["debtor"]["name"] = LONG_NAME
        case = tenant.integrator.post("/v1/cases", json=b2b_case).json
        doc = generate(tenant, container, case["id"], "mise_en_demeure", as_of="2026-03-01")
        m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
        packet = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf")
        assert packet.status_code == 200, packet.json
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=packet.data,
                              capture_output=True).stdout.decode()
        assert "Établissements Hubert Schwarzenberger" in text and "et Associés Réunis SARL" in text

    def test_an_address_that_cannot_be_laid_out_is_refused_with_pointers_into_the_case(
            self, tenant, container, b2b_case):
        b2b_case["reference"] = "B2B-NO-ROOM"
        for party in ("debtor", "creditor"):
            b2b_case[party]["name"] = LONG_NAME
            b2b_case[party]["address"]["lines"] = FOUR_LINES
        case = tenant.integrator.post("/v1/cases", json=b2b_case).json
        assert "id" in case, case
        doc = generate(tenant, container, case["id"], "mise_en_demeure", as_of="2026-03-01")
        r = tenant.clerk.post(f"/v1/cases/{case['id']}/mailings",
                              json={"document_id": doc["id"], "service": "lrar", "level": "R1"})
        assert _is_problem(r, 422), r.json
        assert [e["pointer"] for e in r.json["errors"]] == ["/debtor/name", "/creditor/name"]
        assert tenant.clerk.get(f"/v1/mailings?case_id={case['id']}").json["items"] == []
        assert _ledger(tenant, case["id"], "mailing.created") == []

    def test_a_stored_mailing_whose_address_cannot_print_gets_a_problem_and_a_permanent_failure(
            self, tenant, container, mise_en_demeure):
        from sqlalchemy import select, update

        from jobs import execute
        from persistence.tables import cases, jobs
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        with container.db.write() as conn:     # a case changed after the mailing was created
            data = conn.execute(select(cases.c.data).where(cases.c.id == case["id"])).scalar()
            data["debtor"]["name"] = "Boulangerie" * 4 + " " + "Pâtisserie" * 4
            conn.execute(update(cases).where(cases.c.id == case["id"]).values(data=data))
        r = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf")
        assert _is_problem(r, 422), (r.status_code, r.data[:200])
        assert [e["pointer"] for e in r.json["errors"]] == ["/debtor/name"]
        with container.db.read() as conn:
            (job_id,) = conn.execute(select(jobs.c.id).where(
                jobs.c.kind == "mailing.packet", jobs.c.payload["mailing_id"].as_string() == m["id"])).scalars()
        assert execute(container, job_id)
        with container.db.read() as conn:
            job = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().one()
        assert job["status"] == "failed" and job["attempts"] == 1, job
        assert "/debtor/name" in job["last_error"]


def _upload(tenant, case_id, data, name, kind="invoice", title="Pièce"):
    r = tenant.integrator.post(f"/v1/cases/{case_id}/evidence", data={"kind": kind, "title": title,
                                                                      "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    return r.json


def _png(width: int, height: int) -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 30, 30, 128)).save(out, format="PNG")
    return out.getvalue()


class TestAnnexes:
    def test_annexes_are_printed_after_the_letter(self, tenant, container, mise_en_demeure):
        from delivery_helpers import draw_pdf
        from pypdf import PdfReader
        case, doc = mise_en_demeure
        pdf_annex = _upload(tenant, case["id"], draw_pdf("FACTURE ANNEXEE F-2025-0412"), "facture.pdf")
        png_annex = _upload(tenant, case["id"], _png(400, 200), "photo.png", kind="other")
        m = _mailing(tenant, case, doc, tracking_number="RA473124829FR", annexes=[pdf_annex["id"], png_annex["id"]])
        assert m["annexes"] == [pdf_annex["id"], png_annex["id"]]
        letter_pages = len(PdfReader(io.BytesIO(tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf").data)).pages)
        packet = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf")
        assert packet.status_code == 200, packet.json
        pages = PdfReader(io.BytesIO(packet.data)).pages
        assert len(pages) == 1 + letter_pages + 2
        assert "FACTURE ANNEXEE F-2025-0412" in pages[1 + letter_pages].extract_text()
        image_page = pages[-1]
        assert float(image_page.mediabox.width) > float(image_page.mediabox.height)     # landscape A4
        assert round(float(image_page.mediabox.width)) == 842 and "/XObject" in image_page["/Resources"]

    def test_an_unreadable_annex_is_a_problem_not_a_500(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        broken = _upload(tenant, case["id"], b"\x89PNG\r\n\x1a\n" + b"not really an image", "scan.png")
        m = _mailing(tenant, case, doc, annexes=[broken["id"]])
        r = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf")
        assert _is_problem(r, 422) and [e["pointer"] for e in r.json["errors"]] == ["/annexes"]

    def test_unknown_foreign_or_repeated_annexes_are_refused_by_index(self, tenant, container, mise_en_demeure,
                                                                      b2c_case):
        case, doc = mise_en_demeure
        other = tenant.integrator.post("/v1/cases", json=b2c_case).json
        foreign = _upload(tenant, other["id"], PNG, "ar.png")
        mine = _upload(tenant, case["id"], PNG, "ar.png")
        r = tenant.clerk.post(f"/v1/cases/{case['id']}/mailings", json={
            "document_id": doc["id"], "service": "lrar", "level": "R1",
            "annexes": [mine["id"], str(uuid.uuid4()), foreign["id"], mine["id"]]})
        assert _is_problem(r, 422)
        assert [e["pointer"] for e in r.json["errors"]] == ["/annexes/1", "/annexes/2", "/annexes/3"]
        assert tenant.clerk.get(f"/v1/mailings?case_id={case['id']}").json["items"] == []
        bad = tenant.clerk.post(f"/v1/cases/{case['id']}/mailings", json={
            "document_id": doc["id"], "service": "lrar", "level": "R1", "annexes": "nope"})
        assert _is_problem(bad, 422) and bad.json["errors"][0]["pointer"].startswith("/annexes")


class TestArchivedPacket:
    def test_the_first_archive_is_ledgered_once_and_later_reads_check_the_recorded_digest(
            self, tenant, container, mise_en_demeure, monkeypatch):
        import hashlib

        from sqlalchemy import select

        from jobs import execute
        from persistence.tables import jobs, mailings
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc, tracking_number="RA473124829FR")
        first = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf")
        assert first.status_code == 200
        with container.db.read() as conn:
            (job_id,) = conn.execute(select(jobs.c.id).where(
                jobs.c.kind == "mailing.packet", jobs.c.payload["mailing_id"].as_string() == m["id"])).scalars()
        assert execute(container, job_id)
        reads = []
        real_get = container.archive.get

        def spy(key, *args, **kwargs):
            reads.append((key, kwargs))
            return real_get(key, *args, **kwargs)
        monkeypatch.setattr(container.archive, "get", spy)
        again = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf")
        assert again.data == first.data
        sha = hashlib.sha256(first.data).hexdigest()
        with container.db.read() as conn:
            row = conn.execute(select(mailings).where(mailings.c.id == m["id"])).mappings().one()
        assert row["packet_sha256"] == sha and row["packet_key"].endswith("/packet-RA473124829FR.pdf")
        assert reads == [(row["packet_key"], {"version_id": row["packet_version"], "expected_sha256": sha})]
        archived = _ledger(tenant, case["id"], "mailing.packet_archived")
        assert archived == [{"mailing_id": m["id"], "sha256": sha, "archive_key": row["packet_key"],
                             "version_id": row["packet_version"]}]

    def test_a_tracking_number_added_later_archives_a_second_packet(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        unnumbered = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf").data
        tenant.clerk.patch(f"/v1/mailings/{m['id']}", json={"tracking_number": "RA473124829FR"})
        numbered = tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf").data
        assert numbered != unnumbered
        keys = [e["archive_key"] for e in _ledger(tenant, case["id"], "mailing.packet_archived")]
        assert [k.rsplit("/", 1)[1] for k in keys] == ["packet-sans-numero.pdf", "packet-RA473124829FR.pdf"]


class TestReceiptScans:
    def test_a_scanned_receipt_takes_the_letter_out_of_the_queue(self, tenant, mise_en_demeure):
        case, doc = mise_en_demeure
        scanned, waiting = _mailing(tenant, case, doc), _mailing(tenant, case, doc)
        for m in (scanned, waiting):
            _event(tenant, m["id"], "deposited", "2026-03-02T16:00:00+01:00")
        r = tenant.clerk.post(f"/v1/mailings/{scanned['id']}/receipt", data={"file": (io.BytesIO(PNG), "ar.png")},
                              content_type="multipart/form-data")
        assert r.status_code == 201 and r.json["mailing"]["awaiting_receipt"] is False
        queue = tenant.clerk.get(f"/v1/mailings?awaiting_receipt=true&case_id={case['id']}").json["items"]
        assert [m["id"] for m in queue] == [waiting["id"]]
        done = tenant.clerk.get(f"/v1/mailings?awaiting_receipt=false&case_id={case['id']}").json["items"]
        assert [m["id"] for m in done] == [scanned["id"]]
        assert tenant.clerk.get(f"/v1/mailings/{waiting['id']}").json["awaiting_receipt"] is True

    def test_the_scan_ledger_event_records_the_archived_version(self, tenant, container, mise_en_demeure):
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        r = tenant.clerk.post(f"/v1/mailings/{m['id']}/receipt", data={"file": (io.BytesIO(PNG), "ar.png")},
                              content_type="multipart/form-data")
        (payload,) = _ledger(tenant, case["id"], "mailing.receipt_scanned")
        assert payload["sha256"] == r.json["evidence"]["sha256"] and payload["archive_key"]
        assert "version_id" in payload and payload["version_id"] == container.archive.head(
            payload["archive_key"]).version_id


# --- review round: conflicts per event, packets outside write transactions, one query per list ----------

def _unique_number() -> str:
    serial = f"{uuid.uuid4().int % 10**8:08d}"      # a number no other test's mailing carries
    return f"RA{serial}{s10_check_digit(serial)}FR"


class _Statements:
    """The SQL statements the service sends while the block runs."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def _record(self, conn, cursor, statement, *args):
        self.seen.append(" ".join(statement.split()))

    def __enter__(self):
        from sqlalchemy import event
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event
        event.remove(self.engine, "before_cursor_execute", self._record)

    def count(self, fragment: str) -> int:
        return sum(fragment in s for s in self.seen)


class TestReceiptScanned:
    def test_every_mailing_dict_says_whether_a_receipt_is_scanned_and_lists_it(self, tenant, container,
                                                                             mise_en_demeure, other_tenant):
        from casefiles.errors import NotFound
        from delivery import service as mail
        case, doc = mise_en_demeure
        scanned, plain = _mailing(tenant, case, doc), _mailing(tenant, case, doc)
        assert scanned["receipt_scanned"] is False
        up = tenant.clerk.post(f"/v1/mailings/{scanned['id']}/receipt", data={"file": (io.BytesIO(PNG), "ar.png")},
                               content_type="multipart/form-data")
        assert up.status_code == 201 and up.json["mailing"]["receipt_scanned"] is True
        assert tenant.clerk.get(f"/v1/mailings/{scanned['id']}").json["receipt_scanned"] is True
        listed = {m["id"]: m["receipt_scanned"]
                  for m in tenant.clerk.get(f"/v1/mailings?case_id={case['id']}").json["items"]}
        assert listed == {scanned["id"]: True, plain["id"]: False}
        with container.db.read() as conn:
            (scan,) = mail.receipt_scans(conn, tenant.id, scanned["id"])
            assert mail.receipt_scans(conn, tenant.id, plain["id"]) == []
            with pytest.raises(NotFound):
                mail.receipt_scans(conn, other_tenant.id, scanned["id"])
        ev = up.json["evidence"]
        assert scan == {"id": ev["id"], "filename": "ar.png", "media_type": "image/png", "size": len(PNG),
                        "sha256": ev["sha256"], "archive_key": ev["archive_key"],
                        "version_id": container.archive.head(ev["archive_key"]).version_id,
                        "created_at": ev["created_at"]}
        assert container.archive.get(scan["archive_key"], version_id=scan["version_id"],
                                     expected_sha256=scan["sha256"]) == PNG

    def test_the_queue_reads_the_receipt_scans_in_its_own_query(self, tenant, container, mise_en_demeure):
        from delivery import service as mail
        case, doc = mise_en_demeure
        for _ in range(3):
            _mailing(tenant, case, doc)
        with _Statements(container.db.engine) as sql, container.db.read() as conn:
            assert len(mail.list_mailings(conn, tenant.id, case_id=case["id"])) == 3
        assert sql.count("FROM evidence") == 1, sql.seen


class TestQueueArguments:
    @pytest.mark.parametrize("value", ["+5", " 5", "٥", "1_0", "-1", "3651", "x"])
    def test_older_than_days_is_ascii_digits_in_range(self, tenant, value):
        r = tenant.clerk.get("/v1/mailings", query_string={"older_than_days": value})
        assert _is_problem(r, 422) and [e["pointer"] for e in r.json["errors"]] == ["/older_than_days"], value


class TestFormalNoticeQueries:
    def test_a_relance_does_not_look_for_the_earliest_mise_en_demeure(self, tenant, container, mise_en_demeure):
        from delivery import service as mail
        case, _ = mise_en_demeure
        relance = generate(tenant, container, case["id"], "relance", as_of="2026-03-01")
        assert relance["status"] == "ready", relance.get("error")
        m = _mailing(tenant, case, relance)
        with _Statements(container.db.engine) as sql, container.db.write() as conn:
            got = mail.record_event(conn, tenant.id, "clerk", m["id"], type="first_presented",
                                    at=dt.datetime(2026, 3, 5, 10, tzinfo=dt.timezone.utc))
        assert got["effective_date"] == "2026-03-05"
        assert sql.count("JOIN documents") == 0 and sql.count("SELECT documents.kind") == 1, sql.seen
        assert tenant.clerk.get(f"/v1/cases/{case['id']}").json.get("formal_notice_date") is None

    def test_a_mise_en_demeure_looks_its_kind_up_once(self, tenant, container, mise_en_demeure):
        from delivery import service as mail
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc)
        _event(tenant, m["id"], "first_presented", "2026-03-05T10:00:00+01:00")
        with _Statements(container.db.engine) as sql, container.db.write() as conn:   # NPAI: the date is cleared
            mail.record_event(conn, tenant.id, "clerk", m["id"], type="addressee_unknown",
                              at=dt.datetime(2026, 3, 6, 10, tzinfo=dt.timezone.utc))
        assert sql.count("documents.kind") == 2, sql.seen      # the kind, then the earliest mise en demeure
        assert tenant.clerk.get(f"/v1/cases/{case['id']}").json.get("formal_notice_date") is None


def test_a_csv_line_refused_as_a_conflict_is_a_rejected_line(tenant, container, mise_en_demeure, monkeypatch):
    from casefiles.errors import Conflict
    from delivery import service as mail
    case, doc = mise_en_demeure
    number = _unique_number()
    m = _mailing(tenant, case, doc, tracking_number=number)
    real = mail.record_event

    def record(conn, tenant_id, actor, mailing_id, **kw):
        if kw["type"] == "refused":
            raise Conflict("already recorded with another content")
        return real(conn, tenant_id, actor, mailing_id, **kw)
    monkeypatch.setattr(mail, "record_event", record)
    r = tenant.clerk.post("/v1/mailings/tracking-import", headers={"Content-Type": "text/csv"},
                          data=f"tracking_number;event;date\n{number};refusé;2026-03-06\n{number};AG1;2026-03-05\n")
    assert r.status_code == 200, r.json
    assert r.json["rejected"] == [{"line": 2, "column": "event", "message":
                                   "événement contraire à un événement déjà enregistré pour cet envoi"}]
    assert [a["line"] for a in r.json["accepted"]] == [3]
    assert [e["type"] for e in tenant.clerk.get(f"/v1/mailings/{m['id']}").json["events"]] == ["first_presented"]


class TestPacketBuilders:
    def test_a_builder_that_loses_the_race_serves_and_keeps_the_winners_record(self, tenant, container,
                                                                                mise_en_demeure, monkeypatch):
        import hashlib

        from delivery import service as mail
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc, tracking_number=_unique_number())
        real_put = container.archive.put
        winner = {}

        def put(key, data, content_type, **kw):
            if not winner:              # another builder gets there while this one was rendering
                winner["loser's bytes"] = data
                winner["pdf"], _ = mail.packet_pdf(container, tenant.id, m["id"], actor="other")
            return real_put(key, data, content_type, **kw)
        monkeypatch.setattr(container.archive, "put", put)
        pdf, key = mail.packet_pdf(container, tenant.id, m["id"], actor="clerk")
        assert pdf == winner["pdf"] and winner["loser's bytes"] != pdf      # refused by the write-once archive
        (archived,) = _ledger(tenant, case["id"], "mailing.packet_archived")
        assert archived["sha256"] == hashlib.sha256(pdf).hexdigest() and archived["archive_key"] == key
        assert tenant.clerk.get(f"/v1/mailings/{m['id']}/pdf").data == pdf

    def test_no_write_transaction_is_open_while_the_packet_is_built(self, tenant, container, mise_en_demeure,
                                                                   monkeypatch):
        from delivery import service as mail
        case, doc = mise_en_demeure
        m = _mailing(tenant, case, doc, tracking_number=_unique_number())
        real_build = mail.build_packet
        seen = []

        def build(*args):
            # Another writer gets through at once: a write transaction held around the build (SQLite's
            # BEGIN IMMEDIATE, PostgreSQL's lock on the mailing row) would make it wait, then fail.
            with container.db.write() as conn:
                if not container.db.is_sqlite:
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                mail.record_event(conn, tenant.id, "clerk", m["id"], type="deposited",
                                  at=dt.datetime(2026, 3, 2, 15, tzinfo=dt.timezone.utc))
            seen.append(True)
            return real_build(*args)
        monkeypatch.setattr(mail, "build_packet", build)
        pdf, _ = mail.packet_pdf(container, tenant.id, m["id"])
        assert seen and pdf.startswith(b"%PDF-")
        assert tenant.clerk.get(f"/v1/mailings/{m['id']}").json["status"] == "deposited"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_batches_in_opposite_orders_and_imports_finish_without_deadlock(tenant, container, mise_en_demeure):
    import threading

    from delivery import ProviderEvent
    from delivery import service as mail
    case, doc = mise_en_demeure
    m1, m2 = (_mailing(tenant, case, doc, tracking_number=_unique_number()) for _ in range(2))
    start = threading.Barrier(4)
    errors, batches = [], {}

    def batch(name, ids):
        try:
            start.wait(30)
            batches[name] = mail.print_batch(container, tenant.id, ids, actor="clerk")
        except Exception as exc:  # noqa: BLE001 - a deadlock aborts one of them
            errors.append((name, exc))

    def imports():
        try:
            start.wait(30)
            for day in range(2, 6):
                with container.db.write() as conn:        # a clerk's CSV listing M2 before M1
                    mail.import_tracking_csv(conn, tenant.id, "clerk", "tracking_number;event;date\n"
                                             f"{m2['tracking_number']};PC1;2026-03-0{day}\n"
                                             f"{m1['tracking_number']};PC1;2026-03-0{day}\n", dry_run=False)
        except Exception as exc:  # noqa: BLE001
            errors.append(("import", exc))

    def hooks():
        try:
            start.wait(30)
            for day in range(2, 6):
                with container.db.write() as conn:        # the provider, in the other order
                    mail.apply_provider_events(conn, "laposte", [
                        ProviderEvent(m["tracking_number"], "first_presented",
                                      dt.datetime(2026, 3, day + 4, 9, tzinfo=dt.timezone.utc),
                                      f"lp:{m['id']}:{day}", "AG1") for m in (m1, m2)][::-1])
        except Exception as exc:  # noqa: BLE001
            errors.append(("hook", exc))

    threads = [threading.Thread(target=batch, args=("a", [m1["id"], m2["id"]])),
               threading.Thread(target=batch, args=("b", [m2["id"], m1["id"]])),
               threading.Thread(target=imports), threading.Thread(target=hooks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    manifest_a, manifest_b = (batches[n][1].splitlines() for n in ("a", "b"))
    assert [line.split(",")[1] for line in manifest_a[1:]] == [m1["id"], m2["id"]]
    assert [line.split(",")[1] for line in manifest_b[1:]] == [m2["id"], m1["id"]]
    archived = _ledger(tenant, case["id"], "mailing.packet_archived")
    assert sorted(a["mailing_id"] for a in archived) == sorted([m1["id"], m2["id"]])   # each recorded once
    for m in (m1, m2):
        got = tenant.clerk.get(f"/v1/mailings/{m['id']}").json
        assert len(got["events"]) == 8 and got["status"] == "presented"
