"""Proof ZIPs: built by the API, timestamped by a real RFC 3161 TSA over loopback HTTP, checked
offline by `recouvre proof verify`, by openssl/sha256sum/python3, and rejected when tampered."""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import warnings
import zipfile

import pytest
from sqlalchemy import select

from jobs import run_periodic
from persistence.tables import ledger_timestamps
from proofs import (
    PyHankoTimeStamper, archive_references, head_imprint, read_token, stamper_from_environ,
    timestamp_pending_heads, verify_proof_zip,
)
from tests.conftest import need_tool

from .proof_helpers import (
    INVOICE_PDF, add_payment, change_status, cli_verify, files_of, log_reminder, new_case, rehash,
    repack, upload_invoice,
)


def stamped_rows(container, case_id: str) -> list:
    with container.db.read() as conn:
        return conn.execute(select(ledger_timestamps).where(ledger_timestamps.c.case_id == case_id)
                            .order_by(ledger_timestamps.c.seq)).mappings().all()


def get_proof(api, case_id: str) -> bytes:
    r = api.get(f"/v1/cases/{case_id}/proof")
    assert r.status_code == 200, r.data[:500]
    assert r.mimetype == "application/zip"
    assert r.headers["X-Content-SHA256"] == hashlib.sha256(r.data).hexdigest()
    return r.data


@pytest.fixture
def stamped(tenant, tsa_container, b2b_case):
    """A case of six events, two of them heads timestamped by the loopback TSA, and its proof.

    1 case.created, 2 evidence.uploaded, 3 payment.added → token over head 3;
    4 reminder.logged (not state-changing) → no token; 5 case.status_changed → token over head 5;
    6 reminder.logged, left after the last token.
    """
    c = tsa_container
    case = new_case(tenant, b2b_case)
    upload_invoice(tenant, case["id"])
    add_payment(tenant, case["id"])
    assert timestamp_pending_heads(c, case_ids=[case["id"]]) == 1
    assert timestamp_pending_heads(c, case_ids=[case["id"]]) == 0       # nothing new since
    log_reminder(tenant, case["id"])
    assert timestamp_pending_heads(c, case_ids=[case["id"]]) == 0       # a reminder waits for the next state change
    change_status(c, tenant, case["id"])
    assert timestamp_pending_heads(c, case_ids=[case["id"]]) == 1
    log_reminder(tenant, case["id"])
    return {"case": case, "zip": get_proof(tenant.lawyer, case["id"])}


def test_state_changes_are_timestamped_by_the_tsa_without_touching_the_ledger(tenant, tsa_container, stamped, pki):
    case_id = stamped["case"]["id"]
    events = tenant.lawyer.get(f"/v1/cases/{case_id}/events").json["items"]
    assert [e["type"] for e in events] == ["case.created", "evidence.uploaded", "payment.added", "reminder.logged",
                                           "case.status_changed", "reminder.logged"]   # no event added by stamping
    rows = stamped_rows(tsa_container, case_id)
    assert [(r["seq"], r["head_hash"], r["tsa_url"]) for r in rows] == [
        (3, events[2]["hash"], pki.tsa_url), (5, events[4]["hash"], pki.tsa_url)]
    for row in rows:
        token = read_token(row["token"])
        assert token.hash_algorithm == "sha256"
        expected = hashlib.sha256(row["head_hash"].encode("ascii")).digest()
        assert token.imprint == expected == head_imprint(row["head_hash"])
        assert token.tsa_name and "Recouvre Test TSA" in token.tsa_name


def test_proof_zip_holds_the_ledger_tokens_documents_and_a_bilingual_readme(tenant, stamped):
    case_id = stamped["case"]["id"]
    files = files_of(stamped["zip"])
    ledger = json.loads(files["ledger.json"])
    assert ledger == {"case_id": case_id, "events": tenant.lawyer.get(f"/v1/cases/{case_id}/events").json["items"]}
    assert json.loads(files["case.json"])["id"] == case_id
    assert sorted(p for p in files if p.startswith("timestamps/")) == ["timestamps/3.tsr", "timestamps/5.tsr"]
    index = json.loads(files["timestamps.json"])
    assert [(t["seq"], t["head_hash"], t["file"]) for t in index] == [
        (3, ledger["events"][2]["hash"], "timestamps/3.tsr"), (5, ledger["events"][4]["hash"], "timestamps/5.tsr")]
    docs = [p for p in files if p.startswith("documents/")]
    assert docs == ["documents/0002-facture-f-2025-0412.pdf"]
    assert files[docs[0]] == INVOICE_PDF
    manifest = json.loads(files["manifest.json"])
    entry = manifest["files"][docs[0]]
    assert entry["sha256"] == hashlib.sha256(INVOICE_PDF).hexdigest() == ledger["events"][1]["payload"]["sha256"]
    assert entry["ledger"] == [{"seq": 2, "type": "evidence.uploaded", "pointer": "/payload"}]
    assert manifest["ledger"] == {"length": 6, "head": ledger["events"][-1]["hash"]}
    assert set(manifest["files"]) == set(files) - {"manifest.json", "SHA256SUMS"}
    readme = files["README.md"].decode()
    for heading in ("## Français", "## English", "### Vérifier", "### Verify"):
        assert heading in readme
    assert "sha256sum -c SHA256SUMS" in readme and "recouvre proof verify" in readme
    assert f"openssl ts -verify -digest {head_imprint(index[1]['head_hash']).hex()} -token_in " \
           f"-in timestamps/5.tsr -CAfile tsa-chain.pem" in readme


