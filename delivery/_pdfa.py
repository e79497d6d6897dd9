"""PDF/A-2b identification for PDFs drawn with reportlab, which cannot claim it itself.

Adds what ISO 19005-2 level B looks for beyond embedded fonts: an XMP packet with
pdfaid part 2 / conformance B that agrees with /Info, and an sRGB OutputIntent.
No PDF/A validator (veraPDF) runs offline here, so conformance is by construction.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from functools import lru_cache
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

__all__ = ["claims_pdfa", "drop_pdfa_claim", "make_pdfa2b"]

CREATOR = "Recouvre"
_PRODUCER = "Recouvre (reportlab, pypdf)"
_PDFAID = re.compile(
    rb"<rdf:Description[^>]*xmlns:pdfaid=[^>]*>.*?</rdf:Description>\s*", re.DOTALL
)
_ICC_CANDIDATES = (
    "/usr/share/color/icc/sRGB.icc",
    "/usr/share/color/icc/colord/sRGB.icc",
    "/usr/share/color/icc/ghostscript/srgb.icc",
)


@lru_cache(maxsize=1)
def srgb_icc_profile() -> bytes:
    """An sRGB ICC profile: the system's if installed, else the one lcms builds (ICC v4,
    which PDF/A-2 accepts). Pillow comes with reportlab, so the fallback is always there."""
    for path in _ICC_CANDIDATES:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            continue
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _pdf_date(when: datetime) -> str:
    offset = when.strftime("%z") or "+0000"
    return when.strftime("D:%Y%m%d%H%M%S") + f"{offset[:3]}'{offset[3:]}'"


def _xmp(title: str, when: datetime) -> bytes:
    stamp = when.isoformat(timespec="seconds")
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{CREATOR}</xmp:CreatorTool>
   <xmp:CreateDate>{stamp}</xmp:CreateDate>
   <xmp:ModifyDate>{stamp}</xmp:ModifyDate>
   <xmp:MetadataDate>{stamp}</xmp:MetadataDate>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{_PRODUCER}</pdf:Producer>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def _set_xmp(writer: PdfWriter, xmp: bytes) -> None:
    # Left unfiltered: PDF/A readers must find the packet without decoding.
    writer.xmp_metadata = xmp
    stream = writer.root_object["/Metadata"].get_object()
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")


def make_pdfa2b(pdf: bytes, *, title: str, created_at: datetime) -> bytes:
    """Return `pdf` (fonts already embedded) with PDF/A-2b identification."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.pdf_header = b"%PDF-1.7"
    date = TextStringObject(_pdf_date(created_at))
    writer.metadata = {
        "/Title": title,
        "/Creator": CREATOR,
        "/Producer": _PRODUCER,
        "/CreationDate": date,
        "/ModDate": date,
    }
    _set_xmp(writer, _xmp(title, created_at))

    icc = StreamObject()
    icc.set_data(srgb_icc_profile())
    icc[NameObject("/N")] = NumberObject(3)
    intent = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
            # A stream must be an indirect object; pypdf has no public call for that.
            NameObject("/DestOutputProfile"): writer._add_object(icc),
        }
    )
    writer.root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _xmp_bytes(document: PdfReader | PdfWriter) -> bytes:
    metadata = document.root_object.get("/Metadata")
    return metadata.get_object().get_data() if metadata is not None else b""


def claims_pdfa(document: PdfReader | PdfWriter) -> bool:
    return b"pdfaid:part" in _xmp_bytes(document)


def drop_pdfa_claim(writer: PdfWriter) -> None:
    """Withdraw the PDF/A claim of a document made with `make_pdfa2b`: a merged file
    with a non-PDF/A part must not pretend to be archivable."""
    xmp = _xmp_bytes(writer)
    if xmp:
        _set_xmp(writer, _PDFAID.sub(b"", xmp))
