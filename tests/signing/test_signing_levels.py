"""PKCS#12 signer at each PAdES level, checked by pyHanko, our report and pdfsig."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing import SignerConfig, build_signer, validate_pdf

from .signing_helpers import run_tool

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


@pytest.fixture(scope="module")
def signed_by_level(pki, letter_pdf, tmp_path_factory):
    out = {}
    for level in LEVELS:
        env = pki.env(
            RECOUVRE_PADES_LEVEL=level, RECOUVRE_TSA_URL=None if level == "B-B" else pki.tsa_url
        )
        with build_signer(SignerConfig.from_env(env, tmp_path_factory.mktemp("data"))) as signer:
            assert signer.level == level
            assert not signer.is_development
            out[level] = signer.sign(letter_pdf, reason="Mise en demeure", location="Lyon")
    return out


def _pyhanko_statuses(pdf: bytes, root):
    reader = PdfFileReader(io.BytesIO(pdf))
    statuses = []
    for sig in reader.embedded_signatures:
        vc = ValidationContext(trust_roots=[root], allow_fetching=True)
        if sig.sig_object_type == "/DocTimeStamp":
            statuses.append(("/DocTimeStamp", validate_pdf_timestamp(sig, validation_context=vc)))
        else:
            statuses.append(("/Sig", validate_pdf_signature(sig, vc, ts_validation_context=vc)))
    return reader, statuses


@pytest.mark.parametrize("level", LEVELS)
def test_signature_validates_with_pyhanko_against_test_root(signed_by_level, pki, level):
    reader, statuses = _pyhanko_statuses(signed_by_level[level], pki.root)
    kinds = [kind for kind, _ in statuses]
    assert kinds == (["/Sig", "/DocTimeStamp"] if level == "B-LTA" else ["/Sig"])
    sig_status = statuses[0][1]
    assert sig_status.bottom_line, sig_status.pretty_print_details()
    for kind, status in statuses[1:]:
        assert status.intact and status.valid and status.trusted, kind
    assert (sig_status.timestamp_validity is not None) == (level != "B-B")
    assert ("/DSS" in reader.root) == (level in ("B-LT", "B-LTA"))
    expected = (
        SignatureCoverageLevel.ENTIRE_FILE
        if level in ("B-B", "B-T")
        else SignatureCoverageLevel.ENTIRE_REVISION
    )
    assert sig_status.coverage == expected


@pytest.mark.parametrize("level", LEVELS)
def test_report_names_level_signer_and_trust(signed_by_level, pki, level):
    report = validate_pdf(signed_by_level[level], trust_roots=[pki.root]).to_dict()
    assert report["problems"] == []
    assert report["intact"] and report["valid"] and report["trusted"]
    assert report["level"] == level
    assert "CN=Claire Martin" in report["signer"]
    assert report["signed_at"].endswith("+00:00")
    assert (report["timestamp"] is None) == (level == "B-B")


@pytest.mark.parametrize("level", LEVELS)
def test_pdfsig_accepts_every_signature(signed_by_level, level, tmp_path):
    path = tmp_path / f"{level}.pdf"
    path.write_bytes(signed_by_level[level])
    output = run_tool("pdfsig", path=path)
    assert output.count("Signature is Valid.") == 1, output
    assert "ETSI.CAdES.detached" in output
    if level in ("B-B", "B-T"):
        assert "Total document signed" in output
    else:  # the DSS (and document timestamp) come in later incremental updates
        assert "Not total document signed" in output


def test_long_term_levels_embed_revocation_data(signed_by_level):
    for level in ("B-LT", "B-LTA"):
        dss = PdfFileReader(io.BytesIO(signed_by_level[level])).root["/DSS"]
        assert "/Certs" in dss
        assert "/OCSPs" in dss or "/CRLs" in dss


def test_signing_only_appends_to_the_input(signed_by_level, letter_pdf):
    for signed in signed_by_level.values():
        assert signed.startswith(letter_pdf)


def test_signer_is_reused_for_many_documents(pki, letter_pdf, tmp_path):
    env = pki.env(RECOUVRE_TSA_URL=pki.tsa_url)
    with build_signer(SignerConfig.from_env(env, tmp_path)) as signer:
        first, second = (signer.sign(letter_pdf, reason="Relance") for _ in range(2))
    for signed in (first, second):
        report = validate_pdf(signed, trust_roots=[pki.root])
        assert report.ok and report.level == "B-T"


def test_a_tsa_out_of_reach_is_a_transient_signing_error(pki, letter_pdf, tmp_path):
    """The signer talks to the TSA, so it says when a retry may help; a PDF it cannot read never will."""
    import socket

    from signing import SigningError

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = pki.env(RECOUVRE_PADES_LEVEL="B-T", RECOUVRE_TSA_URL=f"http://127.0.0.1:{port}/tsa")
    with build_signer(SignerConfig.from_env(env, tmp_path / "down")) as signer:
        with pytest.raises(SigningError, match="could not size") as sizing:
            signer.sign(letter_pdf, reason="Relance")
        assert sizing.value.transient is True
        signer._bytes_reserved = 32_000  # sized while the TSA answered; it went away since
        with pytest.raises(SigningError, match="signing failed") as signing:
            signer.sign(letter_pdf, reason="Relance")
        assert signing.value.transient is True
    with build_signer(SignerConfig.from_env(pki.env(), tmp_path / "up")) as signer:
        with pytest.raises(SigningError) as broken:
            signer.sign(b"%PDF-1.7 broken", reason="Relance")
        assert broken.value.transient is False
