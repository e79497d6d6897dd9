"""Printable registered-mail packets: address sheet, letter and annexes, print batches.

Geometry of the address sheet (A4 folded in three into a DL envelope):

- Envelope DL 220 × 110 mm, window 100 × 45 mm placed 20 mm from the right edge
  and 15 mm from the bottom edge: window at x 100–200 mm, y 50–95 mm from the
  envelope's top-left corner.
- The folded A4 (210 × 99 mm top panel) has 10 mm of play sideways and 11 mm up and
  down. Centred, the window shows sheet x 95–195 mm, y 44.5–89.5 mm; over all
  positions it may show anything within x 90–200, y 39–95 mm, and it always shows
  x 100–190, y 50–84 mm.
- So the recipient block starts at x 110 mm, top 50 mm, and with 6 lines at 4.5 mm
  ends by 78 mm: inside the always-visible area. Nothing else is drawn where the
  window may fall; the sender and the tracking barcode sit left of it.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from pypdf import PdfReader, PdfWriter
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from generators import flatten_signature_widgets, image_page_pdf

from ._address import AddressBlock
from ._pdfa import claims_pdfa, drop_pdfa_claim, make_pdfa2b
from ._tracking import parse_tracking_number

__all__ = [
    "RECIPIENT_ORIGIN_MM",
    "WINDOW_ALWAYS_VISIBLE_MM",
    "Annex",
    "BatchItem",
    "build_address_sheet",
    "build_packet",
    "build_print_batch",
]

Level = Literal["R1", "R2", "R3"]
Service = Literal["lrar", "lre"]
LEVELS = ("R1", "R2", "R3")
SERVICES = ("lrar", "lre")

PAGE_W, PAGE_H = A4
# (x, top) of the recipient block, mm from the sheet's top-left corner.
RECIPIENT_ORIGIN_MM = (110.0, 50.0)
# (x0, y0, x1, y1) mm from the top-left corner: visible whatever the sheet's play.
WINDOW_ALWAYS_VISIBLE_MM = (100.0, 50.0, 190.0, 84.0)
_MAY_SHOW_X_MM = 90.0  # left edge of anything the window might show
_LINE_MM = 4.5
_ADDRESS_PT = 10

_MENTIONS = {
    "lrar": "Lettre recommandée avec demande d'avis de réception",
    "lre": "Lettre recommandée électronique",
}
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/liberation"),
)
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _fonts() -> tuple[str, str]:
    """Register an embeddable TTF pair once: PDF/A forbids the base-14 fonts reportlab
    would otherwise use without embedding."""
    if "Recouvre-Regular" in pdfmetrics.getRegisteredFontNames():
        return "Recouvre-Regular", "Recouvre-Bold"
    candidates = [
        (d / "LiberationSans-Regular.ttf", d / "LiberationSans-Bold.ttf") for d in _FONT_DIRS
    ]
    candidates.append((_DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"))
    for regular, bold in candidates:
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont("Recouvre-Regular", str(regular)))
            pdfmetrics.registerFont(TTFont("Recouvre-Bold", str(bold)))
            return "Recouvre-Regular", "Recouvre-Bold"
    raise RuntimeError("no Liberation Sans or DejaVu Sans TTF installed (fonts-liberation2)")


def _size_to_fit(lines: list[str], font: str, size: float, width_mm: float) -> float:
    """Shrink the font, never the text, when the widest line would overrun `width_mm`."""
    widest = max(pdfmetrics.stringWidth(line, font, size) for line in lines)
    return min(size, size * width_mm * mm / widest) if widest else size


def _y(top_mm: float) -> float:
    """reportlab counts from the bottom; the layout is specified from the top."""
    return PAGE_H - top_mm * mm


def build_address_sheet(
    sender: AddressBlock,
    recipient: AddressBlock,
    tracking_number: str | None,
    level: Level,
    service: Service,
    reference: str,
    *,
    created_at: datetime | None = None,
) -> bytes:
    """The first page of a registered-mail packet, as a PDF/A-2b A4 page.

    Raises `AddressFormatError` or `TrackingNumberError` on bad input, ValueError on
    an unknown level or service. Without a tracking number (La Poste label not yet
    stuck), a box is left for it.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    if service not in SERVICES:
        raise ValueError(f"service must be one of {SERVICES}")
    if created_at is not None and created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    number = parse_tracking_number(tracking_number).value if tracking_number else None
    sender_lines = sender.format()
    recipient_lines = recipient.format()
    regular, bold = _fonts()
    created_at = created_at or datetime.now(ZoneInfo("Europe/Paris"))
    mention = _MENTIONS[service]

    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, initialFontName=regular, initialFontSize=10)
    c.setTitle(f"{mention} {reference}")

    # Sender, top-left: the return address La Poste uses for the avis and the return.
    c.setFont(regular, 7)
    c.drawString(20 * mm, _y(14), "Expéditeur")
    c.setFont(regular, 9)
    for i, line in enumerate(sender_lines):
        c.drawString(20 * mm, _y(18.5 + i * 4), line)

    # Service and level, top-right above the highest point the window can reach (39 mm).
    c.setFont(bold, 10)
    c.drawString(
        110 * mm, _y(18.5), "RECOMMANDÉ AVEC AR" if service == "lrar" else "RECOMMANDÉ ÉLECTRONIQUE"
    )
    corner = [f"Niveau de garantie {level}", f"Réf. {reference}"]
    c.setFont(regular, _size_to_fit(corner, regular, 9, 90))
    for i, line in enumerate(corner):
        c.drawString(110 * mm, _y(23 + i * 4.5), line)

    # Tracking number, left of the window so it never shows through it.
    c.setFont(regular, 8)
    c.drawString(20 * mm, _y(48), "Numéro de suivi")
    if number:
        barcode = Code128(number, barWidth=0.3 * mm, barHeight=12 * mm, humanReadable=False)
        assert 20 * mm + barcode.width < _MAY_SHOW_X_MM * mm  # 13 characters always fit
        barcode.drawOn(c, 20 * mm, _y(64))
        c.setFont(regular, 10)
        c.drawString(20 * mm, _y(69), number)
    else:
        c.setDash(2, 2)
        c.rect(20 * mm, _y(70), 60 * mm, 20 * mm)
        c.setDash()
        c.setFont(regular, 8)
        c.drawString(23 * mm, _y(60), "étiquette La Poste à coller ici")

    # Recipient, in the window: capitals can be wide, so the size adapts to the
    # always-visible width rather than letting a line run under the envelope.
    x, top = RECIPIENT_ORIGIN_MM
    size = _size_to_fit(recipient_lines, regular, _ADDRESS_PT, WINDOW_ALWAYS_VISIBLE_MM[2] - x)
    c.setFont(regular, size)
    first_baseline = top + size * 0.75 / mm  # capital height, pt → mm
    for i, line in enumerate(recipient_lines):
        c.drawString(x * mm, _y(first_baseline + i * _LINE_MM), line)

    # Second panel: the legal mention in full, for whoever opens the envelope.
    c.setFont(bold, 12)
    c.drawCentredString(PAGE_W / 2, _y(112), mention)
    recap = [
        f"Niveau de garantie : {level}",
        f"Numéro de suivi : {number or 'non attribué'}",
        f"Référence : {reference}",
        f"Destinataire : {' '.join(recipient.name.split())}",  # whole, though the window may split it
    ]
    c.setFont(regular, _size_to_fit(recap, regular, 10, 150))
    for i, line in enumerate(recap):
        c.drawString(30 * mm, _y(124 + i * 5.5), line)
    c.showPage()
    c.save()
    return make_pdfa2b(buffer.getvalue(), title=f"{mention} {reference}", created_at=created_at)


