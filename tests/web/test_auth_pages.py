"""Signing in and out, session cookies, CSRF, access control — on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from .helpers import PASSWORD, csrf_of, login, make_case, make_user, signed_in, text_of


def _cookie_header(resp) -> str:
    headers = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(("recouvre_session=", "__Host-recouvre="))]
    assert headers, resp.headers
    return headers[-1]


def test_root_and_app_redirect_to_the_sign_in_page(app):
    client = app.test_client()
    assert client.get("/").location == "/app/"
    assert client.get("/app/").location.endswith("/app/login")
    resp = client.get("/app/cases")
    assert resp.status_code == 302 and "/app/login?next=/app/cases" in resp.location


def test_login_success_lands_on_the_role_home(app, container, tenant):
    for role, home in (("lawyer", "/app/cases"), ("clerk", "/app/mailings")):
        client = app.test_client()
        resp = login(client, make_user(container, tenant.id, role))
        assert resp.status_code == 303 and resp.location == home
        assert client.get(home).status_code == 200


def test_email_is_case_insensitive_and_next_is_honoured(app, container, tenant):
    client = app.test_client()
    email = make_user(container, tenant.id)
    page = client.get("/app/login?next=/app/mailings")
    assert 'name="next" value="/app/mailings"' in page.text
    resp = client.post("/app/login", data={"email": email.upper(), "password": PASSWORD, "next": "/app/mailings",
                                           "csrf_token": csrf_of(page.text)})
    assert resp.status_code == 303 and resp.location == "/app/mailings"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/app/", "/v1/cases", "/app\\..\\x"])
def test_next_cannot_leave_the_pages(app, container, tenant, target):
    client = app.test_client()
    email = make_user(container, tenant.id)
    page = client.get("/app/login")
    resp = client.post("/app/login", data={"email": email, "password": PASSWORD, "next": target,
                                           "csrf_token": csrf_of(page.text)})
    assert resp.status_code == 303 and resp.location == "/app/cases"


def test_login_failure_says_why_in_french_and_opens_no_session(app, container, tenant):
    client = app.test_client()
    email = make_user(container, tenant.id)
    for address, password in ((email, "wrong password!"), ("nobody@cabinet.example", PASSWORD)):
        resp = login(client, address, password)
        assert resp.status_code == 422
        assert "Adresse e-mail ou mot de passe incorrect." in text_of(resp.text)
        assert f'value="{address}"' in resp.text          # the address is kept, the password is not
        assert client.get("/app/cases").status_code == 302


def test_empty_fields_are_flagged_next_to_each_field(app):
    client = app.test_client()
    page = client.get("/app/login")
    resp = client.post("/app/login", data={"email": "", "password": "", "csrf_token": csrf_of(page.text)})
    assert resp.status_code == 422
    assert 'id="email-erreur">Saisissez votre adresse e-mail.' in resp.text
    assert 'id="password-erreur">Saisissez votre mot de passe.' in resp.text


def test_disabled_account_cannot_sign_in(app, container, tenant):
    from sqlalchemy import update

    from persistence.tables import users
    email = make_user(container, tenant.id)
    with container.db.write() as conn:
        conn.execute(update(users).where(users.c.email == email).values(disabled=True))
    assert login(app.test_client(), email).status_code == 422


def test_session_cookie_is_httponly_and_samesite_lax(app, container, tenant):
    client = app.test_client()
    resp = login(client, make_user(container, tenant.id))
    cookie = _cookie_header(resp)
    assert cookie.startswith("recouvre_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie          # RECOUVRE_COOKIE_SECURE defaults to 0 for plain-HTTP local use


def test_session_cookie_is_secure_when_configured(settings, tenant):
    import dataclasses

    from app import create_app
    from bootstrap import build_container
    secure = build_container(dataclasses.replace(settings, cookie_secure=True))
    try:
        app = create_app(container=secure)
        client = app.test_client()
        email = make_user(secure, tenant.id)
        resp = login(client, email)
        cookie = _cookie_header(resp)
        assert cookie.startswith("__Host-recouvre=") and "Secure" in cookie and "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie and "Domain" not in cookie
    finally:
        secure.close()


def test_login_starts_a_new_session(app, container, tenant):
    client = app.test_client()
    email = make_user(container, tenant.id)
    page = client.get("/app/login")
    before = csrf_of(page.text)
    resp = client.post("/app/login", data={"email": email, "password": PASSWORD, "csrf_token": before})
    assert resp.status_code == 303
    after = csrf_of(client.get("/app/cases").text)
    assert after != before                 # a token (or cookie) planted before login is worthless after it


@pytest.mark.parametrize("url", ["/app/login", "/app/logout", "/app/cases/x/documents", "/app/mailings/x/events",
                                 "/app/mailings/import", "/app/nowhere"])
def test_a_form_without_its_token_is_refused(app, container, tenant, url):
    client = signed_in(app, container, tenant.id)
    resp = client.post(url, data={"email": "a@b.c", "password": "x", "kind": "decompte"})
    assert resp.status_code == 400
    assert "Formulaire refusé" in resp.text and "jeton de sécurité" in resp.text
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/app/cases").status_code == 200     # still signed in: nothing happened


def test_token_of_another_session_is_refused(app, container, tenant):
    one = signed_in(app, container, tenant.id)
    other = signed_in(app, container, tenant.id)
    token = csrf_of(other.get("/app/cases").text)
    assert one.post("/app/logout", data={"csrf_token": token}).status_code == 400


def test_logout_is_a_post_that_ends_the_session(app, container, tenant):
    client = signed_in(app, container, tenant.id)
    page = client.get("/app/logout")            # GET only asks for confirmation
    assert page.status_code == 200 and client.get("/app/cases").status_code == 200
    resp = client.post("/app/logout", data={"csrf_token": csrf_of(page.text)})
    assert resp.status_code == 303 and resp.location == "/app/login"
    assert "Vous êtes déconnecté(e)." in client.get("/app/login").text
    assert client.get("/app/cases").status_code == 302


def test_changing_the_password_ends_existing_sessions(app, container, tenant):
    from sqlalchemy import select

    from accounts.users import set_password
    from persistence.tables import users
    email = make_user(container, tenant.id)
    client = app.test_client()
    login(client, email)
    assert client.get("/app/cases").status_code == 200
    with container.db.write() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
        set_password(conn, uid, "another long passphrase")
    assert client.get("/app/cases").status_code == 302


def test_another_tenants_case_is_not_found(app, container, tenant, other_tenant):
    theirs = make_case(container, other_tenant.id, debtor="Secret Débiteur SA")
    mine = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id)
    resp = client.get(f"/app/cases/{theirs['id']}")
    assert resp.status_code == 404
    assert "Page introuvable" in resp.text and "Secret" not in resp.text
    assert client.get(f"/app/cases/{mine['id']}").status_code == 200
    listing = client.get("/app/cases?q=secret")
    assert "Secret" not in listing.text.replace("secret", "")
    assert theirs["reference"] not in client.get("/app/cases").text


def test_clerk_may_read_cases_but_not_generate_documents(app, container, tenant):
    case = make_case(container, tenant.id)
    client = signed_in(app, container, tenant.id, "clerk")
    page = client.get(f"/app/cases/{case['id']}")
    assert page.status_code == 200 and "generer-dossier" not in page.text
    resp = client.post(f"/app/cases/{case['id']}/documents",
                       data={"kind": "decompte", "csrf_token": csrf_of(page.text)})
    assert resp.status_code == 403 and "Accès refusé" in resp.text


def test_lawyer_may_not_import_tracking_events(app, container, tenant):
    client = signed_in(app, container, tenant.id, "lawyer")
    assert client.get("/app/mailings/import").status_code == 403


def test_pages_carry_protective_headers(app, container, tenant):
    client = signed_in(app, container, tenant.id)
    resp = client.get("/app/cases")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_is_a_french_404(app, container, tenant):
    client = signed_in(app, container, tenant.id)
    resp = client.get("/app/nowhere/at/all")
    assert resp.status_code == 404 and "Page introuvable" in resp.text
    assert app.test_client().get("/v1/cases/nope").headers["Content-Type"].startswith("application/problem+json")


def test_api_is_untouched_by_the_pages(app, tenant):
    resp = tenant.lawyer.get("/v1/cases")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers


def test_repeated_failures_are_throttled(app, container, tenant):
    email = make_user(container, tenant.id)
    client = app.test_client()
    for _ in range(10):
        assert login(client, email, "wrong password!").status_code == 422
    blocked = login(client, email, PASSWORD)                     # even the right password waits
    assert blocked.status_code == 429 and "Trop de tentatives de connexion" in text_of(blocked.text)
    throttle = app.extensions["recouvre_login_throttle"]
    throttle.window = 0                                          # the quarter of an hour has passed
    assert login(client, email, PASSWORD).status_code == 303


def test_an_oversized_upload_gets_a_french_page(app, container, tenant):
    import io
    client = signed_in(app, container, tenant.id, "clerk")
    token = csrf_of(client.get("/app/mailings").text)
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    resp = client.post("/app/mailings/x/receipt-scan", content_type="multipart/form-data",
                       data={"csrf_token": token, "scan": (io.BytesIO(b"\0" * too_big), "ar.pdf")})
    assert resp.status_code == 413 and "Fichier trop volumineux" in resp.text


def _session_cookie(client, app) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def test_a_cookie_copied_before_logout_is_refused_afterwards(app, container, tenant):
    client = signed_in(app, container, tenant.id)
    copied = _session_cookie(client, app)
    token = csrf_of(client.get("/app/logout").text)
    assert client.post("/app/logout", data={"csrf_token": token}).status_code == 303
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], copied)
    resp = thief.get("/app/cases")
    assert resp.status_code == 302 and "/app/login" in resp.location          # the server revoked the session


def test_the_server_keeps_only_a_digest_of_the_session_token(app, container, tenant):
    import hashlib

    from sqlalchemy import select

    from persistence.tables import web_sessions
    client = signed_in(app, container, tenant.id)
    data = app.session_interface.get_signing_serializer(app).loads(_session_cookie(client, app))
    assert set(data) >= {"sid", "csrf"} and "uid" not in data
    with container.db.read() as conn:
        row = conn.execute(select(web_sessions).where(
            web_sessions.c.id == hashlib.sha256(data["sid"].encode()).hexdigest())).mappings().one()
        assert conn.execute(select(web_sessions).where(web_sessions.c.id == data["sid"])).first() is None
    assert row["revoked_at"] is None and row["expires_at"] - row["created_at"] == dt.timedelta(hours=12)


def _clock(monkeypatch, start: dt.datetime):
    """Moves the pages' clock: the session checks read web.security._now."""
    import web.security
    state = {"now": start}
    monkeypatch.setattr(web.security, "_now", lambda: state["now"], raising=False)

    def move(**delta):
        state["now"] = state["now"] + dt.timedelta(**delta)
    return move