def test_the_cli_verifies_the_proof_offline(stamped, pki, tmp_path):
    path = tmp_path / "proof.zip"
    path.write_bytes(stamped["zip"])
    result = cli_verify(path, "--trust", pki.roots_pem)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("proof.zip: VALID")
    assert "FAIL" not in result.output
    assert "ok    ledger: hash chain of 6 events recomputed" in result.output
    assert "ok    documents/0002-facture-f-2025-0412.pdf: SHA-256 matches ledger event 2 (evidence.uploaded)" \
        in result.output
    assert re.search(r"timestamps/5\.tsr: RFC 3161 token of .* certifies events 1 to 5 .*TSA “[^”]*Recouvre Test TSA"
                     r"[^”]*” trusted", result.output)
    assert "ok    event 6 was recorded after the last timestamp" in result.output

    untrusted = cli_verify(path)           # without roots: signatures checked, TSA identity reported only
    assert untrusted.exit_code == 0, untrusted.output
    assert "not checked against a trust root" in untrusted.output


def test_the_library_verifies_and_judges_the_tsa_only_against_given_roots(stamped, pki, container):
    report = verify_proof_zip(stamped["zip"], trust_roots=[pki.root])
    assert report.valid, report.problems
    assert sum("trusted" in c for c in report.checks) == 2
    other_root = container.signer.certificate          # a real certificate, but not the TSA's root
    wrong = verify_proof_zip(stamped["zip"], trust_roots=[other_root])
    assert not wrong.valid
    assert any("does not chain to the given trust roots" in p for p in wrong.problems)


def test_outside_tools_verify_the_proof_as_the_readme_says(stamped, pki, tmp_path):
    """sha256sum, the README's stdlib-only chain script under the system python3, and openssl ts."""
    need_tool("sha256sum")
    openssl = need_tool("openssl")
    python3 = need_tool("python3")
    folder = tmp_path / "proof"
    zipfile.ZipFile(io.BytesIO(stamped["zip"])).extractall(folder)
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    readme = (folder / "README.md").read_text()
    script = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "verify_chain.py").write_text(script)
    chain = subprocess.run([python3, "-I", str(tmp_path / "verify_chain.py")], cwd=folder,
                           capture_output=True, text=True)
    head = json.loads((folder / "ledger.json").read_text())["events"][-1]["hash"]
    assert chain.returncode == 0 and f"chain OK, 6 events, head {head}" in chain.stdout, chain.stderr
    commands = [line.split() for line in readme.splitlines() if line.startswith("openssl ts -verify")]
    assert len(commands) == 2
    for cmd in commands:
        cmd[0], cmd[-1] = openssl, str(pki.roots_pem)      # tsa-chain.pem: the root obtained from the TSA
        done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        assert done.returncode == 0 and "Verification: OK" in done.stdout, done.stdout + done.stderr
    for line in readme.splitlines():
        if line.startswith("printf %s "):
            head_hash = line.split()[2]
            assert hashlib.sha256(head_hash.encode()).hexdigest() in readme


def _edit_ledger(files, edit):
    ledger = json.loads(files["ledger.json"])
    edit(ledger)
    return json.dumps(ledger).encode()


def _forge_signature(token: bytes) -> bytes:
    from asn1crypto import cms
    info = cms.ContentInfo.load(token)
    signer = info["content"]["signer_infos"][0]
    sig = bytearray(signer["signature"].native)
    sig[-1] ^= 0x01
    signer["signature"] = bytes(sig)
    return info.dump(force=True)


