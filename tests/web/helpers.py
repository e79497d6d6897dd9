"""Helpers for the page tests: users, cases, signing in through the real form."""
from __future__ import annotations

import copy
import re
import uuid

from tests.conftest import load_fixture

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(container, tenant_id: str, role: str = "lawyer", *, email: str | None = None,
              password: str = PASSWORD, name: str | None = None) -> str:
    from accounts.users import create_user
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@cabinet.example"
    with container.db.write() as conn:
        create_user(conn, tenant_id, email, password, role, name)
    return email


def make_case(container, tenant_id: str, *, reference: str | None = None, debtor: str | None = None,
              fixture: str = "case-b2b.json") -> dict:
    from casefiles.services import create_case
    data = copy.deepcopy(load_fixture(fixture))
    data["reference"] = reference or f"{data['reference']}-{uuid.uuid4().hex[:6]}"
    if debtor:
        data["debtor"]["name"] = debtor
    with container.db.write() as conn:
        return create_case(conn, tenant_id, "test", data)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def login(client, email: str, password: str = PASSWORD):
    page = client.get("/app/login")
    return client.post("/app/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)})


def signed_in(app, container, tenant_id: str, role: str = "lawyer"):
    client = app.test_client()
    email = make_user(container, tenant_id, role)
    resp = login(client, email)
    assert resp.status_code == 303, resp.text
    return client


def text_of(html: str) -> str:
    """The visible text, whitespace collapsed, for assertions that ignore markup."""
    import html as html_mod
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", html_mod.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def tracking_number(serial: int) -> str:
    from delivery import s10_check_digit
    digits = f"{serial:08d}"
    return f"RA{digits}{s10_check_digit(digits)}FR"


def make_mailing(container, tenant_id: str, case_id: str, *, serial: int | None = None,
                 events: tuple[tuple[str, object], ...] = (), payment_days: int = 15) -> dict:
    """A posted mise en demeure: a ready letter row (no LibreOffice needed) and its mailing."""
    import datetime as dt

    from sqlalchemy import insert

    from delivery import service
    from persistence.tables import documents
    now = dt.datetime.now(dt.timezone.utc)
    doc_id = str(uuid.uuid4())
    pdf = letter_pdf("Mise en demeure (lettre de test)")
    key = f"tenants/{tenant_id}/cases/{case_id}/documents/{doc_id}/mise_en_demeure.pdf"
    stored = container.archive.put(key, pdf, "application/pdf")
    with container.db.write() as conn:
        conn.execute(insert(documents).values(
            id=doc_id, tenant_id=tenant_id, case_id=case_id, kind="mise_en_demeure", status="ready",
            params={"as_of": now.date().isoformat(), "payment_days": payment_days}, sha256=stored.sha256,
            pdf_key=key, pdf_version=stored.version_id, warnings=[], created_at=now, updated_at=now))
        mailing = service.create_mailing(conn, tenant_id, "test", case_id, {
            "document_id": doc_id, "service": "lrar", "level": "R1",
            "tracking_number": tracking_number(serial if serial is not None else uuid.uuid4().int % 10**8)})
        for kind, at in events:
            mailing = service.record_event(conn, tenant_id, "test", mailing["id"], type=kind, at=at)
    return mailing


def letter_pdf(text: str) -> bytes:
    """A one-page PDF standing in for a generated letter."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.drawString(72, 760, text)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
