"""The filing bundle: one PDF with bookmarks and page labels, and a ZIP of the parts.

``PdfWriter().append`` of a PDF/A drops its XMP metadata and output intent, so the bundle
starts as a clone of the requête (a LibreOffice PDF/A-2b) and everything else is appended
to it. Only the title changes (the bundle is not the requête), in /Info and in the XMP alike
so the two still agree as PDF/A requires; pypdf's own XMP setters write invalid XML, so the
XMP packet is edited with lxml.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from lxml import etree
from pypdf import PdfReader, PdfWriter
from pypdf.constants import PageLabelStyle
from pypdf.errors import PdfReadError
from pypdf.generic import NameObject, TextStringObject

from ._errors import GenerationError
from ._types import SignatureBox

__all__ = ["Part", "merge_parts", "build_zip", "signature_box", "page_count"]

SIGNATURE_BOOKMARK = "signature"
# The templates reserve a 62 pt high blank line right of a 90 mm indent for the signature.
_SIGNATURE_HEIGHT = 62.0
_SIGNATURE_WIDTH = 190.0


@dataclass(frozen=True)
class Part:
    title: str          # outline entry
    pdf: bytes
    label: str          # page label prefix, e.g. "R-" or "P3-"


def _reader(pdf: bytes, what: str) -> PdfReader:
    try:
        return PdfReader(io.BytesIO(pdf))
    except (PdfReadError, ValueError) as exc:
        raise GenerationError("assemble", f"{what}: unreadable PDF ({exc})") from exc


def page_count(pdf: bytes) -> int:
    return len(_reader(pdf, "document").pages)


_XMP_NS = {"dc": "http://purl.org/dc/elements/1.1/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}


def _retitle(writer: PdfWriter, title: str) -> None:
    """The same title in /Info and in the XMP dc:title (PDF/A-2 requires them to agree)."""
    writer.metadata = {**(writer.metadata or {}), NameObject("/Title"): TextStringObject(title)}
    ref = writer.root_object.get("/Metadata")
    if ref is None:
        return
    stream = ref.get_object()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    try:
        root = etree.fromstring(stream.get_data(), parser)
    except etree.XMLSyntaxError as exc:
        raise GenerationError("assemble", f"the requête's XMP metadata cannot be read ({exc})") from exc
    items = root.findall(".//dc:title/rdf:Alt/rdf:li", _XMP_NS)
    if not items:
        raise GenerationError("assemble", "the requête's XMP metadata has no dc:title to replace")
    for item in items:
        item.text = title
    stream.set_data(etree.tostring(root.getroottree(), encoding="utf-8"))


def merge_parts(parts: list[Part], title: str | None = None) -> bytes:
    """One PDF: the first part cloned (PDF/A claims kept), the others appended, one bookmark each;
    ``title`` replaces the first part's title in /Info and XMP."""
    first = parts[0]
    writer = PdfWriter(clone_from=_reader(first.pdf, first.title))
    if title is not None:
        _retitle(writer, title)
    writer.add_outline_item(title=first.title, page_number=0)
    ranges = [(0, len(writer.pages) - 1, first.label)]
    for part in parts[1:]:
        start = len(writer.pages)
        try:
            writer.append(_reader(part.pdf, part.title), outline_item=part.title, import_outline=False)
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise GenerationError("assemble", f"{part.title}: cannot be appended ({exc})") from exc
        ranges.append((start, len(writer.pages) - 1, part.label))
    for start, end, label in ranges:
        writer.set_page_label(start, end, style=PageLabelStyle.DECIMAL, prefix=label, start=1)
    writer.page_mode = "/UseOutlines"
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_zip(parts: list[tuple[str, bytes]], when: dt.date) -> bytes:
    """The parts as files; fixed timestamps so the same dossier gives the same archive."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=(max(when.year, 1980), when.month, when.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def signature_box(pdf: bytes) -> SignatureBox | None:
    """Where the template's « signature » bookmark landed: (page, x1, y1, x2, y2) in points."""
    reader = _reader(pdf, "document")
    dests = reader.named_destinations
    # LibreOffice writes a /Dests dictionary, whose keys are PDF names ("/signature").
    dest = dests.get(SIGNATURE_BOOKMARK) or dests.get("/" + SIGNATURE_BOOKMARK)
    if dest is None:
        return None
    page_index = reader.get_destination_page_number(dest)
    page = reader.pages[page_index]
    box = page.mediabox
    left = float(dest.left) if dest.left is not None else float(box.left) + 72
    top = float(dest.top) if dest.top is not None else float(box.top) / 2
    x2 = min(left + _SIGNATURE_WIDTH, float(box.right) - 20)
    y1 = max(top - _SIGNATURE_HEIGHT, float(box.bottom))
    return (page_index, round(left, 2), round(y1, 2), round(x2, 2), round(top, 2))
