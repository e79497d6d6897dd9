"""Case files over HTTP: creation, reading, listing, payments, reminders, validation."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from persistence.tables import cases, ledger_events
from tests.conftest import with_reference


def count_cases(container, tenant_id):
    with container.db.read() as conn:
        return conn.execute(select(func.count()).select_from(cases).where(cases.c.tenant_id == tenant_id)).scalar()


class TestCreate:
    def test_created_case_is_returned_with_id_and_location(self, tenant, b2b_case):
        r = tenant.integrator.post("/v1/cases", json=b2b_case)
        assert r.status_code == 201, r.json
        body = r.json
        assert r.headers["Location"] == f"/v1/cases/{body['id']}"
        assert body["reference"] == "EX-B2B-0001"
        assert body["status"] == "open"
        assert body["invoices"][1]["amount"] == "2350.40"
        assert body["payments"][0]["amount"] == "1500.00"
        got = tenant.integrator.get(r.headers["Location"])
        assert got.status_code == 200
        assert got.json == body

    def test_amounts_are_normalised_to_two_decimals(self, tenant, b2c_case):
        b2c_case["invoices"][0]["amount"] = "645.9"
        r = tenant.integrator.post("/v1/cases", json=b2c_case)
        assert r.status_code == 201
        assert r.json["invoices"][0]["amount"] == "645.90"

    def test_reference_is_unique_per_tenant(self, tenant, other_tenant, b2b_case):
        assert tenant.integrator.post("/v1/cases", json=b2b_case).status_code == 201
        again = tenant.integrator.post("/v1/cases", json=b2b_case)
        assert again.status_code == 409
        assert again.mimetype == "application/problem+json"
        assert again.json["detail"] == "a case with this reference already exists"
        assert other_tenant.integrator.post("/v1/cases", json=b2b_case).status_code == 201

    def test_another_tenants_case_answers_404(self, tenant, other_tenant, b2b_case):
        case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
        for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/events", f"/v1/cases/{case_id}/events/verify"):
            assert other_tenant.integrator.get(path).status_code == 404
        r = other_tenant.integrator.post(f"/v1/cases/{case_id}/payments", json={"date": "2026-02-01", "amount": "10.00"})
        assert r.status_code == 404


class TestList:
    def test_pagination_and_filters(self, tenant, other_tenant, b2b_case, b2c_case):
        ids = [tenant.integrator.post("/v1/cases", json=with_reference(b2b_case, f"P{i}")).json["id"] for i in range(5)]
        tenant.integrator.post("/v1/cases", json=b2c_case)
        other_tenant.integrator.post("/v1/cases", json=b2b_case)
        page1 = tenant.lawyer.get("/v1/cases?limit=4").json
        assert page1["total"] == 6 and len(page1["items"]) == 4 and page1["next_cursor"]
        page2 = tenant.lawyer.get(f"/v1/cases?limit=4&cursor={page1['next_cursor']}").json
        assert len(page2["items"]) == 2 and page2["next_cursor"] is None
        seen = [c["id"] for c in page1["items"] + page2["items"]]
        assert len(set(seen)) == 6 and set(ids) <= set(seen)
        only = tenant.clerk.get("/v1/cases?reference=EX-B2C-0001").json
        assert [c["reference"] for c in only["items"]] == ["EX-B2C-0001"]
        assert tenant.lawyer.get("/v1/cases?status=open").json["total"] == 6
        assert tenant.lawyer.get("/v1/cases?status=settled").json["total"] == 0
        assert tenant.lawyer.get("/v1/cases?q=moreau").json["total"] == 1

    def test_bad_query_parameters_are_422_with_pointers(self, tenant):
        r = tenant.lawyer.get("/v1/cases?limit=0&status=lost")
        assert r.status_code == 422
        assert {e["pointer"] for e in r.json["errors"]} == {"/limit", "/status"}
        assert tenant.lawyer.get("/v1/cases?cursor=%%%").status_code == 422


def _errors(resp):
    assert resp.status_code == 422, resp.json
    assert resp.mimetype == "application/problem+json"
    return {e["pointer"]: e["detail"] for e in resp.json["errors"]}


INVALID = [
    ("/creditor/siren", lambda c: c["creditor"].__setitem__("siren", "732829321"), "Luhn"),
    ("/creditor/siren", lambda c: c["creditor"].__setitem__("siren", "73282932"), "9 digits"),
    ("/debtor/siret", lambda c: c["debtor"].__setitem__("siret", "40483304800011"), "Luhn"),
    ("/debtor/siret", lambda c: c["debtor"].__setitem__("siret", "73282932000074"), "start with the SIREN"),
    ("/creditor/vat_number", lambda c: c["creditor"].__setitem__("vat_number", "FR45732829320"), "FR44732829320"),
    ("/creditor/iban", lambda c: c["creditor"].__setitem__("iban", "FR7630006000011234567890188"), "mod 97"),
    ("/debtor/address/postal_code", lambda c: c["debtor"]["address"].__setitem__("postal_code", "6700"), "5 digits"),
    ("/debtor/address/lines/0", lambda c: c["debtor"]["address"]["lines"].__setitem__(0, "x" * 39), "38"),
    ("/debtor/address/lines", lambda c: c["debtor"]["address"].__setitem__("lines", ["a", "b", "c", "d", "e"]), "4"),
    ("/invoices/0/amount", lambda c: c["invoices"][0].__setitem__("amount", "12.345"), "two decimals"),
    ("/invoices/0/amount", lambda c: c["invoices"][0].__setitem__("amount", "-5.00"), "two decimals"),
    ("/invoices/0/amount", lambda c: c["invoices"][0].__setitem__("amount", "0.00"), "greater than zero"),
    ("/invoices/0/amount", lambda c: c["invoices"][0].__setitem__("amount", 12.5), "string"),
    ("/invoices/0/currency", lambda c: c["invoices"][0].__setitem__("currency", "USD"), "EUR"),
    ("/invoices/1/due_date", lambda c: c["invoices"][1].__setitem__("due_date", "2025-11-01"), "issue_date"),
    ("/invoices/1/number", lambda c: c["invoices"][1].__setitem__("number", "F-2025-0412"), "duplicate"),
    ("/invoices/0/issue_date", lambda c: c["invoices"][0].__setitem__("issue_date", "2025-02-30"), "date"),
    ("/payments/0/date", lambda c: c["payments"][0].__setitem__("date", "2025-09-01"), "before the first invoice"),
    ("/payments/0/invoice_number", lambda c: c["payments"][0].__setitem__("invoice_number", "F-404"), "no invoice"),
    ("/reminders/0/channel", lambda c: c["reminders"][0].__setitem__("channel", "pigeon"), "email"),
    ("/debtor/kind", lambda c: c["debtor"].__setitem__("kind", "alien"), "company"),
    ("/creditor/nickname", lambda c: c["creditor"].__setitem__("nickname", "x"), "unknown field"),
    ("/surprise", lambda c: c.__setitem__("surprise", 1), "unknown field"),
    ("/late_interest/annual_rate", lambda c: c.__setitem__("late_interest", {"basis": "contract"}), "required"),
    ("/debtor/birth_date", lambda c: c["debtor"].__setitem__("birth_date", "1980-01-01"), "natural persons"),
    ("/invoices", lambda c: c.__setitem__("invoices", []), "at least 1"),
]


class TestValidation:
    @pytest.mark.parametrize("pointer,mutate,words", INVALID, ids=[f"{p}:{w}" for p, _, w in INVALID])
    def test_each_rule_names_its_field_and_stores_nothing(self, tenant, container, b2b_case, pointer, mutate, words):
        mutate(b2b_case)
        errors = _errors(tenant.integrator.post("/v1/cases", json=b2b_case))
        assert pointer in errors, errors
        assert words.lower() in errors[pointer].lower()
        assert count_cases(container, tenant.id) == 0

    def test_several_faults_are_all_reported(self, tenant, b2b_case):
        b2b_case["creditor"]["siren"] = "732829321"
        b2b_case["debtor"]["iban"] = "FR00"
        b2b_case["invoices"][1]["due_date"] = "2025-01-01"
        errors = _errors(tenant.integrator.post("/v1/cases", json=b2b_case))
        assert {"/creditor/siren", "/debtor/iban", "/invoices/1/due_date"} <= set(errors)

    def test_la_poste_siret_exception_and_legacy_vat_key(self, tenant, b2b_case):
        b2b_case["debtor"].update(siren="356000000", siret="35600000049837", vat_number="FRAB356000000")
        assert tenant.integrator.post("/v1/cases", json=b2b_case).status_code == 201

    def test_malformed_json_is_400_problem(self, tenant, container):
        r = tenant.integrator.post("/v1/cases", data=b'{"reference": ', headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        assert r.mimetype == "application/problem+json"
        assert r.json["status"] == 400 and r.json["title"]
        assert count_cases(container, tenant.id) == 0

    def test_non_json_body_is_415(self, tenant):
        r = tenant.integrator.post("/v1/cases", data=b"reference=x", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415

    def test_json_that_is_not_an_object(self, tenant):
        assert _errors(tenant.integrator.post("/v1/cases", json=[1, 2])) == {"": "must be a JSON object"}


class TestHistory:
    def test_payments_and_reminders_append_to_the_history(self, tenant, b2b_case):
        case = tenant.integrator.post("/v1/cases", json=b2b_case).json
        r = tenant.integrator.post(f"/v1/cases/{case['id']}/payments",
                                   json={"date": "2026-02-10", "amount": "350.4", "method": "chèque"})
        assert r.status_code == 201, r.json
        assert r.json["payments"][-1] == {"date": "2026-02-10", "amount": "350.40", "method": "chèque"}
        assert r.json["version"] == 2
        r = tenant.integrator.post(f"/v1/cases/{case['id']}/reminders",
                                   json={"date": "2026-02-11", "channel": "phone", "summary": "Relance téléphonique"})
        assert r.status_code == 201
        assert len(r.json["reminders"]) == 4
        types = [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]]
        assert types == ["case.created", "payment.added", "reminder.logged"]

    def test_invalid_payment_changes_nothing(self, tenant, container, b2b_case):
        case = tenant.integrator.post("/v1/cases", json=b2b_case).json
        errors = _errors(tenant.integrator.post(f"/v1/cases/{case['id']}/payments",
                                                json={"date": "2024-01-01", "amount": "10.00", "invoice_number": "nope"}))
        assert set(errors) == {"/date", "/invoice_number"}
        assert tenant.integrator.get(f"/v1/cases/{case['id']}").json["payments"] == case["payments"]
        with container.db.read() as conn:
            n = conn.execute(select(func.count()).select_from(ledger_events)
                             .where(ledger_events.c.case_id == case["id"])).scalar()
        assert n == 1

    def test_reminder_validation(self, tenant, b2b_case):
        case = tenant.integrator.post("/v1/cases", json=b2b_case).json
        errors = _errors(tenant.integrator.post(f"/v1/cases/{case['id']}/reminders", json={
            "date": "2026-02-11", "channel": "fax", "summary": "", "promised_payment_date": "2026-01-01"}))
        assert {"/channel", "/summary"} <= set(errors)


def test_healthz_needs_no_key(anonymous):
    r = anonymous.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_openapi_and_docs_page(anonymous):
    spec = anonymous.get("/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    assert "/v1/cases" in spec["paths"] and "CaseFile" in spec["components"]["schemas"]
    page = anonymous.get("/v1/docs")
    assert page.status_code == 200 and b"/v1/cases" in page.data


def test_unknown_route_is_problem_json(tenant):
    r = tenant.integrator.get("/v1/nothing-here")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = tenant.integrator.client.delete("/v1/cases", headers={"Authorization": f"Bearer {tenant.keys['integrator']}"})
    assert r.status_code == 405 and r.mimetype == "application/problem+json"


def test_case_fixture_is_unchanged_by_storage(tenant, b2c_case):
    sent = copy.deepcopy(b2c_case)
    got = tenant.integrator.post("/v1/cases", json=b2c_case).json
    for k, v in sent.items():
        if k not in ("invoices", "payments"):
            assert got[k] == v