def test_a_session_ends_after_two_idle_hours(app, container, tenant, monkeypatch):
    move = _clock(monkeypatch, dt.datetime.now(dt.timezone.utc))
    client = signed_in(app, container, tenant.id)
    move(hours=1, minutes=59)
    assert client.get("/app/cases").status_code == 200            # activity refreshes last_seen_at
    move(hours=1, minutes=59)
    assert client.get("/app/cases").status_code == 200
    move(hours=2, minutes=1)
    resp = client.get("/app/cases")
    assert resp.status_code == 302 and "/app/login" in resp.location
    move(seconds=1)
    assert client.get("/app/cases").status_code == 302             # the cookie was cleared, the row revoked


def test_a_session_ends_twelve_hours_after_sign_in_however_active(app, container, tenant, monkeypatch):
    move = _clock(monkeypatch, dt.datetime.now(dt.timezone.utc))
    client = signed_in(app, container, tenant.id)
    for _ in range(7):                                             # 11 h 55 of steady work
        move(hours=1, minutes=42)
        assert client.get("/app/cases").status_code == 200
    move(minutes=6)
    resp = client.get("/app/cases")
    assert resp.status_code == 302 and "/app/login" in resp.location


def test_a_password_change_revokes_every_session_of_the_user(app, container, tenant):
    from sqlalchemy import select

    from accounts.users import set_password
    from persistence.tables import users, web_sessions
    email = make_user(container, tenant.id)
    first, second = app.test_client(), app.test_client()
    login(first, email)
    login(second, email)
    with container.db.write() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
        set_password(conn, uid, "another long passphrase")
    assert first.get("/app/cases").status_code == 302 and second.get("/app/cases").status_code == 302
    with container.db.read() as conn:
        ended = [r.revoked_at for r in conn.execute(select(web_sessions.c.revoked_at)
                                                    .where(web_sessions.c.user_id == uid))]
    assert len(ended) == 2 and None not in ended