def tamper_payload(zip_bytes, _other):
    files = files_of(zip_bytes)

    def edit(ledger):
        ledger["events"][2]["payload"]["amount"] = "1000.00"
    return repack(zip_bytes, {"ledger.json": _edit_ledger(files, edit)})


def tamper_document(zip_bytes, _other):
    return repack(zip_bytes, {"documents/0002-facture-f-2025-0412.pdf": INVOICE_PDF + b"\n% altered\n"})


def remove_event(zip_bytes, _other):
    files = files_of(zip_bytes)
    return repack(zip_bytes, {"ledger.json": _edit_ledger(files, lambda ledger: ledger["events"].pop(3))})


def remove_event_and_rehash(zip_bytes, _other):
    """Drops the evidence upload and rebuilds a perfectly consistent chain, index and manifest:
    only the TSA's tokens, signed over the real heads, can tell."""
    files = files_of(zip_bytes)
    ledger = json.loads(files["ledger.json"])
    events = rehash([e for e in ledger["events"] if e["seq"] != 2])
    index = json.loads(files["timestamps.json"])
    for t in index:
        t["seq"] -= 1
        t["head_hash"] = events[t["seq"] - 1]["hash"]

    def manifest(m):
        m["ledger"] = {"length": len(events), "head": events[-1]["hash"]}
    return repack(zip_bytes, {"ledger.json": json.dumps({**ledger, "events": events}).encode(),
                              "timestamps.json": json.dumps(index).encode(),
                              "documents/0002-facture-f-2025-0412.pdf": None}, manifest)


def truncate_after_timestamp(zip_bytes, _other):
    files = files_of(zip_bytes)
    ledger = json.loads(files["ledger.json"])
    ledger["events"] = ledger["events"][:4]

    def manifest(m):
        m["ledger"] = {"length": 4, "head": ledger["events"][-1]["hash"]}
    return repack(zip_bytes, {"ledger.json": json.dumps(ledger).encode()}, manifest)


def swap_token(zip_bytes, other_token):
    return repack(zip_bytes, {"timestamps/5.tsr": other_token})


def forge_token_signature(zip_bytes, _other):
    return repack(zip_bytes, {"timestamps/5.tsr": _forge_signature(files_of(zip_bytes)["timestamps/5.tsr"])})


@pytest.mark.parametrize("tamper, expected", [
    (tamper_payload, "ledger.json: event 3: payload does not match its digest"),
    (tamper_document, "differs from {sha} recorded by ledger event 2 (evidence.uploaded)"),
    (remove_event, "ledger.json: event 4: event 4 is missing or out of order"),
    (remove_event_and_rehash, "it certifies another ledger (swapped or forged token)"),
    (truncate_after_timestamp, "timestamps/5.tsr: certifies event 5 but the ledger has 4 events"),
    (swap_token, "timestamps/5.tsr: the token's imprint"),
    (forge_token_signature, "timestamps/5.tsr: its CMS signature is broken"),
], ids=lambda v: getattr(v, "__name__", None) or "")
def test_tampered_proofs_are_rejected(stamped, tenant, tsa_container, b2b_case, pki, tmp_path, tamper, expected):
    other_token = None
    if tamper is swap_token:       # a genuine token of the same TSA, over another case's head
        other = new_case(tenant, b2b_case)
        assert timestamp_pending_heads(tsa_container, case_ids=[other["id"]]) == 1
        other_token = bytes(stamped_rows(tsa_container, other["id"])[0]["token"])
    forged = tamper(stamped["zip"], other_token)
    expected = expected.format(sha=hashlib.sha256(INVOICE_PDF).hexdigest())
    for roots in (None, [pki.root]):
        report = verify_proof_zip(forged, trust_roots=roots)
        assert not report.valid
        assert any(expected in p for p in report.problems), report.problems
    path = tmp_path / "forged.zip"
    path.write_bytes(forged)
    result = cli_verify(path, "--trust", pki.roots_pem)
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and expected in result.output
    assert result.output.strip().splitlines()[-1].startswith("forged.zip: INVALID")


