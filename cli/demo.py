"""`recouvre demo`: the sample case through the whole pipeline, as collection software would drive it.

Everything goes through the HTTP API (in-process) and the job runner, on the configured data
directory (default ./var), so `recouvre serve` shows the same case and logins afterwards.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path

import click

__all__ = ["run_demo"]

DEMO_TENANT = "demo"
DEMO_USERS = (("avocate@demo.recouvre.test", "lawyer", "Maître Avocate"),
              ("clerc@demo.recouvre.test", "clerk", "Clerc Demo"))
DEMO_PASSWORD = "demo-recouvre-2026"
KINDS = ("relance", "mise_en_demeure", "decompte", "requete_injonction_de_payer", "bordereau_pieces",
         "dossier_injonction_de_payer")


def _invoice_pdf(number: str, amount: str) -> bytes:
    """A stand-in scan of the creditor's invoice, so the dossier has a real pièce to stamp."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas
    fonts = Path("/usr/share/fonts/truetype/liberation2")
    for name, file in (("Sans", "LiberationSans-Regular.ttf"), ("Sans-Bold", "LiberationSans-Bold.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(fonts / file)))   # embedded: keeps the dossier PDF/A
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, initialFontName="Sans")
    c.setFont("Sans-Bold", 16)
    c.drawString(72, 760, f"FACTURE {number}")
    c.setFont("Sans", 11)
    for i, line in enumerate(["Atelier Lumière SARL — 14 rue des Tanneurs, 69002 Lyon",
                              "Client : Boulangerie Dupont & Fils SAS, 67000 Strasbourg",
                              "Éclairage vitrine — acompte 1", f"Montant TTC : {amount} EUR",
                              "(document d'exemple généré par la démonstration)"]):
        c.drawString(72, 720 - 18 * i, line)
    c.save()
    return buf.getvalue()


def _receipt_scan(tracking: str) -> bytes:
    """A stand-in scan of the avis de réception returned by La Poste, so the dossier attaches it."""
    from PIL import Image, ImageDraw, ImageFont
    img = Image.new("RGB", (1240, 620), (246, 244, 236))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", 34)
    draw.rectangle([30, 30, 1210, 590], outline=(40, 40, 40), width=4)
    for i, line in enumerate(["AVIS DE RÉCEPTION", f"Lettre recommandée n° {tracking}",
                              "Présentée le 05/03/2026 — pli avisé et non réclamé",
                              "(scan d'exemple généré par la démonstration)"]):
        draw.text((70, 80 + 110 * i), line, fill=(20, 20, 20), font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _ok(resp, what: str, status: int = 200):
    if resp.status_code != status:
        raise click.ClickException(f"{what}: HTTP {resp.status_code} {resp.get_data(as_text=True)[:500]}")
    return resp


def run_demo(out_dir: Path) -> int:
    from accounts import create_api_key, get_or_create_tenant
    from accounts.users import UserError, create_user
    from app import create_app
    from bootstrap import build_container
    from cli.main import _settings
    from jobs import execute

    out_dir.mkdir(parents=True, exist_ok=True)
    container = build_container(_settings())
    container.db.upgrade()
    app = create_app(container=container)
    with container.db.write() as conn:
        tenant_id = get_or_create_tenant(conn, DEMO_TENANT)
        _, key = create_api_key(conn, tenant_id, "integrator", "demo")
        for email, role, name in DEMO_USERS:
            try:
                create_user(conn, tenant_id, email, DEMO_PASSWORD, role, name)
            except UserError:
                pass   # created by an earlier demo run
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    written: list[tuple[str, Path]] = []

    def save(name: str, data: bytes, label: str) -> None:
        path = out_dir / name
        path.write_bytes(data)
        written.append((label, path))

    case_in = json.loads((Path(__file__).with_name("demo_case.json")).read_text())
    case_in["reference"] = f"DEMO-{dt.datetime.now():%Y%m%d-%H%M%S}"
    case = _ok(client.post("/v1/cases", json=case_in, headers=auth), "create case", 201).json
    click.echo(f"case {case['reference']} created: {case['id']}")
    _ok(client.post(f"/v1/cases/{case['id']}/evidence", headers=auth, content_type="multipart/form-data", data={
        "kind": "invoice", "title": "Facture F-2025-0412", "date": "2025-10-01",
        "file": (io.BytesIO(_invoice_pdf("F-2025-0412", "4 800,00")), "F-2025-0412.pdf")}), "upload invoice", 201)

    claim = _ok(client.get(f"/v1/cases/{case['id']}/claim?as_of=2026-03-01", headers=auth), "claim").json
    save("claim-2026-03-01.json", json.dumps(claim, ensure_ascii=False, indent=2).encode(), "décompte (JSON)")
    click.echo(f"claim as of 2026-03-01: {claim['total_outstanding']} EUR ({claim['regime']} regime)")

    def generate(kind: str, as_of: str) -> dict:
        started = time.monotonic()
        doc = _ok(client.post(f"/v1/cases/{case['id']}/documents", json={"kind": kind, "as_of": as_of},
                              headers=auth), f"request {kind}", 202).json
        with container.db.read() as conn:
            from documents import get_document
            job_id = get_document(conn, tenant_id, doc["id"])["job_id"]
        execute(container, job_id)
        doc = _ok(client.get(f"/v1/documents/{doc['id']}", headers=auth), kind).json
        if doc["status"] != "ready":
            raise click.ClickException(f"{kind} failed: {doc.get('error')}")
        pdf = _ok(client.get(f"/v1/documents/{doc['id']}/pdf", headers=auth), f"{kind} pdf").data
        save(f"{kind}.pdf", pdf, f"{kind} ({time.monotonic() - started:.1f} s)")
        if doc["has_zip"]:
            save(f"{kind}.zip", _ok(client.get(f"/v1/documents/{doc['id']}/zip", headers=auth), "zip").data,
                 f"{kind} (ZIP des pièces)")
        return doc

    docs = {}
    for kind in KINDS[:2]:
        docs[kind] = generate(kind, "2026-03-01")
    check = _ok(client.post("/v1/signatures/validate", data=(out_dir / "mise_en_demeure.pdf").read_bytes(),
                            headers={**auth, "Content-Type": "application/pdf"}), "validate").json
    click.echo(f"mise en demeure signature: intact={check['intact']} valid={check['valid']} "
               f"trusted={check['trusted']} level={check['level']}")
    for problem in check["problems"]:
        click.echo(f"  signature note: {problem}")

    mailing = _ok(client.post(f"/v1/cases/{case['id']}/mailings", headers=auth, json={
        "document_id": docs["mise_en_demeure"]["id"], "service": "lrar", "level": "R1",
        "tracking_number": "RA473124829FR"}), "mailing", 201).json
    save("mise_en_demeure-envoi.pdf", _ok(client.get(f"/v1/mailings/{mailing['id']}/pdf", headers=auth),
                                           "packet").data, "pli recommandé (bordereau + lettre)")
    for ev_type, at in (("deposited", "2026-03-02T16:00:00+01:00"), ("first_presented", "2026-03-05T10:12:00+01:00"),
                        ("unclaimed", "2026-03-20T09:00:00+01:00")):
        mailing = _ok(client.post(f"/v1/mailings/{mailing['id']}/events", headers=auth,
                                  json={"type": ev_type, "at": at}), ev_type).json
    click.echo(f"LRAR {mailing['tracking_number']}: {mailing['status']}, effective {mailing['effective_date']}, "
               f"payment deadline {mailing['deadline']} (Strasbourg: Alsace-Moselle holidays)")
    _ok(client.post(f"/v1/mailings/{mailing['id']}/receipt", headers=auth, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(_receipt_scan(mailing["tracking_number"])), "avis-reception.png")}),
        "receipt scan", 201)

    for kind in KINDS[2:]:
        docs[kind] = generate(kind, "2026-04-15")
    for w in docs["dossier_injonction_de_payer"]["warnings"]:
        click.echo(f"  dossier warning: {w}")
    proof = client.get(f"/v1/cases/{case['id']}/proof", headers=auth)
    if proof.status_code == 200:
        save("proof.zip", proof.data, "preuve vérifiable hors ligne (recouvre proof verify)")
    ledger = _ok(client.get(f"/v1/cases/{case['id']}/events/verify", headers=auth), "verify").json
    click.echo(f"evidence ledger: {ledger['length']} events, valid={ledger['valid']}")

    click.echo("\nfiles written:")
    for label, path in written:
        click.echo(f"  {path}  — {label}")
    click.echo("\nPages: run `make run`, then open http://127.0.0.1:8000/app/ and sign in as")
    for email, role, _ in DEMO_USERS:
        click.echo(f"  {email} / {DEMO_PASSWORD}  ({role})")
    click.echo(f"API: curl -H 'Authorization: Bearer {key}' http://127.0.0.1:8000/v1/cases/{case['id']}")
    container.close()
    return 0
