"""The clerk's queue, recording tracking events and receipt scans, the CSV import — on both backends."""
from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

from .helpers import csrf_of, make_case, make_mailing, signed_in, text_of, tracking_number

PARIS = ZoneInfo("Europe/Paris")

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63fc"
                    "cfc0500f000485018084a98c210000000049454e44ae426082")


def _ago(days: int) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)


def paris_today() -> dt.date:
    """The day the clerk lives in, not the test machine's local day."""
    return dt.datetime.now(PARIS).date()


def _rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return [text_of(r) for r in re.findall(r"<tr[^>]*>.*?</tr>", body.group(1), re.S)] if body else []


def test_empty_queue_says_what_to_do(app, container, tenant):
    client = signed_in(app, container, tenant.id, "clerk")
    text = text_of(client.get("/app/mailings").text)
    assert "Aucun courrier en attente d'accusé de réception." in text
    assert "importer un fichier de suivi La Poste" in text


def test_queue_is_oldest_first_and_highlights_overdue_letters(app, container, tenant, other_tenant):
    case = make_case(container, tenant.id, debtor="Débiteur Attente SARL")
    late_deposit = make_mailing(container, tenant.id, case["id"], serial=11, events=(("deposited", _ago(20)),))
    late_presented = make_mailing(container, tenant.id, case["id"], serial=12,
                                  events=(("deposited", _ago(25)), ("first_presented", _ago(18))))
    fresh = make_mailing(container, tenant.id, case["id"], serial=13,
                         events=(("deposited", _ago(3)), ("first_presented", _ago(2))))
    make_mailing(container, tenant.id, case["id"], serial=14,
                 events=(("deposited", _ago(9)), ("delivered", _ago(7))))                   # done: not in the queue
    theirs = make_case(container, other_tenant.id)
    make_mailing(container, other_tenant.id, theirs["id"], serial=15, events=(("deposited", _ago(30)),))
    client = signed_in(app, container, tenant.id, "clerk")
    html = client.get("/app/mailings").text
    rows = _rows(html)
    assert len(rows) == 3
    assert [tracking_number(n) in r for n, r in zip((12, 11, 13), rows)] == [True, True, True]    # oldest first
    assert "Présenté il y a 18 jours, sans nouvelle" in rows[0]
    assert "Déposé il y a 20 jours, sans nouvelle" in rows[1]
    assert "sans nouvelle" not in rows[2]
    assert html.count('<tr class="overdue">') == 2 and "2 en retard" in text_of(html)
    assert tracking_number(15) not in html                                                  # other tenant
    aged = _rows(client.get("/app/mailings?age=15").text)
    assert len(aged) == 2 and all(tracking_number(13) not in r for r in aged)
    everything = _rows(client.get("/app/mailings?etat=tous").text)
    assert len(everything) == 4
    linked = set(re.findall(r"/app/mailings/([0-9a-f-]{36})", html))
    assert {late_deposit["id"], late_presented["id"], fresh["id"]} <= linked


def test_recording_a_first_presentation_shows_effective_date_and_deadline(app, container, tenant):
    from law import payment_deadline
    from web.formatting import date_fr
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], events=(("deposited", _ago(6)),))
    client = signed_in(app, container, tenant.id, "clerk")
    page = client.get(f"/app/mailings/{mailing['id']}")
    presented = paris_today() - dt.timedelta(days=4)
    resp = client.post(f"/app/mailings/{mailing['id']}/events", data={
        "csrf_token": csrf_of(page.text), "type": "first_presented", "date": presented.isoformat(), "time": "",
        "event_id": re.search(r'name="event_id" value="([^"]+)"', page.text).group(1)})
    assert resp.status_code == 303 and resp.location.endswith("#resultat")
    text = text_of(client.get(resp.location).text)
    deadline = payment_deadline(presented, 15, "67000")
    assert (f"Événement enregistré : première présentation (avis de passage). Date d'effet de la lettre : "
            f"{date_fr(presented)}. Fin du délai de paiement : {date_fr(deadline)}.") in text
    assert "Présenté, avisé" in text
    case_text = text_of(client.get(f"/app/cases/{case['id']}").text)
    assert "Mise en demeure" in case_text and date_fr(deadline) in case_text     # stage and deadline follow


