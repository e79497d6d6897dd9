"""One real LibreOffice converter pool for the whole session, and documents generated once."""
from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from gen_support import AS_OF, agency_case, b2b_claim, b2c_claim, dupont_case, load_case

from generators import ConverterPool, DocumentKind, DocumentPipeline, DocumentRequest, Piece


@pytest.fixture(scope="session")
def pool(tmp_path_factory) -> Iterator[ConverterPool]:
    pool = ConverterPool(size=2, work_dir=tmp_path_factory.mktemp("libreoffice"), timeout=60.0)
    pool.start()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def pipeline(pool) -> DocumentPipeline:
    return DocumentPipeline(converter=pool)


CASES = {
    "b2b": lambda: (load_case("b2b"), b2b_claim()),
    "b2c": lambda: (load_case("b2c"), b2c_claim()),
    "agency": lambda: (agency_case(), b2b_claim(warnings=("Taux BCE du 2nd semestre 2026 non publié.",))),
    "dupont": lambda: (dupont_case(), b2b_claim()),
}


def _reportlab_pdf(pages: list[str], rotate_last: bool = False) -> bytes:
    """A small uploaded PDF with an embedded TrueType font (as a scanner's OCR layer would have)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("TestSerif", "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595.28, 841.89), initialFontName="TestSerif")
    for i, text in enumerate(pages):
        if rotate_last and i == len(pages) - 1:
            c.setPageRotation(90)
        c.setFont("TestSerif", 14)
        c.drawString(72, 400, text)
        c.showPage()
    c.save()
    return buf.getvalue()


def _image(fmt: str, size=(1240, 1754), color=(250, 250, 245)) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    draw.rectangle([100, 100, size[0] - 100, 300], outline=(0, 0, 0), width=6)
    draw.text((130, 180), "FACTURE (scan)", fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture(scope="session")
def b2b_pieces() -> list[Piece]:
    return [
        Piece(number=None, title="Devis D-2025-118 signé", kind="contract", date=None,
              pdf=_reportlab_pdf(["Devis D-2025-118 — bon pour accord"]), media_type="application/pdf"),
        Piece(number=None, title="Facture F-2025-0412", kind="invoice", date=None, image=_image("PNG"),
              media_type="image/png"),
        Piece(number=None, title="Facture F-2025-0467", kind="invoice", date=None,
              image=_image("JPEG", size=(1754, 1240)), media_type="image/jpeg"),
        Piece(number=None, title="Échanges de courriels avec le gérant", kind="evidence", date=None,
              pdf=_reportlab_pdf(["Courriel du 21/11/2025", "Courriel du 05/12/2025"], rotate_last=True)),
    ]


@pytest.fixture(scope="session")
def generated(pipeline, b2b_pieces):
    """generated(case_name, kind) → GeneratedDocument, each generated once per session."""
    cache: dict = {}

    def get(case_name: str, kind: DocumentKind):
        key = (case_name, kind)
        if key not in cache:
            case, claim = CASES[case_name]()
            pieces = list(b2b_pieces) if case_name == "b2b" else []
            if case_name == "b2b" and kind is DocumentKind.dossier_injonction_de_payer:
                # the mise en demeure as sent, and the post office's proof, scanned
                pieces += [
                    Piece(number=None, title="Mise en demeure (LRAR)", kind="mise_en_demeure", date=AS_OF,
                          pdf=get("b2b", DocumentKind.mise_en_demeure).pdf),
                    Piece(number=None, title="Preuve de dépôt de la LRAR", kind="proof_of_mailing", date=AS_OF,
                          image=_image("PNG", size=(900, 600)), media_type="image/png"),
                ]
            cache[key] = pipeline.generate(DocumentRequest(kind=kind, case=case, claim=claim, as_of=AS_OF,
                                                           pieces=pieces))
        return cache[key]

    return get