def test_indexes_that_disagree_with_the_files_are_reported(stamped):
    """Edits that leave the manifest stale, or slip files past it."""
    zip_bytes = stamped["zip"]
    files = files_of(zip_bytes)

    def rezip(entries):
        out = io.BytesIO()
        with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
            warnings.simplefilter("ignore")       # the duplicate entry is the point
            for path, content in entries:
                zf.writestr(path, content)
        return out.getvalue()

    cases = {
        "the manifest's": [(p, c + b" " if p == "case.json" else c) for p, c in files.items()],
        "not listed in manifest.json": [*files.items(), ("documents/9999-extra.pdf", INVOICE_PDF)],
        "several entries named ledger.json": [*files.items(), ("ledger.json", files["ledger.json"])],
        "listed in manifest.json but missing": [(p, c) for p, c in files.items() if p != "case.json"],
        "SHA256SUMS disagrees": [(p, b"" if p == "SHA256SUMS" else c) for p, c in files.items()],
        "timestamps/5.tsr: a token not listed": [(p, json.dumps(json.loads(c)[:1]).encode()
                                                  if p == "timestamps.json" else c) for p, c in files.items()],
    }
    for expected, entries in cases.items():
        report = verify_proof_zip(rezip(entries))
        assert not report.valid and any(expected in p for p in report.problems), (expected, report.problems)


def test_a_file_that_is_not_a_zip_is_rejected(tmp_path):
    path = tmp_path / "junk.zip"
    path.write_bytes(b"not a zip at all")
    result = cli_verify(path)
    assert result.exit_code == 1 and "not a readable ZIP file" in result.output


def test_without_a_tsa_nothing_is_timestamped_and_the_proof_still_verifies(tenant, container, b2b_case, tmp_path):
    assert "RECOUVRE_TSA_URL" not in container.settings.environ
    assert stamper_from_environ(container.settings.environ) is None
    case = new_case(tenant, b2b_case)
    upload_invoice(tenant, case["id"])
    change_status(container, tenant, case["id"])
    assert timestamp_pending_heads(container) == 0
    run_periodic(container)               # the sweeper's duties, the ledger timestamps among them
    assert stamped_rows(container, case["id"]) == []
    data = get_proof(tenant.clerk, case["id"])
    files = files_of(data)
    assert json.loads(files["timestamps.json"]) == []
    assert not any(p.startswith("timestamps/") for p in files)
    assert "aucun horodatage" in files["README.md"].decode().lower()
    report = verify_proof_zip(data)
    assert report.valid, report.problems
    assert any(c.startswith("no timestamp:") for c in report.checks)
    path = tmp_path / "proof.zip"
    path.write_bytes(data)
    result = cli_verify(path)
    assert result.exit_code == 0, result.output
    assert "ok    no timestamp: no time-stamping authority vouches for this ledger" in result.output


def test_the_sweeper_timestamps_changed_cases_when_a_tsa_is_configured(tenant, tsa_container, b2b_case):
    case = new_case(tenant, b2b_case)
    upload_invoice(tenant, case["id"])
    # run_periodic is what the embedded runner's sweeper and `recouvre worker` call. On the shared
    # PostgreSQL schema other tests' cases are pending too, a hundred per round: loop until ours.
    for _ in range(50):
        run_periodic(tsa_container)
        if stamped_rows(tsa_container, case["id"]):
            break
    rows = stamped_rows(tsa_container, case["id"])
    assert [r["seq"] for r in rows] == [2]
    run_periodic(tsa_container)
    assert len(stamped_rows(tsa_container, case["id"])) == 1


def test_an_unreachable_tsa_stores_nothing_and_raises_nothing(tenant, container, b2b_case, caplog):
    from pyhanko.sign.timestamps import HTTPTimeStamper
    case = new_case(tenant, b2b_case)
    dead = PyHankoTimeStamper(HTTPTimeStamper("http://127.0.0.1:1/tsa", timeout=2), "http://127.0.0.1:1/tsa")
    assert timestamp_pending_heads(container, stamper=dead, case_ids=[case["id"]]) == 0
    assert stamped_rows(container, case["id"]) == []
    assert "ledger timestamp of case" in caplog.text


@pytest.mark.parametrize("garble, logged", [
    (lambda real, imprint: real.stamp(hashlib.sha256(b"someone else's head").digest()), "token over another imprint"),
    (lambda real, imprint: _forge_signature(real.stamp(imprint)), "CMS signature is broken"),
], ids=["other imprint", "broken signature"])
def test_a_bad_token_from_the_tsa_is_not_stored(tenant, container, b2b_case, pki, caplog, garble, logged):
    from pyhanko.sign.timestamps import HTTPTimeStamper
    real = PyHankoTimeStamper(HTTPTimeStamper(pki.tsa_url), pki.tsa_url)

    class Garbling:
        url = pki.tsa_url

        def stamp(self, imprint: bytes) -> bytes:
            return garble(real, imprint)

    case = new_case(tenant, b2b_case)
    assert timestamp_pending_heads(container, stamper=Garbling(), case_ids=[case["id"]]) == 0
    assert stamped_rows(container, case["id"]) == []
    assert logged in caplog.text


