"""Visible signature block, PDF/A-relevant properties, awkward inputs."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
from pypdf import PdfReader, PdfWriter

from signing import (
    SignatureAppearance,
    SignerConfig,
    SigningConfigError,
    SigningError,
    build_signer,
    validate_pdf,
)

from .signing_helpers import make_letter, run_tool


@pytest.fixture(scope="module")
def signer(pki, tmp_path_factory):
    with build_signer(SignerConfig.from_env(pki.env(), tmp_path_factory.mktemp("data"))) as signer:
        yield signer


@pytest.fixture(scope="module")
def stamped(signer):
    letter = make_letter(pages=2)
    appearance = SignatureAppearance(
        page=-1, box=(330, 40, 560, 110), signatory="Claire Martin, Gérante"
    )
    return signer.sign(letter, reason="Mise en demeure", location="Lyon", appearance=appearance)


def _write(tmp_path, data: bytes, name="signed.pdf"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_stamp_is_on_the_requested_page_and_box(stamped):
    reader = PdfReader(io.BytesIO(stamped))
    assert not reader.pages[0].get("/Annots")
    widgets = [a.get_object() for a in reader.pages[1]["/Annots"]]
    assert [w["/Subtype"] for w in widgets] == ["/Widget"]
    assert [round(float(v)) for v in widgets[0]["/Rect"]] == [330, 40, 560, 110]
    assert widgets[0]["/FT"] == "/Sig" and "/AP" in widgets[0]
    assert int(widgets[0]["/F"]) & 4  # printable, as PDF/A requires


def test_stamp_text_is_extractable(stamped, tmp_path):
    path = _write(tmp_path, stamped)
    text = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", str(path), "-"], capture_output=True, text=True
    ).stdout
    assert "Claire Martin, Gérante" in text
    assert "Signé électroniquement par" in text


def test_every_font_is_embedded(stamped, tmp_path):
    output = run_tool("pdffonts", path=_write(tmp_path, stamped))
    rows = [line.split() for line in output.splitlines()[2:] if line.strip()]
    assert len(rows) >= 2  # the letter's font and the stamp's
    assert any("Identity-H" in row for row in rows)
    for row in rows:
        emb = row[-5]
        assert emb == "yes", output


def test_xmp_pdfa_claim_survives_signing(stamped, tmp_path):
    meta = run_tool("pdfinfo", "-meta", path=_write(tmp_path, stamped))
    assert re.search(r'pdfaid:part(>|=")2', meta), meta
    assert re.search(r'pdfaid:conformance(>|=")B', meta), meta


def test_visible_signature_is_valid_everywhere(stamped, pki, tmp_path):
    assert validate_pdf(stamped, trust_roots=[pki.root]).ok
    output = run_tool("pdfsig", path=_write(tmp_path, stamped))
    assert "Signature is Valid." in output and "Total document signed" in output
    assert "No syntax or stream encoding errors" in run_tool(
        "qpdf", "--check", path=_write(tmp_path, stamped)
    )


def test_second_signature_keeps_the_first_valid(signer, stamped, pki, tmp_path):
    twice = signer.sign(stamped, reason="Contreseing", appearance=SignatureAppearance(page=0))
    report = validate_pdf(twice, trust_roots=[pki.root])
    assert report.ok, report.problems
    output = run_tool("pdfsig", path=_write(tmp_path, twice))
    assert output.count("Signature is Valid.") == 2, output
    assert "Signature2" in output


@pytest.mark.parametrize("qpdf_args", [["--object-streams=generate"], ["--linearize"]])
def test_inputs_rewritten_by_qpdf_sign_fine(signer, pki, letter_pdf, tmp_path, qpdf_args):
    src, dst = _write(tmp_path, letter_pdf, "in.pdf"), tmp_path / "out.pdf"
    subprocess.run(["qpdf", *qpdf_args, str(src), str(dst)], check=True)
    signed = signer.sign(dst.read_bytes(), reason="r", appearance=SignatureAppearance())
    assert validate_pdf(signed, trust_roots=[pki.root]).ok
    assert "Signature is Valid." in run_tool("pdfsig", path=_write(tmp_path, signed))


def test_pypdf_assembled_input_signs_fine(signer, pki, letter_pdf):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(letter_pdf)))
    writer.append(PdfReader(io.BytesIO(make_letter(pages=2))), outline_item="Pièce n°1")
    writer.add_outline_item(title="Lettre", page_number=0)
    buf = io.BytesIO()
    writer.write(buf)
    assert validate_pdf(signer.sign(buf.getvalue(), reason="r"), trust_roots=[pki.root]).ok


def test_hybrid_xref_input_signs_fine(signer, pki, letter_pdf):
    signed = signer.sign(_make_hybrid(letter_pdf), reason="r")
    assert validate_pdf(signed, trust_roots=[pki.root]).ok


def _make_hybrid(pdf: bytes) -> bytes:
    """Append an update with both a classic xref table and an /XRefStm, like Word exports."""
    reader = PdfReader(io.BytesIO(pdf))
    size = int(reader.trailer["/Size"])
    root_ref = reader.trailer.raw_get("/Root")
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    # object `size`: a trivial dictionary reachable only via the xref stream
    obj_offset = len(out)
    out += b"%d 0 obj\n<< /Hybrid true >>\nendobj\n" % size
    stm_num = size + 1
    stm_offset = len(out)
    rows = b"".join(
        [
            bytes([1]) + obj_offset.to_bytes(4, "big") + b"\x00",
            bytes([1]) + stm_offset.to_bytes(4, "big") + b"\x00",
        ]
    )
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 1] /Index [%d 2] /Length %d >>\nstream\n"
        % (stm_num, stm_num + 1, size, len(rows))
        + rows
        + b"\nendstream\nendobj\n"
    )
    xref_offset = len(out)
    out += (
        b"xref\n0 0\ntrailer\n<< /Size %d /Root %d %d R /Prev %d /XRefStm %d >>\n"
        b"startxref\n%d\n%%%%EOF\n"
        % (
            stm_num + 1,
            root_ref.idnum,
            root_ref.generation,
            prev,
            stm_offset,
            xref_offset,
        )
    )
    return bytes(out)


def test_hybrid_fixture_is_really_hybrid(letter_pdf):
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(_make_hybrid(letter_pdf)), strict=True)
    assert reader.xrefs.hybrid_xrefs_present
    assert reader.root["/Type"] == "/Catalog"


def test_configured_font_is_used_and_slimmed_once(pki, letter_pdf, tmp_path):
    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    cfg = SignerConfig.from_env(pki.env(RECOUVRE_SIGNING_FONT=dejavu), tmp_path)
    with build_signer(cfg) as signer:
        signed = [
            signer.sign(letter_pdf, reason="r", appearance=SignatureAppearance()) for _ in "ab"
        ]
    cached = list((tmp_path / "signing").glob("stamp-font-*.ttf"))
    assert len(cached) == 1
    output = run_tool("pdffonts", path=_write(tmp_path, signed[1]))
    assert "DejaVuSans-Identity-H" in output
    assert validate_pdf(signed[1], trust_roots=[pki.root]).ok


def test_missing_configured_font(pki, tmp_path):
    env = pki.env(RECOUVRE_SIGNING_FONT=str(tmp_path / "nope.ttf"))
    with pytest.raises(SigningConfigError, match="RECOUVRE_SIGNING_FONT"):
        build_signer(SignerConfig.from_env(env, tmp_path))


def test_bad_appearance_is_refused(signer, letter_pdf):
    with pytest.raises(SigningError, match="page 5"):
        signer.sign(letter_pdf, reason="r", appearance=SignatureAppearance(page=5))
    with pytest.raises(SigningError, match="box"):
        signer.sign(letter_pdf, reason="r", appearance=SignatureAppearance(box=(500, 40, 300, 100)))


def test_garbage_input_is_refused(signer):
    with pytest.raises(SigningError, match="not a readable PDF"):
        signer.sign(b"definitely not a pdf", reason="r")
