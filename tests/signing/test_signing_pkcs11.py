"""PKCS#11 signer against a SoftHSM2 token created for the test session."""

from __future__ import annotations

import pytest

from signing import SignerConfig, SigningConfigError, build_signer, validate_pdf

from .signing_helpers import run_tool


def _env(token, pki, **overrides):
    env = {
        "RECOUVRE_PKCS11_MODULE": token.module,
        "RECOUVRE_PKCS11_TOKEN": token.label,
        "RECOUVRE_PKCS11_KEY": token.key_label,
        "RECOUVRE_PKCS11_PIN": token.pin,
        "RECOUVRE_SIGNING_TRUST_ROOTS": str(pki.roots_pem),
    }
    env.update(overrides)
    return env


def test_token_key_signs_b_t(softhsm_token, pki, letter_pdf, tmp_path):
    env = _env(softhsm_token, pki, RECOUVRE_TSA_URL=pki.tsa_url)
    with build_signer(SignerConfig.from_env(env, tmp_path)) as signer:
        assert not signer.is_development
        assert "CN=Claire Martin" in signer.certificate_subject
        signed = [
            signer.sign(letter_pdf, reason="Mise en demeure", location="Lyon") for _ in range(2)
        ]
    for pdf in signed:
        report = validate_pdf(pdf, trust_roots=[pki.root])
        assert report.ok, report.problems
        assert report.level == "B-T"
    path = tmp_path / "p11.pdf"
    path.write_bytes(signed[0])
    assert "Signature is Valid." in run_tool("pdfsig", path=path)


def test_explicit_certificate_label(softhsm_token, pki, letter_pdf, tmp_path):
    env = _env(softhsm_token, pki, RECOUVRE_PKCS11_CERT="signer1")
    with build_signer(SignerConfig.from_env(env, tmp_path)) as signer:
        assert validate_pdf(signer.sign(letter_pdf, reason="r"), [pki.root]).ok


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"RECOUVRE_PKCS11_PIN": "0000"}, "RECOUVRE_PKCS11_PIN"),
        ({"RECOUVRE_PKCS11_TOKEN": "no-such-token"}, "RECOUVRE_PKCS11_TOKEN"),
        ({"RECOUVRE_PKCS11_KEY": "no-such-key"}, "RECOUVRE_PKCS11_KEY"),
        ({"RECOUVRE_PKCS11_MODULE": "/nonexistent/libpkcs11.so"}, "RECOUVRE_PKCS11_MODULE"),
    ],
)
def test_token_errors_name_the_variable(softhsm_token, pki, tmp_path, override, variable):
    with pytest.raises(SigningConfigError, match=variable):
        build_signer(SignerConfig.from_env(_env(softhsm_token, pki, **override), tmp_path))