def _reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def _image_page(image: bytes, title: str) -> bytes:
    """A scan annexed to the letter, as a PDF/A-2b page like the address sheet: an annexed image
    does not withdraw the packet's PDF/A claim."""
    page = image_page_pdf(image, centred=True, title=title)     # ValueError when unreadable
    return make_pdfa2b(page, title=title, created_at=datetime.now(ZoneInfo("Europe/Paris")))


class Annex(NamedTuple):
    """A file printed after the letter, with the media type its evidence record gives it."""

    data: bytes
    media_type: str  # application/pdf, image/png or image/jpeg


_IMAGE_MEDIA = ("image/png", "image/jpeg")


def build_packet(address_sheet: bytes, letter_pdf: bytes, annexes: list[Annex]) -> bytes:
    """Address sheet, then the letter, then the annexes, as one PDF to print.

    An annex is a PDF or a PNG/JPEG image, as its media type says; an image becomes an A4
    page. Raises ValueError for another media type or an unreadable image.

    Starts from a clone of the (PDF/A) address sheet so its XMP and OutputIntent
    survive the merge. The letter's pages are copied into a new file: the input bytes
    are never altered. The copy cannot carry a valid signature, so visible signature
    stamps are painted onto the page and the signature fields dropped; the signed
    original is archived separately and stays the evidence. If any part is not
    itself PDF/A, the packet's PDF/A claim is withdrawn.
    """
    writer = PdfWriter(clone_from=_reader(address_sheet))
    writer.add_outline_item(title="Bordereau d'envoi", page_number=0)
    sheet_pages = len(writer.pages)
    parts = [_reader(address_sheet)]
    for title, part in [("Lettre", Annex(letter_pdf, "application/pdf"))] + [
        (f"Pièce n°{i}", Annex(*annex)) for i, annex in enumerate(annexes, 1)
    ]:
        if part.media_type in _IMAGE_MEDIA:
            pdf = _image_page(part.data, title)
        elif part.media_type == "application/pdf":
            pdf = part.data
        else:
            raise ValueError(f"{title}: a {part.media_type} file cannot be printed")
        reader = _reader(pdf)
        parts.append(reader)
        writer.append(reader, outline_item=title)
    flatten_signature_widgets(writer, sheet_pages)
    if not all(claims_pdfa(part) for part in parts):
        drop_pdfa_claim(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class BatchItem(NamedTuple):
    mailing_id: str
    tracking_number: str | None
    recipient_name: str
    postal_code: str
    city: str
    level: str
    pdf_bytes: bytes


MANIFEST_COLUMNS = (
    "n",
    "mailing_id",
    "tracking_number",
    "level",
    "recipient",
    "postal_code",
    "city",
    "pages",
)


def build_print_batch(
    packets: list[BatchItem] | list[tuple[str, str | None, str, str, str, str, bytes]],
) -> tuple[bytes, str]:
    """One PDF for the printer and the manifest for the post-office deposit.

    Each packet is padded with a blank page to an even count so that, printed duplex,
    no letter starts on the back of the previous one. The manifest's `pages` is the
    padded count: the packet's share of the printed file (sheets = pages / 2).
    """
    if not packets:
        raise ValueError("a print batch needs at least one packet")
    items = [BatchItem(*p) for p in packets]
    writer: PdfWriter | None = None
    manifest = io.StringIO()
    rows = csv.writer(manifest)
    rows.writerow(MANIFEST_COLUMNS)
    all_pdfa = True
    for n, item in enumerate(items, 1):
        reader = _reader(item.pdf_bytes)
        all_pdfa = all_pdfa and claims_pdfa(reader)
        title = f"{n}. {item.tracking_number or item.mailing_id} — {item.recipient_name}"
        if writer is None:
            writer = PdfWriter(clone_from=reader)
            writer.add_outline_item(title=title, page_number=0)
        else:
            writer.append(reader, outline_item=title)
        count = len(reader.pages)
        if count % 2:
            last = reader.pages[-1].mediabox
            writer.add_blank_page(float(last.width), float(last.height))
            count += 1
        rows.writerow(
            [
                n,
                item.mailing_id,
                item.tracking_number or "",
                item.level,
                item.recipient_name,
                item.postal_code,
                item.city,
                count,
            ]
        )
    if not all_pdfa:
        drop_pdfa_claim(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), manifest.getvalue()