def test_event_form_errors_are_in_french_next_to_the_fields(app, container, tenant):
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"])
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get(f"/app/mailings/{mailing['id']}").text)
    resp = client.post(f"/app/mailings/{mailing['id']}/events", data={"csrf_token": token, "type": "", "date": ""})
    assert resp.status_code == 422
    assert 'id="type-erreur">Choisissez l&#39;événement constaté.' in resp.text
    assert "Indiquez la date de l&#39;événement" in resp.text
    tomorrow = (paris_today() + dt.timedelta(days=2)).isoformat()
    resp = client.post(f"/app/mailings/{mailing['id']}/events",
                       data={"csrf_token": token, "type": "delivered", "date": tomorrow})
    assert resp.status_code == 422 and 'id="date-erreur">La date ne peut pas être dans le futur.' in resp.text
    assert 'value="delivered" selected' in resp.text                        # what was typed is kept


def test_uploading_the_scanned_receipt(app, container, tenant):
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], events=(("deposited", _ago(6)),))
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get(f"/app/mailings/{mailing['id']}").text)
    bad = client.post(f"/app/mailings/{mailing['id']}/receipt-scan", content_type="multipart/form-data",
                      data={"csrf_token": token, "scan": (io.BytesIO(b"hello"), "ar.txt")})
    assert bad.status_code == 422 and "Format non accepté : envoyez un PDF, un PNG ou un JPEG." in bad.text
    empty = client.post(f"/app/mailings/{mailing['id']}/receipt-scan", content_type="multipart/form-data",
                        data={"csrf_token": token})
    assert empty.status_code == 422 and "Choisissez le fichier" in empty.text
    ok = client.post(f"/app/mailings/{mailing['id']}/receipt-scan", content_type="multipart/form-data",
                     data={"csrf_token": token, "scan": (io.BytesIO(PNG), "ar.png")})
    assert ok.status_code == 303
    assert "Avis de réception numérisé enregistré" in client.get(ok.location).text
    case_text = text_of(client.get(f"/app/cases/{case['id']}").text)
    assert "Avis de réception LRAR" in case_text and "Avis de réception numérisé" in case_text


def test_another_tenants_mailing_is_not_found(app, container, tenant, other_tenant):
    theirs = make_case(container, other_tenant.id)
    mailing = make_mailing(container, other_tenant.id, theirs["id"])
    client = signed_in(app, container, tenant.id, "clerk")
    assert client.get(f"/app/mailings/{mailing['id']}").status_code == 404
    token = csrf_of(client.get("/app/mailings").text)
    resp = client.post(f"/app/mailings/{mailing['id']}/events",
                       data={"csrf_token": token, "type": "delivered", "date": paris_today().isoformat()})
    assert resp.status_code == 404


def test_lawyer_sees_the_letter_but_cannot_record(app, container, tenant):
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"])
    client = signed_in(app, container, tenant.id, "lawyer")
    page = client.get(f"/app/mailings/{mailing['id']}")
    assert page.status_code == 200 and "Enregistrer l&#39;événement" not in page.text
    resp = client.post(f"/app/mailings/{mailing['id']}/events",
                       data={"csrf_token": csrf_of(page.text), "type": "delivered", "date": "2026-01-01"})
    assert resp.status_code == 403


