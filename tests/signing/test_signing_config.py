"""SignerConfig.from_env: defaults and errors that name the culprit variable."""

from __future__ import annotations

from pathlib import Path

import pytest

import signing
from signing import SignerConfig, SigningConfigError, SigningError, build_signer

DATA = Path("/nonexistent-data-dir")


def test_public_api_is_curated():
    assert sorted(signing.__all__) == sorted(
        [
            "DevCertificate",
            "DocumentSigner",
            "PADES_LEVELS",
            "PadesLevel",
            "SignatureAppearance",
            "SignerConfig",
            "SigningConfigError",
            "SigningError",
            "ValidationReport",
            "build_signer",
            "dev_certificate",
            "validate_pdf",
        ]
    )
    assert issubclass(SigningConfigError, SigningError)


def test_defaults_to_development_b_b():
    cfg = SignerConfig.from_env({}, DATA)
    assert cfg.uses_development_certificate and cfg.level == "B-B" and cfg.tsa_url is None


def test_tsa_url_alone_means_b_t():
    cfg = SignerConfig.from_env({"RECOUVRE_TSA_URL": "http://tsa.example/tsr"}, DATA)
    assert cfg.level == "B-T"


@pytest.mark.parametrize("level", ["b-lt", "B-LTA"])
def test_long_term_levels(level):
    env = {"RECOUVRE_TSA_URL": "https://tsa.example/tsr", "RECOUVRE_PADES_LEVEL": level}
    assert SignerConfig.from_env(env, DATA).level == level.upper()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RECOUVRE_PADES_LEVEL": "B-X"}, "RECOUVRE_PADES_LEVEL"),
        ({"RECOUVRE_PADES_LEVEL": "B-T"}, "RECOUVRE_TSA_URL"),
        ({"RECOUVRE_PADES_LEVEL": "B-LTA"}, "RECOUVRE_TSA_URL"),
        ({"RECOUVRE_PADES_LEVEL": "B-B", "RECOUVRE_TSA_URL": "http://tsa"}, "RECOUVRE_TSA_URL"),
        ({"RECOUVRE_TSA_URL": "ftp://tsa.example"}, "RECOUVRE_TSA_URL"),
        (
            {"RECOUVRE_SIGNING_P12": "/a.p12", "RECOUVRE_PKCS11_MODULE": "/lib.so"},
            "RECOUVRE_PKCS11_MODULE",
        ),
        ({"RECOUVRE_SIGNING_P12_PASSWORD": "x"}, "RECOUVRE_SIGNING_P12"),
        ({"RECOUVRE_PKCS11_TOKEN": "t"}, "RECOUVRE_PKCS11_MODULE"),
        (
            {
                "RECOUVRE_PKCS11_MODULE": "/lib.so",
                "RECOUVRE_PKCS11_KEY": "k",
                "RECOUVRE_PKCS11_PIN": "1",
            },
            "RECOUVRE_PKCS11_TOKEN",
        ),
        (
            {
                "RECOUVRE_PKCS11_MODULE": "/lib.so",
                "RECOUVRE_PKCS11_TOKEN": "t",
                "RECOUVRE_PKCS11_PIN": "1",
            },
            "RECOUVRE_PKCS11_KEY",
        ),
        (
            {
                "RECOUVRE_PKCS11_MODULE": "/lib.so",
                "RECOUVRE_PKCS11_TOKEN": "t",
                "RECOUVRE_PKCS11_KEY": "k",
            },
            "RECOUVRE_PKCS11_PIN",
        ),
    ],
)
def test_invalid_combinations_name_the_variable(env, variable):
    with pytest.raises(SigningConfigError, match=variable):
        SignerConfig.from_env(env, DATA)


def test_missing_p12_file(tmp_path):
    cfg = SignerConfig.from_env({"RECOUVRE_SIGNING_P12": str(tmp_path / "missing.p12")}, tmp_path)
    with pytest.raises(SigningConfigError, match="RECOUVRE_SIGNING_P12"):
        build_signer(cfg)


def test_wrong_p12_password(pki, tmp_path):
    cfg = SignerConfig.from_env(pki.env(RECOUVRE_SIGNING_P12_PASSWORD="wrong"), tmp_path)
    with pytest.raises(SigningConfigError, match="RECOUVRE_SIGNING_P12_PASSWORD"):
        build_signer(cfg)


def test_unreadable_trust_roots(pki, tmp_path):
    bogus = tmp_path / "roots.pem"
    bogus.write_text("not a certificate")
    for path in (bogus, tmp_path / "missing.pem"):
        cfg = SignerConfig.from_env(pki.env(RECOUVRE_SIGNING_TRUST_ROOTS=str(path)), tmp_path)
        with pytest.raises(SigningConfigError, match="RECOUVRE_SIGNING_TRUST_ROOTS"):
            build_signer(cfg)


def test_long_term_level_needs_trust_roots(pki, tmp_path):
    from certomancer.registry import CertLabel

    leaf_only = tmp_path / "leaf.p12"
    leaf_only.write_bytes(
        pki.arch.package_pkcs12(CertLabel("signer1"), certs_to_embed=[], password=b"pw")
    )
    env = {
        "RECOUVRE_SIGNING_P12": str(leaf_only),
        "RECOUVRE_SIGNING_P12_PASSWORD": "pw",
        "RECOUVRE_TSA_URL": pki.tsa_url,
        "RECOUVRE_PADES_LEVEL": "B-LT",
    }
    with pytest.raises(SigningConfigError, match="RECOUVRE_SIGNING_TRUST_ROOTS"):
        build_signer(SignerConfig.from_env(env, tmp_path))


def test_self_signed_certificate_is_its_own_root(tmp_path):
    env = {"RECOUVRE_TSA_URL": "http://127.0.0.1:9/tsa", "RECOUVRE_PADES_LEVEL": "B-LT"}
    signer = build_signer(SignerConfig.from_env(env, tmp_path))
    assert signer.level == "B-LT" and signer.trust_roots == [signer.certificate]


def test_unreachable_tsa_is_a_signing_error(tmp_path, letter_pdf):
    env = {"RECOUVRE_TSA_URL": "http://127.0.0.1:9/tsa"}
    signer = build_signer(SignerConfig.from_env(env, tmp_path))
    with pytest.raises(SigningError):
        signer.sign(letter_pdf, reason="r")


def test_sign_inside_an_event_loop_is_a_clear_error(tmp_path, letter_pdf):
    import asyncio

    signer = build_signer(SignerConfig.from_env({}, tmp_path))

    async def main():
        with pytest.raises(SigningError, match="event loop"):
            signer.sign(letter_pdf, reason="r")
        return await asyncio.to_thread(signer.sign, letter_pdf, reason="r")

    assert asyncio.run(main()).startswith(letter_pdf)


def test_secrets_stay_out_of_repr():
    env = {"RECOUVRE_SIGNING_P12": "/a.p12", "RECOUVRE_SIGNING_P12_PASSWORD": "hunter2"}
    assert "hunter2" not in repr(SignerConfig.from_env(env, DATA))
