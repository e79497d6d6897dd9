"""Helpers shared by the signing tests: a PDF/A-like letter, running poppler/qpdf tools."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf"


_PDFA_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Mise en demeure</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
{extra} </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def make_letter(pages: int = 1, *, extra_xmp: str = "") -> bytes:
    """PDF/A-like letter: reportlab with an embedded TTF, XMP pdfaid claim added by pypdf.

    ``extra_xmp``: further rdf:Description elements for the XMP packet.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("LiberationSans", FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, initialFontName="LiberationSans", initialFontSize=11)
    for page in range(pages):
        y = 780
        for line in (
            "Cabinet Recouvre — 12 rue de la République, 69002 Lyon",
            "Lyon, le 23 novembre 2026",
            "Objet : mise en demeure de payer",
            "Madame, Monsieur,",
            "Nous vous mettons en demeure de régler la somme de 1 234,56 € sous huit jours.",
            f"Page {page + 1}/{pages}",
        ):
            c.drawString(72, y, line)
            y -= 18
        c.showPage()
    c.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    xmp = DecodedStreamObject()
    xmp.set_data(_PDFA_XMP.replace("{extra}", extra_xmp).encode("utf-8"))
    xmp.update(
        {NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")}
    )
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def run_tool(*args: str, path: Path) -> str:
    """Run a poppler/qpdf tool on ``path``; a missing tool fails the test."""
    done = subprocess.run([*args, str(path)], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr
