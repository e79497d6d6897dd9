"""Development certificate: generated once, reused, clearly labelled."""

from __future__ import annotations

import io
import logging
import stat

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import SignerConfig, build_signer, dev_certificate, validate_pdf

DEV_SUFFIX = " (certificat de développement, sans valeur probante)"


def test_generated_once_then_reused(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="recouvre.signing"):
        first = build_signer(SignerConfig.from_env({}, tmp_path))
    p12 = tmp_path / "signing" / "dev-signer.p12"
    before = p12.read_bytes()
    second = build_signer(SignerConfig.from_env({}, tmp_path))
    assert p12.read_bytes() == before
    assert first.is_development and second.is_development
    assert first.certificate.dump() == second.certificate.dump()
    assert any("development" in r.getMessage() for r in caplog.records)


def test_key_is_rsa_3072_and_files_are_private(tmp_path):
    dev = dev_certificate(tmp_path)
    assert dev.created
    assert not dev_certificate(tmp_path).created
    for path in (dev.p12_path, dev.password_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key, cert, _ = pkcs12.load_key_and_certificates(dev.p12_path.read_bytes(), dev.password)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    assert cert.issuer == cert.subject


def test_reason_says_no_legal_value_and_trust_needs_the_dev_root(tmp_path, letter_pdf):
    signer = build_signer(SignerConfig.from_env({}, tmp_path))
    assert signer.level == "B-B"
    signed = signer.sign(letter_pdf, reason="Mise en demeure", location="Lyon")
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert sig.sig_object["/Reason"] == "Mise en demeure" + DEV_SUFFIX

    untrusted = validate_pdf(signed)
    assert untrusted.intact and untrusted.valid and not untrusted.trusted
    assert validate_pdf(signed, trust_roots=signer.trust_roots).ok


def test_the_development_certificate_is_never_trusted_when_named(tmp_path, letter_pdf, pki):
    signer = build_signer(SignerConfig.from_env({}, tmp_path))
    assert [c.dump() for c in signer.development_certificates] == [signer.certificate.dump()]
    signed = signer.sign(letter_pdf, reason="Relance")
    report = validate_pdf(signed, trust_roots=signer.trust_roots,
                          development_certificates=signer.development_certificates)
    assert report.intact and report.valid and not report.trusted
    assert report.problems == ["Signature1: signed with Recouvre's self-signed development certificate: "
                               "no legal value"]
    with build_signer(SignerConfig.from_env(pki.env(), tmp_path / "real")) as real:
        assert real.development_certificates == []
        genuine = real.sign(letter_pdf, reason="Relance")
    assert validate_pdf(genuine, trust_roots=[pki.root],
                        development_certificates=signer.development_certificates).ok
