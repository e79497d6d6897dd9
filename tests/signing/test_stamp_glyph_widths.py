"""The visible stamp's text must be spaced as the font says (PDF widths are per 1000 em)."""
from __future__ import annotations

import io

from pypdf import PdfReader
from reportlab.pdfgen import canvas

from signing import SignatureAppearance, SignerConfig, build_signer


def _stamp_widths(pdf: bytes) -> list[int]:
    widths = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for annot in page.get("/Annots", []):
            ap = annot.get_object()["/AP"]["/N"].get_object()
            stack = [ap]
            while stack:
                xobj = stack.pop()
                res = xobj.get("/Resources", {})
                for font in res.get("/Font", {}).values():
                    for desc in font.get_object().get("/DescendantFonts", []):
                        for item in desc.get_object().get("/W", []):
                            if isinstance(item, list) or hasattr(item, "__iter__"):
                                widths += [int(w) for w in item]
                stack += [x.get_object() for x in res.get("/XObject", {}).values()]
    return widths


def test_stamp_glyph_widths_are_in_thousandths_of_an_em(tmp_path):
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(100, 700, "lettre")
    c.save()
    signer = build_signer(SignerConfig.from_env({}, tmp_path))
    signed = signer.sign(buf.getvalue(), reason="test", appearance=SignatureAppearance(
        page=0, box=(100, 500, 400, 580), signatory="Claire Martin, Gérante"))
    widths = _stamp_widths(signed)
    assert widths, "the stamp font carries a /W array"
    # Liberation Sans: 'a' is 556/1000 em. Unscaled 2048-unit widths (1139 for 'a', up to 1706)
    # would draw every glyph about twice too far from the next.
    assert max(widths) <= 1100 and 540 <= sorted(widths)[len(widths) // 2] <= 620
