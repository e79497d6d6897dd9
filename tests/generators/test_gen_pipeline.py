"""Pipeline logic with a fake converter: pièces, warnings, finishing, errors. No LibreOffice here."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from gen_support import AS_OF, b2b_claim, b2c_claim, load_case, zip_names
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from generators import DocumentKind, DocumentPipeline, DocumentRequest, GenerationError, Piece
from generators._pieces import piece_pdf, plan_pieces, stamp_piece


class FakeConverter:
    """Answers a one-page PDF per DOCX, as LibreOffice would, and counts the calls."""

    size = 1

    def __init__(self, fail: GenerationError | None = None):
        self.calls = 0
        self.fail = fail

    def convert(self, docx: bytes, *, timeout: float | None = None) -> bytes:
        self.calls += 1
        if self.fail:
            raise self.fail
        assert docx.startswith(b"PK")
        return blank_pdf()


def blank_pdf(pages: int = 1) -> bytes:
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(595.28, 841.89)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def request(kind=DocumentKind.mise_en_demeure, case=None, claim=None, **kw) -> DocumentRequest:
    return DocumentRequest(kind=kind, case=case or load_case("b2b"), claim=claim or b2b_claim(), as_of=AS_OF, **kw)


def test_generation_error_names_its_step():
    err = GenerationError("assemble", "pièce illisible")
    assert str(err) == "assemble: pièce illisible" and err.step == "assemble" and err.message == "pièce illisible"


def test_plan_lists_contract_invoices_written_reminders_and_keeps_explicit_numbers():
    case = load_case("b2b")
    pieces = [Piece(number=7, title="Conditions générales de vente", kind="evidence", pdf=blank_pdf()),
              Piece(number=None, title="Facture F-2025-0467 (copie)", kind="invoice", pdf=blank_pdf())]
    planned, warnings = plan_pieces(case, pieces, AS_OF)
    assert [(p.number, p.title, p.attached) for p in planned] == [
        (1, "Contrat : Devis D-2025-118 du 2 septembre 2025", False),
        (2, "Facture n° F-2025-0412 du 1er octobre 2025", False),
        (3, "Facture F-2025-0467 (copie)", True),
        (4, "Relance par courriel du 7 novembre 2025", False),
        (5, "Relance par courrier du 5 janvier 2026", False),
        (7, "Conditions générales de vente", True),
    ]
    assert len(warnings) == 4 and all("copie à joindre" in w for w in warnings)


def test_an_invoice_piece_must_name_the_exact_number():
    case = load_case("b2b")
    planned, _ = plan_pieces(case, [Piece(None, "Facture F-2025-04120", "invoice", pdf=blank_pdf())], AS_OF)
    assert any(p.title.startswith("Facture n° F-2025-0412 ") and not p.attached for p in planned)


def test_reminders_after_the_letter_date_are_not_pieces_yet():
    planned, _ = plan_pieces(load_case("b2b"), [], dt.date(2025, 12, 1))
    assert [p.title for p in planned if p.kind == "reminder"] == ["Relance par courriel du 7 novembre 2025"]


def test_duplicate_piece_numbers_are_refused():
    pieces = [Piece(2, "A", "evidence", pdf=blank_pdf()), Piece(2, "B", "evidence", pdf=blank_pdf())]
    with pytest.raises(GenerationError, match="assemble: deux pièces portent le numéro 2"):
        DocumentPipeline(FakeConverter()).generate(request(DocumentKind.bordereau_pieces, pieces=pieces))


@pytest.mark.parametrize("written, rank", [([], 1), (["sms", "phone"], 1), (["email"], 2), (["letter", "sms"], 2)])
def test_reminder_rank_counts_written_reminders_only(written, rank):
    reminders = [{"date": f"2026-01-0{i + 1}", "channel": c, "summary": "x"} for i, c in enumerate(written)]
    case = load_case("b2c", reminders=reminders)
    ctx, _ = DocumentPipeline(FakeConverter()).context(request(DocumentKind.relance, case=case, claim=b2c_claim()))
    assert ctx["relance"]["rang"] == rank and ctx["relance"]["premiere"] is (rank == 1)


def test_warnings_for_claim_date_regime_and_court():
    case = load_case("b2c")
    claim = b2b_claim(warnings=("taux provisoire",))  # commercial claim on a consumer case
    pipe = DocumentPipeline(FakeConverter())
    doc = pipe.generate(request(DocumentKind.requete_injonction_de_payer, case=case, claim=claim,
                                letter_date=dt.date(2026, 7, 2)))
    text = "\n".join(doc.warnings)
    assert "taux provisoire" not in text          # the claim's warnings stay the caller's
    assert "arrêté au 30 juin 2026 mais le document est daté du 2 juillet 2026" in text
    assert "régime commercial" in text
    assert "tribunal judiciaire du lieu du domicile du débiteur (33000 Bordeaux)" in text
    assert "IBAN du créancier inconnu" in text
    # the court placeholder is the requête's business, not the letter's
    med = pipe.generate(request(DocumentKind.mise_en_demeure, case=case, claim=b2c_claim()))
    assert not any("Juridiction" in w for w in med.warnings)


def test_natural_person_creditor_gets_cpc_54_placeholders():
    case = load_case("b2c", creditor={"kind": "individual", "name": "Mme Sophie Lambert",
                                      "address": {"lines": ["5 impasse des Lilas"], "postal_code": "44000",
                                                  "city": "Nantes"}})
    ctx, warnings = DocumentPipeline(FakeConverter()).context(
        request(DocumentKind.requete_injonction_de_payer, case=case, claim=b2c_claim()))
    identity = ctx["creancier"]["identite"]
    assert identity.startswith("Mme Sophie Lambert, né(e) le [À COMPLÉTER : date de naissance]")
    assert "de profession [À COMPLÉTER : profession], de nationalité [À COMPLÉTER : nationalité]" in identity
    assert any("art. 54 CPC" in w for w in warnings)


def test_finish_error_and_bad_finish_output_are_finish_errors():
    pipe = DocumentPipeline(FakeConverter())

    def boom(pdf, hint):
        raise RuntimeError("HSM unavailable")

    with pytest.raises(GenerationError) as err:
        pipe.generate(request(), finish=boom)
    assert err.value.step == "finish" and "HSM unavailable" in str(err.value) and err.value.transient is False
    with pytest.raises(GenerationError, match="^finish: "):
        pipe.generate(request(), finish=lambda pdf, hint: b"not a pdf")


def test_convert_errors_pass_through():
    fake = FakeConverter(fail=GenerationError("convert", "LibreOffice died"))
    with pytest.raises(GenerationError, match="^convert: LibreOffice died"):
        DocumentPipeline(fake).generate(request())


def test_payment_days_must_be_positive():
    with pytest.raises(GenerationError, match="^render: "):
        DocumentPipeline(FakeConverter()).generate(request(payment_days=0))


def test_dossier_with_fake_converter_bundles_parts_in_order():
    fake = FakeConverter()
    pieces = [Piece(None, "Facture F-2025-0412", "invoice", pdf=blank_pdf(2)),
              Piece(None, "Photo de la vitrine", "evidence", image=_png(), media_type="image/png")]
    doc = DocumentPipeline(fake).generate(request(DocumentKind.dossier_injonction_de_payer, pieces=pieces))
    assert fake.calls == 3
    assert zip_names(doc.zip) == ["01-requete.pdf", "02-decompte.pdf", "03-bordereau.pdf",
                                  "piece-02-facture-f-2025-0412.pdf", "piece-06-photo-de-la-vitrine.pdf"]
    reader = PdfReader(io.BytesIO(doc.pdf))
    assert len(reader.pages) == 3 + 2 + 1
    assert [o.title for o in reader.outline][3:] == ["Pièce n°2 — Facture F-2025-0412",
                                                     "Pièce n°6 — Photo de la vitrine"]
    assert reader.page_labels == ["R-1", "D-1", "B-1", "P2-1", "P2-2", "P6-1"]


def _png(size=(300, 200), mode="RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, "white" if mode != "CMYK" else (0, 0, 0, 0)).save(buf, format="PNG" if mode != "CMYK"
                                                                               else "JPEG")
    return buf.getvalue()


def _planned(piece: Piece, number: int = 3):
    from generators._pieces import PlannedPiece
    return PlannedPiece(number, piece.title, piece.kind, piece.date, piece)


def test_images_become_a4_pages_in_their_orientation():
    landscape = piece_pdf(_planned(Piece(None, "Scan", "evidence", image=_png((2000, 1000)))))
    portrait = piece_pdf(_planned(Piece(None, "Scan", "evidence", image=_png((1000, 2000)))))
    cmyk = piece_pdf(_planned(Piece(None, "Scan", "evidence", image=_png((800, 1200), "CMYK"),
                                    media_type="image/jpeg")))
    box = PdfReader(io.BytesIO(landscape)).pages[0].mediabox
    assert round(float(box.width)) == 842 and round(float(box.height)) == 595
    box = PdfReader(io.BytesIO(portrait)).pages[0].mediabox
    assert round(float(box.width)) == 595 and round(float(box.height)) == 842
    img = next(iter(PdfReader(io.BytesIO(cmyk)).pages[0].images))
    assert img.image.mode in ("RGB", "L")   # no DeviceCMYK under an sRGB output intent
    with pytest.raises(GenerationError, match="assemble: .*image illisible"):
        piece_pdf(_planned(Piece(None, "Scan", "evidence", image=b"\x89PNG broken", media_type="image/png")))


def test_unreadable_or_encrypted_piece_pdfs_fail_the_assembly():
    with pytest.raises(GenerationError, match="^assemble: Pièce n°3 .*illisible"):
        stamp_piece(b"%PDF-1.7 garbage", _planned(Piece(None, "X", "evidence", pdf=b"%PDF-1.7 garbage")))
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password="secret", owner_password="owner")
    buf = io.BytesIO()
    w.write(buf)
    with pytest.raises(GenerationError, match="mot de passe"):
        stamp_piece(buf.getvalue(), _planned(Piece(None, "X", "evidence", pdf=buf.getvalue())))


def test_piece_warnings_for_unembedded_fonts_and_lost_signatures():
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 700, "Helvetica, not embedded")
    c.save()
    stamped, warnings = stamp_piece(buf.getvalue(), _planned(Piece(None, "CGV", "evidence", pdf=buf.getvalue())))
    assert any("polices non incorporées (Helvetica)" in w for w in warnings)
    assert "Pièce n°3" in PdfReader(io.BytesIO(stamped)).pages[0].extract_text()

    w = PdfWriter()
    w.add_blank_page(595, 842)
    sig = DictionaryObject({NameObject("/FT"): NameObject("/Sig"), NameObject("/T"): TextStringObject("Signature1")})
    w.root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([w._add_object(sig)])})
    out = io.BytesIO()
    w.write(out)
    _, warnings = stamp_piece(out.getvalue(), _planned(Piece(None, "Contrat signé", "contract", pdf=out.getvalue())))
    assert any("signé électroniquement" in w for w in warnings)


def test_a_signed_piece_is_stamped_without_its_dead_signature(shared_signer):
    """A copied signature no longer covers its bytes: pdfsig would call the dossier tampered."""
    import subprocess
    import tempfile

    from signing import SignatureAppearance

    signed = shared_signer.sign(blank_pdf(2), reason="Mise en demeure",
                                appearance=SignatureAppearance(page=-1, signatory="Claire Martin"))
    stamped, _ = stamp_piece(signed, _planned(Piece(None, "Mise en demeure", "formal_notice", pdf=signed)))
    reader = PdfReader(io.BytesIO(stamped))
    assert "/AcroForm" not in reader.root_object
    assert not any(a.get_object().get("/FT") == "/Sig" for p in reader.pages for a in p.get("/Annots") or [])
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(stamped)
        f.flush()
        out = subprocess.run(["pdfsig", f.name], check=False, capture_output=True, text=True).stdout
    assert "does not contain any signatures" in out
    # The visible block still prints on the copy, under the stamp.
    assert "Claire Martin" in reader.pages[-1].extract_text() and "Pièce n°3" in reader.pages[-1].extract_text()


def test_a_time_stamping_authority_out_of_reach_is_a_transient_finish_error(tmp_path, shared_signer):
    """The signer, which talks to the TSA, says its failure is worth a retry (SigningError.transient)."""
    import socket

    from signing import SignerConfig, build_signer

    with socket.socket() as s:           # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    signer = build_signer(SignerConfig.from_env({"RECOUVRE_TSA_URL": f"http://127.0.0.1:{port}/tsa",
                                                 "RECOUVRE_PADES_LEVEL": "B-T"}, tmp_path))
    pipe = DocumentPipeline(FakeConverter())
    with pytest.raises(GenerationError) as err:
        pipe.generate(request(), finish=lambda pdf, hint: signer.sign(pdf, reason="test"))
    assert err.value.step == "finish" and err.value.transient is True
    with pytest.raises(GenerationError) as err:       # a PDF the signer cannot parse is not
        pipe.generate(request(), finish=lambda pdf, hint: shared_signer.sign(b"%PDF-1.7 broken", reason="test"))
    assert err.value.step == "finish" and err.value.transient is False


def test_render_and_assembly_errors_are_permanent():
    with pytest.raises(GenerationError) as err:
        DocumentPipeline(FakeConverter()).generate(request(payment_days=0))
    assert err.value.transient is False
    pieces = [Piece(None, "X", "evidence", pdf=b"%PDF-1.7 garbage")]
    with pytest.raises(GenerationError) as err:
        DocumentPipeline(FakeConverter()).generate(request(DocumentKind.dossier_injonction_de_payer, pieces=pieces))
    assert err.value.step == "assemble" and err.value.transient is False
