"""The lawyer's list of cases and the case page — on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re

from .helpers import make_case, signed_in, text_of


def _references(html: str) -> list[str]:
    return re.findall(r'<a href="/app/cases/[0-9a-f-]{36}">([^<]+)</a>', html)


def test_empty_list_says_who_creates_cases(app, container, tenant):
    client = signed_in(app, container, tenant.id)
    text = text_of(client.get("/app/cases").text)
    assert ("Aucun dossier. Les dossiers sont créés par votre logiciel de recouvrement, qui les transmet à "
            "Recouvre : demandez au gestionnaire de ce logiciel") in text
    assert "/v1/" not in text and "API" not in text                 # lawyers do not call the API


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


def _pages(html: str) -> dict[str, str]:
    return {rel: href.replace("&amp;", "&") for rel, href in re.findall(r'<a rel="(next|prev)" href="([^"]+)"', html)}


def test_previous_page_goes_back_one_page_at_a_time(app, container, tenant):
    refs = [f"Q-{i:03d}" for i in range(45)]
    for ref in refs:
        make_case(container, tenant.id, reference=ref)
    client = signed_in(app, container, tenant.id)
    one = client.get("/app/cases?q=Q-")
    assert "prev" not in _pages(one.text) and "Page précédente" not in one.text
    two = client.get(_pages(one.text)["next"])
    three = client.get(_pages(two.text)["next"])
    assert "Dossiers 41 à 45 sur 45" in text_of(three.text) and "next" not in _pages(three.text)
    back_to_two = client.get(_pages(three.text)["prev"])
    assert "Page précédente" in three.text and "Dossiers 21 à 40 sur 45" in text_of(back_to_two.text)
    assert _references(back_to_two.text) == _references(two.text)
    assert _pages(back_to_two.text)["next"] == _pages(two.text)["next"]          # and forward again
    back_to_one = client.get(_pages(back_to_two.text)["prev"])
    assert _references(back_to_one.text) == _references(one.text) and "q=Q-" in _pages(back_to_two.text)["prev"]
    assert "Dossiers 1 à 20 sur 45" in text_of(back_to_one.text)
    assert sorted(_references(one.text) + _references(two.text) + _references(three.text)) == refs


def test_empty_states_tell_a_lawyer_what_to_do_without_the_api(app, container, tenant):
    case = make_case(container, tenant.id, fixture="case-b2c.json")
    client = signed_in(app, container, tenant.id)
    with container.db.write() as conn:             # a case with no reminders: the empty state shows
        from sqlalchemy import update

        from persistence.tables import cases
        row = conn.execute(cases.select().where(cases.c.id == case["id"])).mappings().one()
        conn.execute(update(cases).where(cases.c.id == case["id"]).values(data={**row["data"], "reminders": []}))
    text = text_of(client.get(f"/app/cases/{case['id']}").text)
    assert "Aucune relance consignée. Les relances amiables (courriel, appel, courrier) sont enregistrées par " \
           "votre logiciel de recouvrement" in text
    assert "Aucune pièce versée. Les factures, le contrat et les bons de livraison sont versés par votre " \
           "logiciel de recouvrement" in text
    assert "/v1/" not in text and "API" not in text


def test_a_piece_of_the_case_can_be_downloaded_by_its_tenant_only(app, container, tenant, other_tenant):
    import hashlib

    from casefiles import services
    from .helpers import letter_pdf
    case = make_case(container, tenant.id)
    pdf = letter_pdf("Facture F-2025-0412")
    key = f"tenants/{tenant.id}/cases/{case['id']}/evidence/facture.pdf"
    with container.db.write() as conn:
        piece = services.record_evidence(conn, tenant.id, "test", case["id"], kind="invoice",
                                         title="Facture F-2025-0412", filename="facture F-2025-0412.pdf",
                                         media_type="application/pdf",
                                         size=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(), archive_key=key,
                                         store=lambda: container.archive.put(key, pdf, "application/pdf"))
    client = signed_in(app, container, tenant.id)
    page = client.get(f"/app/cases/{case['id']}").text
    assert f'<a href="/app/evidence/{piece["id"]}" class="piece-link">Facture F-2025-0412</a>' in page
    resp = client.get(f"/app/evidence/{piece['id']}")
    assert resp.status_code == 200 and resp.data == pdf and resp.mimetype == "application/pdf"
    assert "filename*=UTF-8''facture%20F-2025-0412.pdf" in resp.headers["Content-Disposition"]
    other = signed_in(app, container, other_tenant.id)
    theirs = other.get(f"/app/evidence/{piece['id']}")
    assert theirs.status_code == 404 and "Page introuvable" in theirs.text
    assert app.test_client().get(f"/app/evidence/{piece['id']}").status_code == 302      # signed-in users only


def test_a_piece_whose_archived_bytes_do_not_match_its_record_is_not_served(app, container, tenant):
    import hashlib

    from casefiles import services
    from .helpers import letter_pdf
    case = make_case(container, tenant.id)
    pdf = letter_pdf("Bon de livraison")
    key = f"tenants/{tenant.id}/cases/{case['id']}/evidence/bl.pdf"
    with container.db.write() as conn:
        piece = services.record_evidence(conn, tenant.id, "test", case["id"], kind="delivery_note",
                                         title="Bon de livraison", filename="bl.pdf", media_type="application/pdf",
                                         size=len(pdf), sha256=hashlib.sha256(b"other bytes").hexdigest(),
                                         archive_key=key, store=lambda: container.archive.put(key, pdf,
                                                                                              "application/pdf"))
    client = signed_in(app, container, tenant.id)
    resp = client.get(f"/app/evidence/{piece['id']}")
    assert resp.status_code == 500 and "Pièce illisible" in resp.text and b"%PDF" not in resp.data


def test_an_inconsistent_case_is_explained_in_french(app, container, tenant, monkeypatch):
    import web.casefacts

    def inconsistent(*_a, **_kw):
        raise ValueError("payment 2025-01-03 precedes every invoice")
    case = make_case(container, tenant.id)
    monkeypatch.setattr(web.casefacts, "compute_claim", inconsistent)
    client = signed_in(app, container, tenant.id)
    text = text_of(client.get(f"/app/cases/{case['id']}").text)
    assert "Le décompte ne peut pas être calculé : les données du dossier sont incohérentes" in text
    assert "precedes" not in text and "API" not in text
    assert "non calculable" in client.get("/app/cases").text


def test_every_ledger_event_the_service_writes_has_a_french_label_and_a_cleared_notice_date_reads_as_such():
    import pathlib
    import re

    from web.formatting import LABELS, ledger_detail
    root = pathlib.Path(__file__).resolve().parents[2]
    written = set()
    for folder in ("casefiles", "delivery", "documents", "api", "jobs", "proofs"):
        for path in (root / folder).rglob("*.py"):
            for line in path.read_text().splitlines():
                if re.search(r"append_event\(|chain_event\(|update_case_data\(|event_type=", line):
                    written |= set(re.findall(r'"([a-z_]+\.[a-z_]+)"', line))
    assert {"case.created", "mailing.packet_archived", "case.formal_notice_dated"} <= written
    assert written <= set(LABELS["ledger_event"]), written - set(LABELS["ledger_event"])
    assert ledger_detail("case.formal_notice_dated", {"formal_notice_date": None}).startswith("date de mise en demeure effacée")
    assert ledger_detail("case.formal_notice_dated", {"formal_notice_date": "2026-03-05"}).endswith("05/03/2026")