def test_csv_import_previews_then_imports_and_reports_rejected_lines(app, container, tenant):
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], serial=21, events=(("deposited", _ago(8)),))
    day = (paris_today() - dt.timedelta(days=3)).strftime("%d/%m/%Y")
    csv_text = (f"tracking_number;event;date\n{tracking_number(21)};avisé;{day}\n"
                f"{tracking_number(22)};distribué;{day}\nRA123;distribué;{day}\n{tracking_number(21)};???;hier\n")
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get("/app/mailings/import").text)
    preview = client.post("/app/mailings/import", content_type="multipart/form-data", data={
        "csrf_token": token, "action": "preview", "file": (io.BytesIO(csv_text.encode("cp1252")), "suivi.csv")})
    assert preview.status_code == 200
    text = text_of(preview.text)
    assert "1 événement sera importé" in text.replace("\u00a0", " ") and "Rien n'est encore enregistré." in text
    assert "3 lignes sont rejetées" in text.replace("\u00a0", " ")           # 4 faults on 3 lines
    rejected = _rows(re.search(r'<table class="data rejected">.*?</table>', preview.text, re.S).group(0))
    assert len(rejected) == 3                                                # one row per line of the file
    assert rejected[0].startswith("3 N° de suivi : aucun envoi avec le numéro de suivi")
    assert rejected[1].startswith("4 N° de suivi : numéro de suivi invalide")
    assert rejected[2].startswith("5 Événement : événement inconnu") and "Date : date invalide" in rejected[2]
    from delivery import service
    with container.db.read() as conn:
        assert service.get_mailing(conn, tenant.id, mailing["id"])["status"] == "deposited"     # preview wrote nothing
    confirm = client.post("/app/mailings/import", data={
        "csrf_token": token, "action": "confirm",
        "csv_text": re.search(r'<textarea name="csv_text" hidden>(.*?)</textarea>', preview.text, re.S).group(1)
        .replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')})
    assert confirm.status_code == 200
    assert "Import terminé" in confirm.text and "1\u00a0événement importé" in text_of(confirm.text)
    assert "3\u00a0lignes rejetées" in text_of(confirm.text)
    with container.db.read() as conn:
        assert service.get_mailing(conn, tenant.id, mailing["id"])["status"] == "presented"


def test_csv_import_without_a_file_says_so(app, container, tenant):
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get("/app/mailings/import").text)
    resp = client.post("/app/mailings/import", data={"csrf_token": token, "action": "preview", "csv_text": " "})
    assert resp.status_code == 422 and "Choisissez un fichier CSV ou collez son contenu." in resp.text


def _freeze_paris(monkeypatch, moment: dt.datetime, service_moment: dt.datetime | None = None) -> None:
    """The clerk's clock (the page) and the service's clock, set to a given Paris instant."""
    import delivery.service
    import web.mailing_pages
    monkeypatch.setattr(web.mailing_pages, "paris_now", lambda: moment, raising=False)
    service_now = (service_moment or moment).astimezone(dt.timezone.utc)
    monkeypatch.setattr(delivery.service, "_now", lambda: service_now)


def _event_form(client, mailing_id: str) -> dict:
    page = client.get(f"/app/mailings/{mailing_id}")
    return {"csrf_token": csrf_of(page.text), "date": re.search(r'name="date" type="date" value="([^"]+)"',
                                                                page.text).group(1),
            "event_id": re.search(r'name="event_id" value="([^"]+)"', page.text).group(1), "time": ""}


def test_an_event_of_this_morning_is_recorded_without_a_time(app, container, tenant, monkeypatch):
    from delivery import service
    morning = dt.datetime.combine(paris_today(), dt.time(9, 15, 42), tzinfo=PARIS)
    _freeze_paris(monkeypatch, morning)
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], events=(("deposited", _ago(3)),))
    client = signed_in(app, container, tenant.id, "clerk")
    form = _event_form(client, mailing["id"])
    assert form["date"] == paris_today().isoformat()                     # the form offers today (Paris)
    resp = client.post(f"/app/mailings/{mailing['id']}/events", data={**form, "type": "first_presented"})
    assert resp.status_code == 303, text_of(resp.text)
    with container.db.read() as conn:
        events = service.get_mailing(conn, tenant.id, mailing["id"])["events"]
    presented = [dt.datetime.fromisoformat(e["at"]) for e in events if e["type"] == "first_presented"]
    assert presented == [morning.replace(second=0)]                      # now, to the minute


def test_a_time_later_today_is_refused_in_french(app, container, tenant, monkeypatch):
    _freeze_paris(monkeypatch, dt.datetime.combine(paris_today(), dt.time(9, 15), tzinfo=PARIS))
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], events=(("deposited", _ago(3)),))
    client = signed_in(app, container, tenant.id, "clerk")
    resp = client.post(f"/app/mailings/{mailing['id']}/events",
                       data={**_event_form(client, mailing["id"]), "type": "delivered", "time": "10:30"})
    assert resp.status_code == 422
    assert 'id="time-erreur">L&#39;heure ne peut pas être dans le futur : il est 09:15 à Paris.' in resp.text


def test_the_services_own_refusal_is_shown_in_french(app, container, tenant, monkeypatch):
    """The page's clock runs ahead of the service's: the service refuses with its English message."""
    paris = dt.datetime.combine(paris_today(), dt.time(9, 15), tzinfo=PARIS)
    _freeze_paris(monkeypatch, paris, service_moment=paris - dt.timedelta(hours=1))
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], events=(("deposited", _ago(3)),))
    client = signed_in(app, container, tenant.id, "clerk")
    resp = client.post(f"/app/mailings/{mailing['id']}/events",
                       data={**_event_form(client, mailing["id"]), "type": "delivered"})
    assert resp.status_code == 422
    assert "in the future" not in resp.text and " at " not in text_of(resp.text)
    assert 'id="date-erreur">Date ou heure refusée : elle ne peut pas être dans le futur' in resp.text


