"""Archived files in the proof: every one is a file some ledger event records (the signed PDF, its
DOCX, the mailing packet, evidence), read by its recorded version against its recorded digest;
a file only the manifest vouches for is a forgery the verifier reports."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import select

from casefiles import services
from persistence.tables import cases
from proofs import build_proof_zip, verify_proof_zip
from storage import ArchiveIntegrityError
from tests.signing.signing_helpers import make_letter
from tests.storage.conftest import aws_env, boto_env, moto_endpoint, s3, s3_container  # noqa: F401 - moto fixtures

from .proof_helpers import cli_verify, files_of, new_case, repack, upload_invoice

LETTER = make_letter()
PACKET = make_letter(pages=2)
DOCX_MEDIA = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def make_docx(text: str) -> bytes:
    import docx
    document = docx.Document()
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


DOCX = make_docx("Mise en demeure de payer")


def append(container, case_id: str, type_: str, payload: dict) -> None:
    with container.db.write() as conn:
        row = conn.execute(select(cases).where(cases.c.id == case_id).with_for_update()).mappings().one()
        services.append_event(conn, row, type_, "system", payload)


def archived(container, key: str, data: bytes, media: str) -> dict:
    stored = container.archive.put(key, data, media)
    return {"sha256": stored.sha256, "archive_key": key, "version_id": stored.version_id}


def letter_mailed(container, tenant, case_id: str) -> dict[str, dict]:
    """The ledger of a generated, mailed letter, with the payload shapes the services write:
    document.generated (PDF and DOCX) and mailing.packet_archived."""
    base = f"tenants/{tenant.id}/cases/{case_id}/documents/d-1"
    pdf = archived(container, f"{base}/mise_en_demeure.pdf", LETTER, "application/pdf")
    docx = archived(container, f"{base}/mise_en_demeure.docx", DOCX, DOCX_MEDIA)
    append(container, case_id, "document.generated", {
        "document_id": "d-1", "kind": "mise_en_demeure", **pdf, "signature": {"level": "B-B"}, "docx": docx})
    packet = archived(container, f"tenants/{tenant.id}/cases/{case_id}/mailings/m-1/packet.pdf", PACKET,
                      "application/pdf")
    append(container, case_id, "mailing.packet_archived", {"mailing_id": "m-1", **packet})
    return {"pdf": pdf, "docx": docx, "packet": packet}


def proof_of(container, tenant, case_id: str) -> bytes:
    with container.db.read() as conn:
        return build_proof_zip(conn, container, tenant.id, case_id)


@pytest.fixture
def mailed(tenant, container, b2b_case):
    case = new_case(tenant, b2b_case)
    upload_invoice(tenant, case["id"])
    files = letter_mailed(container, tenant, case["id"])
    return {"case": case, "files": files}


DOCX_PATH = "documents/0003-mise-en-demeure-editable.docx"
PACKET_PATH = "documents/0004-pli-recommande.pdf"


def test_a_proof_with_a_docx_and_a_packet_verifies(tenant, container, mailed, tmp_path):
    data = tenant.lawyer.get(f"/v1/cases/{mailed['case']['id']}/proof").data
    files = files_of(data)
    manifest = json.loads(files["manifest.json"])["files"]
    assert files["documents/0003-mise-en-demeure.pdf"] == LETTER
    assert files[DOCX_PATH] == DOCX and files[PACKET_PATH] == PACKET
    assert manifest[DOCX_PATH]["ledger"] == [{"seq": 3, "type": "document.generated", "pointer": "/payload/docx"}]
    assert manifest[PACKET_PATH]["ledger"] == [{"seq": 4, "type": "mailing.packet_archived", "pointer": "/payload"}]
    assert not any("manifest only" in line for line in files["README.md"].decode().splitlines())
    path = tmp_path / "proof.zip"
    path.write_bytes(data)
    result = cli_verify(path)
    assert result.exit_code == 0, result.output
    assert f"ok    {DOCX_PATH}: SHA-256 matches ledger event 3 (document.generated)" in result.output
    assert f"ok    {PACKET_PATH}: SHA-256 matches ledger event 4 (mailing.packet_archived)" in result.output
    assert result.output.strip().endswith("proof.zip: VALID")


@pytest.mark.parametrize("forge, expected", [
    (lambda data: repack(data, {DOCX_PATH: make_docx("Mise en demeure de payer 10 000 €")}),
     f"{DOCX_PATH}: SHA-256 "),
    (lambda data: repack(data, {"documents/0005-facture-complementaire.pdf": make_letter(3)}),
     "documents/0005-facture-complementaire.pdf: no ledger event records this file"),
    (lambda data: repack(data, {"evidence/contrat.pdf": make_letter(3)},
                         lambda m: m["files"]["evidence/contrat.pdf"].update(role="archived",
                                                                             archive_key="evidence/contrat.pdf")),
     "evidence/contrat.pdf: no ledger event records this file (archive key evidence/contrat.pdf)"),
    (lambda data: repack(data, {"notes.txt": b"vu le 3 mars"}), "notes.txt: no ledger event records this file"),
], ids=["replaced-docx", "foreign-pdf", "foreign-evidence-with-a-key", "foreign-anything"])
def test_files_the_ledger_does_not_record_are_rejected(tenant, container, mailed, tmp_path, forge, expected):
    forged = forge(proof_of(container, tenant, mailed["case"]["id"]))
    report = verify_proof_zip(forged)
    assert not report.valid and any(p.startswith(expected) for p in report.problems), report.problems
    path = tmp_path / "forged.zip"
    path.write_bytes(forged)
    result = cli_verify(path)
    assert result.exit_code == 1 and f"FAIL  {expected}" in result.output, result.output
    assert result.output.strip().splitlines()[-1].startswith("forged.zip: INVALID")


def test_the_proof_is_not_built_from_an_archive_that_lost_the_recorded_bytes(tenant, container, mailed):
    key = mailed["files"]["docx"]["archive_key"]
    path = container.archive.root.joinpath(*key.split("/"))
    meta_path = path.with_name(f".{path.name}.meta.json")
    forged = make_docx("autre texte")
    for p in (path, meta_path):
        p.chmod(0o644)
    path.write_bytes(forged)                              # the sidecar made to agree with the forgery
    meta = json.loads(meta_path.read_bytes())
    meta.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ArchiveIntegrityError):
        proof_of(container, tenant, mailed["case"]["id"])
    r = tenant.lawyer.get(f"/v1/cases/{mailed['case']['id']}/proof")
    assert r.status_code == 500 and r.mimetype == "application/problem+json" and "no proof" in r.json["detail"]




def test_on_s3_the_proof_holds_the_recorded_versions(s3, s3_container, b2b_case):  # noqa: F811
    from app import create_app
    from tests.conftest import make_tenant
    container = s3_container
    tenant = make_tenant(create_app(container=container), container)
    case = new_case(tenant, b2b_case)
    files = letter_mailed(container, tenant, case["id"])
    assert files["packet"]["version_id"]
    forged = b"%PDF-forged packet"
    s3.put_object(Bucket=container.archive.bucket, Key=f"recouvre/{files['packet']['archive_key']}", Body=forged,
                  ChecksumAlgorithm="SHA256", Metadata={"sha256": hashlib.sha256(forged).hexdigest()})
    data = proof_of(container, tenant, case["id"])
    entry = json.loads(files_of(data)["manifest.json"])["files"]["documents/0003-pli-recommande.pdf"]
    assert files_of(data)["documents/0003-pli-recommande.pdf"] == PACKET
    assert entry["version_id"] == files["packet"]["version_id"]
    assert verify_proof_zip(data).valid
