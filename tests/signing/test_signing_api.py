"""POST /v1/signatures/validate: what a holder of one of our PDFs is told, and what the log keeps."""
from __future__ import annotations

import logging

from signing import SignerConfig, build_signer


def _validate(tenant, pdf: bytes):
    r = tenant.clerk.post("/v1/signatures/validate", data=pdf, headers={"Content-Type": "application/pdf"})
    assert r.status_code == 200, r.data
    return r.json


def test_the_development_certificate_is_reported_untrusted(tenant, container, letter_pdf, caplog):
    assert container.signer.is_development
    signed = container.signer.sign(letter_pdf, reason="Relance")
    with caplog.at_level(logging.INFO):
        body = _validate(tenant, signed)
    assert body["intact"] is True and body["valid"] is True and body["trusted"] is False
    assert body["level"] == "B-B"
    assert any("development certificate" in p and "no legal value" in p for p in body["problems"])
    lines = [r for r in caplog.records if r.name == "recouvre.signing"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING and lines[0].exc_info is None


def test_a_real_certificate_stays_trusted(tenant, container, letter_pdf, pki, tmp_path):
    with build_signer(SignerConfig.from_env(pki.env(), tmp_path)) as real:
        container.__dict__["signer"] = real
        body = _validate(tenant, real.sign(letter_pdf, reason="Relance"))
    assert body["intact"] and body["valid"] and body["trusted"] and body["problems"] == []


def test_an_untrusted_signature_leaves_no_traceback_in_the_server_log(tenant, container, letter_pdf, pki, tmp_path,
                                                                    caplog):
    with build_signer(SignerConfig.from_env(pki.env(), tmp_path)) as other:   # not one of our roots
        signed = other.sign(letter_pdf, reason="Relance")
    with caplog.at_level(logging.DEBUG):
        body = _validate(tenant, signed)
    assert body["intact"] and body["valid"] and not body["trusted"]
    assert "Traceback" not in caplog.text and all(r.exc_info is None for r in caplog.records)
    summary = [r for r in caplog.records if r.name == "recouvre.signing"]
    assert len(summary) == 1 and summary[0].levelno == logging.WARNING
    assert "not trusted" in summary[0].getMessage()