def test_a_dummy_stamper_can_be_injected(tenant, container, b2b_case, pki):
    from certomancer.registry import CertLabel, KeyLabel
    from pyhanko.sign.timestamps import DummyTimeStamper
    dummy = PyHankoTimeStamper(DummyTimeStamper(tsa_cert=pki.arch.get_cert(CertLabel("tsa")),
                                                tsa_key=pki.arch.key_set.get_private_key(KeyLabel("tsa"))),
                               "test:dummy")
    case = new_case(tenant, b2b_case)
    assert timestamp_pending_heads(container, stamper=dummy, case_ids=[case["id"]]) == 1
    report = verify_proof_zip(get_proof(tenant.lawyer, case["id"]), trust_roots=[pki.root])
    assert report.valid, report.problems


def test_the_proof_is_tenant_scoped_and_needs_a_reader(tenant, other_tenant, anonymous, b2b_case):
    case = new_case(tenant, b2b_case)
    r = other_tenant.lawyer.get(f"/v1/cases/{case['id']}/proof")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert anonymous.get(f"/v1/cases/{case['id']}/proof").status_code == 401
    for api in (tenant.integrator, tenant.lawyer, tenant.clerk):
        assert api.get(f"/v1/cases/{case['id']}/proof").status_code == 200


def test_the_route_is_documented(tenant):
    spec = tenant.lawyer.get("/v1/openapi.json").json
    op = spec["paths"]["/v1/cases/{case_id}/proof"]["get"]
    assert op["x-permission"] == "cases:read"
    assert "application/zip" in op["responses"]["200"]["content"]
    assert {"401", "403", "404"} <= set(op["responses"])


def test_archived_references_are_read_from_any_payload_shape():
    events = [
        {"seq": 1, "type": "case.created", "payload": {"reference": "X"}},
        {"seq": 2, "type": "document.generated", "payload": {
            "document_id": "d", "kind": "dossier_injonction_de_payer", "sha256": "a" * 64, "archive_key": "k/d.pdf",
            "zip": {"sha256": "b" * 64, "archive_key": "k/d.zip"}}},
        {"seq": 3, "type": "archive.legal_hold", "payload": {"document_id": "d", "archive_keys": ["k/d.pdf"]}},
    ]
    refs = [(r.seq, r.pointer, r.archive_key, r.sha256) for r in archive_references(events)]
    assert refs == [(2, "/payload", "k/d.pdf", "a" * 64), (2, "/payload/zip", "k/d.zip", "b" * 64)]


@pytest.mark.libreoffice
def test_generated_letters_are_in_the_proof_pdf_and_docx_both_by_the_ledger(tenant, tsa_container, b2b_case, pki):
    import documents
    from jobs import execute
    case = new_case(tenant, b2b_case)
    r = tenant.lawyer.post(f"/v1/cases/{case['id']}/documents", json={"kind": "mise_en_demeure", "as_of": "2026-03-01"})
    assert r.status_code == 202, r.json
    with tsa_container.db.read() as conn:    # this document's job only: the PostgreSQL schema is shared
        job_id = documents.get_document(conn, tenant.id, r.json["id"])["job_id"]
    assert execute(tsa_container, job_id)
    doc = tenant.lawyer.get(f"/v1/documents/{r.json['id']}").json
    assert doc["status"] == "ready", doc.get("error")
    assert timestamp_pending_heads(tsa_container, case_ids=[case["id"]]) == 1
    events = tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]
    assert [e["type"] for e in events] == ["case.created", "document.requested", "document.generated"]
    assert [row["seq"] for row in stamped_rows(tsa_container, case["id"])] == [3]

    data = get_proof(tenant.lawyer, case["id"])
    files = files_of(data)
    manifest = json.loads(files["manifest.json"])["files"]
    pdf_path = "documents/0003-mise-en-demeure.pdf"
    assert files[pdf_path] == tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf").data
    assert manifest[pdf_path]["ledger"] == [{"seq": 3, "type": "document.generated", "pointer": "/payload"}]
    docx_path = "documents/0003-mise-en-demeure-editable.docx"
    assert files[docx_path] == tenant.lawyer.get(f"/v1/documents/{doc['id']}/docx").data
    assert manifest[docx_path]["ledger"] == [{"seq": 3, "type": "document.generated", "pointer": "/payload/docx"}]
    report = verify_proof_zip(data, trust_roots=[pki.root])
    assert report.valid, report.problems
    assert f"{pdf_path}: SHA-256 matches ledger event 3 (document.generated)" in report.checks
    assert f"{docx_path}: SHA-256 matches ledger event 3 (document.generated)" in report.checks
