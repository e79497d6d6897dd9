"""Building a case with history through the API, and rewriting proof ZIPs the way a forger would."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable

from casefiles import services
from casefiles.ledger import GENESIS, digest
from tests.conftest import with_reference
from tests.signing.signing_helpers import make_letter

HASHED = ("case_id", "seq", "type", "at", "actor", "payload_digest", "prev_hash")
INVOICE_PDF = make_letter()


def new_case(tenant, b2b_case) -> dict:
    r = tenant.integrator.post("/v1/cases", json=with_reference(b2b_case))
    assert r.status_code == 201, r.json
    return r.json


def upload_invoice(tenant, case_id: str) -> dict:
    r = tenant.integrator.post(f"/v1/cases/{case_id}/evidence", data={
        "kind": "invoice", "title": "Facture F-2025-0412", "file": (io.BytesIO(INVOICE_PDF), "facture.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    return r.json


def add_payment(tenant, case_id: str) -> None:
    r = tenant.integrator.post(f"/v1/cases/{case_id}/payments", json={"date": "2026-02-10", "amount": "100.00"})
    assert r.status_code == 201, r.json


def log_reminder(tenant, case_id: str) -> None:
    r = tenant.integrator.post(f"/v1/cases/{case_id}/reminders",
                               json={"date": "2026-02-11", "channel": "email", "summary": "Relance amiable"})
    assert r.status_code == 201, r.json


def change_status(container, tenant, case_id: str, status: str = "formal_notice") -> None:
    with container.db.write() as conn:
        services.set_status(conn, tenant.id, "key:test", case_id, status, "mise en demeure envoyée")


def files_of(data: bytes) -> dict[str, bytes]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    return {n: zf.read(n) for n in zf.namelist()}


def repack(data: bytes, changes: dict[str, bytes | None],
           edit_manifest: Callable[[dict], None] | None = None) -> bytes:
    """The ZIP with some files replaced or removed, its manifest and SHA256SUMS made to agree:
    a forger who edits files also fixes the indexes, so only real evidence can catch them."""
    files = files_of(data)
    for path, new in changes.items():
        if new is None:
            files.pop(path, None)
        else:
            files[path] = new
    manifest = json.loads(files["manifest.json"])
    listed = manifest["files"]
    for path in list(listed):
        if path not in files:
            del listed[path]
    for path, content in files.items():
        if path in ("manifest.json", "SHA256SUMS"):
            continue
        entry = listed.setdefault(path, {"role": "forged"})
        entry.update(sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    if edit_manifest:
        edit_manifest(manifest)
    files["manifest.json"] = json.dumps(manifest).encode()
    files["SHA256SUMS"] = "".join(f"{m['sha256']}  {p}\n" for p, m in sorted(listed.items())).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path, content in files.items():
            zf.writestr(path, content)
    return out.getvalue()


def rehash(events: list[dict]) -> list[dict]:
    """Renumber and rechain events after an edit, as a forger with write access to the data would."""
    prev, out = GENESIS, []
    for n, e in enumerate(events, start=1):
        e = dict(e, seq=n, prev_hash=prev, payload_digest=digest(e["payload"]))
        e["hash"] = digest({k: e[k] for k in HASHED})
        prev = e["hash"]
        out.append(e)
    return out


def cli_verify(path, *extra: str):
    from click.testing import CliRunner

    from cli.main import cli
    # A database that does not answer: the verification must not need one.
    unreachable = {"RECOUVRE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                   "RECOUVRE_DATA_DIR": "/nonexistent/recouvre"}
    return CliRunner().invoke(cli, ["proof", "verify", str(path), *map(str, extra)], env=unreachable)
