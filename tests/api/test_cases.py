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
    # Unicode digits are digits to Python's \d and str.isdigit, not to a registry or a bank
    ("/creditor/siren", lambda c: c["creditor"].__setitem__("siren", "٧٣٢٨٢٩٣٢٠"), "9 digits"),
    ("/debtor/siret", lambda c: c["debtor"].__setitem__("siret", "٤٠٤٨٣٣٠٤٨٠٠٠١٧"), "14 digits"),
    ("/debtor/siret", lambda c: c["debtor"].__setitem__("siret", "4048330480001⁷"), "14 digits"),
    ("/creditor/iban", lambda c: c["creditor"].__setitem__("iban", "FR٧٦30006000011234567890189"), "country code"),
    ("/creditor/vat_number", lambda c: c["creditor"].__setitem__("vat_number", "FR٤٤732829320"), "FR"),
    ("/debtor/address/postal_code", lambda c: c["debtor"]["address"].__setitem__("postal_code", "٦٧٠٠٠"), "5 digits"),
    ("/debtor/address/postal_code", lambda c: c["debtor"]["address"].__setitem__("postal_code", "6700²"), "5 digits"),
    ("/invoices/0/amount", lambda c: c["invoices"][0].__setitem__("amount", "4٨٠٠.00"), "two decimals"),
    ("/late_interest/annual_rate", lambda c: c.__setitem__("late_interest", {"basis": "contract", "annual_rate": "١٢"}),
     "percentage"),
    # dates are ISO 8601 calendar dates, not Unix timestamps nor date-times
    ("/invoices/0/issue_date", lambda c: c["invoices"][0].__setitem__("issue_date", 0), "YYYY-MM-DD"),
    ("/invoices/0/issue_date", lambda c: c["invoices"][0].__setitem__("issue_date", "1700006400"), "YYYY-MM-DD"),
    ("/invoices/0/due_date", lambda c: c["invoices"][0].__setitem__("due_date", "2025-10-31T00:00:00"), "YYYY-MM-DD"),
    ("/invoices/0/due_date", lambda c: c["invoices"][0].__setitem__("due_date", "20251031"), "YYYY-MM-DD"),
    ("/payments/0/date", lambda c: c["payments"][0].__setitem__("date", 1768867200), "YYYY-MM-DD"),
    ("/reminders/1/promised_payment_date",
     lambda c: c["reminders"][1].__setitem__("promised_payment_date", "2025-W49-5"), "YYYY-MM-DD"),
    ("/contract/date", lambda c: c["contract"].__setitem__("date", "2025-09-02T00:00:00Z"), "YYYY-MM-DD"),
    ("/formal_notice_date", lambda c: c.__setitem__("formal_notice_date", 1.7e9), "YYYY-MM-DD"),
    ("/invoices/0/issue_date", lambda c: c["invoices"][0].__setitem__("issue_date", "٢٠٢٥-١٠-٠١"), "YYYY-MM-DD"),
    # VAT numbers
    ("/creditor/vat_number", lambda c: c["creditor"].__setitem__("vat_number", "FR83404833048"), "does not contain the SIREN"),
    ("/debtor/vat_number", lambda c: c["debtor"].__setitem__("vat_number", "US123456789"), "EU member state"),
    ("/debtor/vat_number", lambda c: c["debtor"].__setitem__("vat_number", "BE0123-456"), "2 to 12"),
    ("/debtor/vat_number", lambda c: c["debtor"].__setitem__("vat_number", "DE1234567890123"), "2 to 12"),
    # collection agency
    ("/collection_agency/siren", lambda c: c.__setitem__("collection_agency", dict(AGENCY, siren="732829321")), "Luhn"),
    ("/collection_agency/siren", lambda c: c.__setitem__("collection_agency", dict(AGENCY, siren="7328293")), "9 digits"),
    ("/collection_agency/address/postal_code", lambda c: c.__setitem__("collection_agency", dict(
        AGENCY, address=dict(AGENCY["address"], postal_code="750O8"))), "5 digits"),
    ("/collection_agency/address/lines/0", lambda c: c.__setitem__("collection_agency", dict(
        AGENCY, address=dict(AGENCY["address"], lines=["x" * 39]))), "38"),
    ("/collection_agency/address", lambda c: c.__setitem__("collection_agency", dict(AGENCY, address=None)),
     "valid dictionary"),
    # NF Z10-011: "POSTAL CODE CITY" on one line of 38 characters
    ("/debtor/address/city", lambda c: c["debtor"]["address"].update(postal_code="670000", city="S" * 32), "38"),
    ("/debtor/address/city", lambda c: c["debtor"]["address"].update(
        country="GB", postal_code="SW1A 1AA", city="Little Snoring in the Marsh 22"), "38"),
]

AGENCY = {"name": "Recouvrements du Rhône", "siren": "732829320",
          "address": {"lines": ["1 quai Saint-Antoine"], "postal_code": "69002", "city": "Lyon"}}


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

    def test_one_error_per_pointer_for_a_malformed_vat_number(self, tenant, b2b_case):
        b2b_case["creditor"]["vat_number"] = "FR4473282932"     # 8-digit SIREN part: malformed, not "another SIREN"
        resp = tenant.integrator.post("/v1/cases", json=b2b_case)
        assert [e["pointer"] for e in resp.json["errors"]] == ["/creditor/vat_number"], resp.json

    @pytest.mark.parametrize("vat", ["FR44732829320", "fr 44 732 829 320"])
    def test_a_vat_number_built_on_the_siren_is_accepted(self, tenant, b2b_case, vat):
        b2b_case["creditor"]["vat_number"] = vat
        assert tenant.integrator.post("/v1/cases", json=b2b_case).status_code == 201

    @pytest.mark.parametrize("vat", ["BE0123456789", "DE123456789", "EL094259216", "IT 00743110157", "NL123456789B01"])
    def test_a_foreign_eu_debtor_is_accepted(self, tenant, b2b_case, vat):
        b2b_case["debtor"].pop("siren")
        b2b_case["debtor"]["vat_number"] = vat
        b2b_case["debtor"]["address"] = {"lines": ["Rue de la Loi 16"], "postal_code": "1000", "city": "Bruxelles",
                                         "country": "BE"}
        r = tenant.integrator.post("/v1/cases", json=b2b_case)
        assert r.status_code == 201, r.json
        assert r.json["debtor"]["vat_number"] == vat

    def test_a_collection_agency_is_validated_and_kept(self, tenant, b2b_case):
        b2b_case["collection_agency"] = AGENCY
        r = tenant.integrator.post("/v1/cases", json=b2b_case)
        assert r.status_code == 201, r.json
        assert r.json["collection_agency"]["siren"] == "732829320"

    def test_postal_code_and_city_of_38_characters_fit(self, tenant, b2b_case):
        b2b_case["debtor"]["address"].update(postal_code="67000", city="S" * 32)      # 5 + 1 + 32 = 38
        assert tenant.integrator.post("/v1/cases", json=b2b_case).status_code == 201
        b2b_case = with_reference(b2b_case)
        b2b_case["debtor"]["address"].update(country="GB", postal_code="SW1A 1AA", city="L" * 29)   # 8 + 1 + 29
        assert tenant.integrator.post("/v1/cases", json=b2b_case).status_code == 201

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
