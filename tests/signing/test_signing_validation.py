"""validate_pdf answers, never raises."""

from __future__ import annotations

import io
import logging

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from signing import SignerConfig, build_signer, validate_pdf


@pytest.fixture(scope="module")
def signer(pki, tmp_path_factory):
    with build_signer(SignerConfig.from_env(pki.env(), tmp_path_factory.mktemp("data"))) as signer:
        yield signer


@pytest.fixture(scope="module")
def signed(signer, letter_pdf):
    return signer.sign(letter_pdf, reason="Mise en demeure", location="Lyon")


def test_genuine_document(signed, pki):
    report = validate_pdf(signed, trust_roots=[pki.root]).to_dict()
    assert report == {
        "intact": True,
        "valid": True,
        "signer": report["signer"],
        "signed_at": report["signed_at"],
        "timestamp": None,
        "level": "B-B",
        "trusted": True,
        "problems": [],
    }
    assert report["signer"].startswith("CN=Claire Martin")


def test_without_trust_roots_nothing_is_trusted(signed):
    report = validate_pdf(signed)
    assert report.intact and report.valid and not report.trusted
    assert any("not trusted" in p for p in report.problems)


def test_signer_exposes_its_roots_for_our_own_documents(signed, signer, pki):
    assert [c.dump() for c in signer.trust_roots] == [pki.root.dump()]
    assert validate_pdf(signed, trust_roots=signer.trust_roots).ok


@pytest.mark.parametrize("marker", [b"/Pages 2 0 R", b"(Lyon)", b"startxref"])
def test_flipped_byte_breaks_integrity(signed, pki, marker):
    tampered = bytearray(signed)
    tampered[signed.rindex(marker) + 2] ^= 0x01
    report = validate_pdf(bytes(tampered), trust_roots=[pki.root])
    assert report.intact is False
    assert report.valid is False
    assert report.problems


def test_appended_bytes_break_integrity(signed, pki):
    report = validate_pdf(signed + b"\n1 0 obj (PAYE) endobj\n", trust_roots=[pki.root])
    assert report.intact is False and report.problems


def test_appended_content_update_breaks_integrity(signed, pki):
    writer = PdfWriter(io.BytesIO(signed), incremental=True)
    overlay = io.BytesIO()
    c = canvas.Canvas(overlay)
    c.drawString(100, 100, "PAYÉ")
    c.save()
    writer.pages[0].merge_page(PdfReader(overlay).pages[0])
    out = io.BytesIO()
    writer.write(out)
    report = validate_pdf(out.getvalue(), trust_roots=[pki.root])
    assert report.intact is False
    assert any("modified after signing" in p for p in report.problems)


def test_unsigned_pdf(letter_pdf):
    report = validate_pdf(letter_pdf).to_dict()
    assert report["valid"] is False and report["problems"] == ["no signature"]


@pytest.mark.parametrize("garbage", [b"", b"hello", b"%PDF-1.7\n garbage", bytes(range(256)) * 10])
def test_garbage_is_not_a_pdf(garbage):
    report = validate_pdf(garbage).to_dict()
    assert report["problems"] == ["not a PDF"]
    assert report["intact"] is False and report["valid"] is False and report["trusted"] is False


def test_validation_works_inside_an_event_loop(signed, pki):
    import asyncio

    async def main():
        return validate_pdf(signed, trust_roots=[pki.root])

    assert asyncio.run(main()).ok


def _records_of_one_validation(caplog, pdf, **kwargs):
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        report = validate_pdf(pdf, **kwargs)
    return report, [r for r in caplog.records if r.levelno >= logging.INFO]


def test_an_untrusted_signature_logs_one_line_and_no_traceback(signed, caplog):
    report, records = _records_of_one_validation(caplog, signed)
    assert not report.trusted
    assert [(r.name, r.levelno) for r in records] == [("recouvre.signing", logging.WARNING)]
    line = records[0].getMessage()
    assert line.startswith("signature validation: intact=True valid=True trusted=False level=B-B")
    assert "not trusted" in line and "\n" not in line
    assert records[0].exc_info is None and not caplog.text.count("Traceback")


def test_a_trusted_signature_logs_one_info_line(signed, pki, caplog):
    report, records = _records_of_one_validation(caplog, signed, trust_roots=[pki.root])
    assert report.ok
    assert [(r.name, r.levelno) for r in records] == [("recouvre.signing", logging.INFO)]
    assert "trusted=True" in records[0].getMessage() and "problems=none" in records[0].getMessage()


def test_pyhanko_logs_outside_our_validations_are_untouched(caplog):
    # The logger's own level is set for the test: `recouvre proof verify`, run in-process by other
    # tests, quiets the "pyhanko" parent logger, which is not what this test is about.
    with caplog.at_level(logging.WARNING, logger="pyhanko.sign.validation.generic_cms"):
        logging.getLogger("pyhanko.sign.validation.generic_cms").warning("outside any validation")
    assert "outside any validation" in caplog.text