@pytest.mark.parametrize("change", ["password", "disabled"])
def test_a_new_password_or_a_disabled_account_revokes_the_sessions_at_once(app, container, tenant, change):
    from sqlalchemy import select

    from accounts.users import set_disabled, set_password
    from persistence.tables import users, web_sessions
    email = make_user(container, tenant.id)
    login(app.test_client(), email)
    with container.db.write() as conn:
        uid = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
        if change == "password":
            set_password(conn, uid, "another long passphrase")
        else:
            set_disabled(conn, uid, True)
    # No request has come since: the rows themselves are revoked, not only refused on next use.
    with container.db.read() as conn:
        ended = [r.revoked_at for r in conn.execute(select(web_sessions.c.revoked_at)
                                                    .where(web_sessions.c.user_id == uid))]
    assert len(ended) == 1 and None not in ended


def test_cookie_is_secure_and_hsts_sent_when_the_request_came_over_https(app, container, tenant):
    email = make_user(container, tenant.id)
    over_https = app.test_client()
    page = over_https.get("/app/login", base_url="https://recouvre.example")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    resp = over_https.post("/app/login", base_url="https://recouvre.example",
                           data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert resp.status_code == 303 and "Secure" in _cookie_header(resp)
    plain = app.test_client()
    page = plain.get("/app/login", headers={"X-Forwarded-Proto": "https"})   # a client's claim is not trusted
    assert "Strict-Transport-Security" not in page.headers
    resp = plain.post("/app/login", headers={"X-Forwarded-Proto": "https"},
                      data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert resp.status_code == 303 and "Secure" not in _cookie_header(resp)


def test_a_password_rehash_at_sign_in_keeps_the_other_devices_signed_in(app, container, tenant, monkeypatch):
    """Same password, new hash (stronger parameters): nothing to end. The cookie carries no
    password-derived version any more; a new password revokes the rows instead."""
    from sqlalchemy import select

    import accounts.users
    from persistence.tables import users
    email = make_user(container, tenant.id)
    laptop, phone = app.test_client(), app.test_client()
    assert login(laptop, email).status_code == 303
    with container.db.read() as conn:
        before = conn.execute(select(users.c.password_hash).where(users.c.email == email)).scalar()
    monkeypatch.setattr(accounts.users, "needs_rehash", lambda _hash: True)
    assert login(phone, email).status_code == 303
    with container.db.read() as conn:
        assert conn.execute(select(users.c.password_hash).where(users.c.email == email)).scalar() != before
    assert laptop.get("/app/cases").status_code == 200 and phone.get("/app/cases").status_code == 200
    data = app.session_interface.get_signing_serializer(app).loads(_session_cookie(laptop, app))
    assert set(data) - {"_permanent"} == {"sid", "csrf"}


def test_a_page_reads_its_session_in_one_query_and_touches_it_at_most_once_a_minute(app, container, tenant,
                                                                                    monkeypatch):
    import hashlib
    import re

    from sqlalchemy import event, select

    from persistence.tables import web_sessions
    start = dt.datetime.now(dt.timezone.utc)
    move = _clock(monkeypatch, start)
    client = signed_in(app, container, tenant.id)
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if re.search(r"\b(web_sessions|users)\b", statement):
            seen.append(statement.split()[0].upper())
    event.listen(container.db.engine, "before_cursor_execute", record)
    try:
        move(seconds=30)
        assert client.get("/app/cases").status_code == 200
        assert seen == ["SELECT"]                                   # sessions and users joined, nothing written
        seen.clear()
        move(seconds=31)
        assert client.get("/app/cases").status_code == 200
        assert seen == ["SELECT", "UPDATE"]                         # a minute on: last_seen_at moves
    finally:
        event.remove(container.db.engine, "before_cursor_execute", record)
    token = app.session_interface.get_signing_serializer(app).loads(_session_cookie(client, app))["sid"]
    with container.db.read() as conn:
        last_seen = conn.execute(select(web_sessions.c.last_seen_at).where(
            web_sessions.c.id == hashlib.sha256(token.encode()).hexdigest())).scalar_one()
    assert last_seen == start + dt.timedelta(seconds=61)
    move(hours=2, seconds=1)                                        # the idle limit counts from that touch
    assert client.get("/app/cases").status_code == 302
