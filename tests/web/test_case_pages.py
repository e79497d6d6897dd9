"""The lawyer's list of cases and the case page — on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re

from .helpers import make_case, signed_in, text_of


def _references(html: str) -> list[str]:
    return re.findall(r'<a href="/app/cases/[0-9a-f-]{36}">([^<]+)</a>', html)


def test_empty_list_says_how_to_create_a_case(app, container, tenant):
    client = signed_in(app, container, tenant.id)
    text = text_of(client.get("/app/cases").text)
    assert "Aucun dossier. Créez-en un via l'API : POST /v1/cases" in text


def test_list_shows_reference_debtor_outstanding_stage_and_next_deadline(app, container, tenant):
    from casefiles.model import CaseFile
    from law import case_deadlines, compute_claim
    from web.blueprint import today
    from web.formatting import date_fr, money
    case = make_case(container, tenant.id, reference="DUP-0001", debtor="Boulangerie Dupont SAS")
    client = signed_in(app, container, tenant.id)
    text = text_of(client.get("/app/cases").text)
    model = CaseFile.model_validate({k: v for k, v in case.items() if k in CaseFile.model_fields})
    total = compute_claim(model, today(), rates=container.rates).total_outstanding
    upcoming = next(d for d in case_deadlines(model, today()) if d.date >= today())
    row = re.search(r"DUP-0001 .*?(?=$)", text).group(0)
    assert "Boulangerie Dupont SAS" in row and money(total) in row and "Phase amiable" in row
    assert date_fr(upcoming.date) in row and "Prescription" in row


def test_search_by_reference_or_debtor_and_by_stage(app, container, tenant):
    make_case(container, tenant.id, reference="ALPHA-1", debtor="Menuiserie Martin")
    make_case(container, tenant.id, reference="BETA-2", debtor="Garage Lefèvre")
    client = signed_in(app, container, tenant.id)
    assert _references(client.get("/app/cases?q=menuiserie").text) == ["ALPHA-1"]
    assert _references(client.get("/app/cases?q=beta").text) == ["BETA-2"]
    assert _references(client.get("/app/cases?status=open").text) == ["BETA-2", "ALPHA-1"]
    none = client.get("/app/cases?q=zzz")
    assert _references(none.text) == [] and "Aucun dossier ne correspond à « zzz »" in text_of(none.text)
    assert _references(client.get("/app/cases?status=injunction").text) == []


def test_pagination_walks_every_case_once(app, container, tenant):
    refs = [f"P-{i:03d}" for i in range(23)]
    for ref in refs:
        make_case(container, tenant.id, reference=ref)
    client = signed_in(app, container, tenant.id)
    first = client.get("/app/cases")
    assert len(_references(first.text)) == 20
    assert "Dossiers 1 à 20 sur 23" in text_of(first.text)
    nxt = re.search(r'<a rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = client.get(nxt)
    assert len(_references(second.text)) == 3 and "Dossiers 21 à 23 sur 23" in text_of(second.text)
    assert 'rel="next"' not in second.text and "Première page" in second.text
    assert sorted(_references(first.text) + _references(second.text)) == refs
    assert client.get("/app/cases?cursor=garbage").status_code == 200      # a bad cursor restarts, no 500


def test_case_page_shows_the_decompte_and_its_totals(app, container, tenant):
    from casefiles.model import CaseFile
    from law import compute_claim
    from web.blueprint import today
    from web.formatting import money
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    html = client.get(f"/app/cases/{case['id']}").text
    text = text_of(html)
    model = CaseFile.model_validate({k: v for k, v in case.items() if k in CaseFile.model_fields})
    s = compute_claim(model, today(), rates=container.rates)
    totals = text_of(re.search(r'<table class="data totals" id="totaux">.*?</table>', html, re.S).group(0))
    for label, value in (("Principal facturé", s.principal), ("Paiements reçus", s.paid),
                         ("Principal restant dû", s.principal_outstanding),
                         ("Intérêts restant dus", s.interest_outstanding),
                         ("Indemnités forfaitaires de recouvrement", s.indemnities),
                         ("Total restant dû", s.total_outstanding)):
        assert f"{label} {money(value)}" in totals
    for line in s.lines:
        assert money(line.amount) in text
    assert "Boulangerie Dupont & Fils SAS" in text and "Atelier Lumière SARL" in text       # parties
    assert "Appel au gérant, promesse de paiement sous 15 jours" in text                    # reminders
    assert "Chaîne d'empreintes vérifiée : 1\u00a0événement" in text                              # ledger
    assert "Dossier créé" in text


def test_case_page_explains_a_missing_rate(app, container, tenant, monkeypatch):
    import web.case_pages
    case = make_case(container, tenant.id)
    monkeypatch.setattr(web.case_pages, "today", lambda: dt.date(2039, 3, 1))
    client = signed_in(app, container, tenant.id)
    resp = client.get(f"/app/cases/{case['id']}")
    assert resp.status_code == 200
    text = text_of(resp.text)
    assert "Le décompte ne peut pas être calculé au 01/03/2039" in text
    assert re.search(r"le taux « BCE \+ 10 points » du semestre 20\d\d-S[12] n'est pas encore dans le "
                     r"barème des taux", text)
    assert "taux manquant" in client.get("/app/cases").text


def test_case_page_reports_a_broken_ledger(app, container, tenant):
    from sqlalchemy import update

    from persistence.tables import ledger_events
    case = make_case(container, tenant.id)
    with container.db.write() as conn:
        conn.execute(update(ledger_events).where(ledger_events.c.case_id == case["id"])
                     .values(payload={"tampered": True}))
    client = signed_in(app, container, tenant.id)
    text = text_of(client.get(f"/app/cases/{case['id']}").text)
    assert "Chaîne d'empreintes rompue à l'événement n° 1" in text


def test_case_page_needs_a_session(app, container, tenant):
    case = make_case(container, tenant.id)
    resp = app.test_client().get(f"/app/cases/{case['id']}")
    assert resp.status_code == 302 and f"next=/app/cases/{case['id']}" in resp.location