def test_a_date_typed_jj_mm_aaaa_is_accepted_and_a_bad_one_says_the_true_format(app, container, tenant):
    from law import payment_deadline
    from web.formatting import date_fr
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], events=(("deposited", _ago(6)),))
    client = signed_in(app, container, tenant.id, "clerk")
    form = _event_form(client, mailing["id"])
    bad = client.post(f"/app/mailings/{mailing['id']}/events",
                      data={**form, "type": "first_presented", "date": "31/02/2026"})
    assert bad.status_code == 422
    assert 'id="date-erreur">Date invalide : utilisez le format JJ/MM/AAAA (par exemple 05/03/2026).' in bad.text
    presented = paris_today() - dt.timedelta(days=4)
    ok = client.post(f"/app/mailings/{mailing['id']}/events",
                     data={**form, "type": "first_presented", "date": presented.strftime("%d/%m/%Y")})
    assert ok.status_code == 303
    text = text_of(client.get(ok.location).text)
    assert f"Date d'effet de la lettre : {date_fr(presented)}" in text
    assert f"Fin du délai de paiement : {date_fr(payment_deadline(presented, 15, '67000'))}" in text


def test_the_scanned_receipt_is_listed_and_downloadable_by_its_tenant_only(app, container, tenant, other_tenant):
    import hashlib
    case = make_case(container, tenant.id)
    mailing = make_mailing(container, tenant.id, case["id"], events=(("deposited", _ago(6)),))
    client = signed_in(app, container, tenant.id, "clerk")
    before = client.get(f"/app/mailings/{mailing['id']}")
    assert re.search(r'id="etat-ar">En attente<', before.text) and 'id="avis-recus"' not in before.text
    ok = client.post(f"/app/mailings/{mailing['id']}/receipt-scan", content_type="multipart/form-data",
                     data={"csrf_token": csrf_of(before.text), "scan": (io.BytesIO(PNG), "avis-recu.png")})
    assert ok.status_code == 303
    page = client.get(f"/app/mailings/{mailing['id']}").text
    assert re.search(r'id="etat-ar">Reçu<', page)
    assert "Avis de réception reçu : 1\u00a0fichier versé au dossier." in text_of(page)
    links = re.findall(r'<a href="(/app/evidence/[0-9a-f-]{36})" class="scan-link">avis-recu.png</a>', page)
    assert len(links) == 1
    download = client.get(links[0])
    assert download.status_code == 200 and download.data == PNG and download.mimetype == "image/png"
    assert download.headers["X-Content-SHA256"] == hashlib.sha256(PNG).hexdigest()
    assert download.headers["Content-Disposition"].startswith('attachment; filename="avis-recu.png"')
    case_page = client.get(f"/app/cases/{case['id']}").text
    assert links[0] in case_page and "AR reçu" in text_of(case_page)       # the pièce and the letter say so
    lawyer = signed_in(app, container, tenant.id, "lawyer")                 # lawyers see the scans too
    assert links[0] in lawyer.get(f"/app/mailings/{mailing['id']}").text
    stranger = signed_in(app, container, other_tenant.id, "clerk")
    assert stranger.get(links[0]).status_code == 404
    assert stranger.get("/app/evidence/00000000-0000-0000-0000-000000000000").status_code == 404


def test_a_csv_whose_header_is_not_recognised_says_so_next_to_the_file_field(app, container, tenant):
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get("/app/mailings/import").text)
    day = (paris_today() - dt.timedelta(days=2)).strftime("%d/%m/%Y")
    resp = client.post("/app/mailings/import", content_type="multipart/form-data", data={
        "csrf_token": token, "action": "preview",
        "file": (io.BytesIO(f"ref;type;jour\n{tracking_number(41)};distribué;{day}\n".encode()), "x.csv")})
    assert resp.status_code == 422
    error = re.search(r'<p class="field-error" id="file-erreur">(.*?)</p>', resp.text, re.S)
    assert error and 'aria-describedby="file-erreur"' in resp.text
    message = text_of(error.group(1))
    assert message.startswith("En-tête du fichier non reconnu (colonne manquante : tracking_number")
    assert "tracking_number, event et date" in message
    french = client.post("/app/mailings/import", data={
        "csrf_token": token, "action": "preview",
        "csv_text": f"Numéro de suivi;Événement;Date\n{tracking_number(41)};distribué;{day}\n"})
    # The French column names are understood: a preview, not a header error.
    assert french.status_code == 200 and 'id="rapport"' in french.text and 'id="file-erreur"' not in french.text
