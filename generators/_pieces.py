"""The list of pièces a requête relies on, and each pièce made ready to file.

The bordereau must list the contract and every invoice even when nobody uploaded them
(« copie à joindre »), so the plan merges what the service sent with what the case file
says exists. Files become PDF pages stamped « Pièce n°N » with an embedded TrueType font,
so the stamp survives in a PDF/A bundle.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from casefiles.model import CaseFile, ReminderChannel

from ._errors import GenerationError
from ._formatting import french_date
from ._signed_copies import flatten_signature_widgets
from ._types import DocumentKind, Mailing, Piece, PieceKind, SentLetter

__all__ = ["PlannedPiece", "plan_pieces", "piece_pdf", "stamp_piece", "slugify", "inspect_piece",
           "written_reminders", "reminder_history", "PastReminder", "latest_notice", "notice_title",
           "proof_of_mailing_title"]

_ORDER = {PieceKind.contract.value: 0, PieceKind.invoice.value: 1, PieceKind.reminder.value: 2,
          PieceKind.mise_en_demeure.value: 3, PieceKind.proof_of_mailing.value: 4}
_WRITTEN = {ReminderChannel.letter: "courrier", ReminderChannel.email: "courriel"}
MISSING = "copie à joindre"


@dataclass(frozen=True)
class PlannedPiece:
    number: int
    title: str
    kind: str
    date: dt.date | None
    source: Piece | None

    @property
    def attached(self) -> bool:
        return self.source is not None and bool(self.source.pdf or self.source.image)


def _mentions(title: str, number: str) -> bool:
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(number)}(?![0-9A-Za-z])", title, re.IGNORECASE) is not None


def written_reminders(case: CaseFile, until: dt.date) -> list:
    """Reminders the debtor received in writing (letter, e-mail) up to a date, oldest first."""
    return sorted((r for r in case.reminders if r.channel in _WRITTEN and r.date <= until), key=lambda r: r.date)


@dataclass(frozen=True)
class PastReminder:
    """A written reminder the debtor received: recorded by hand in the case file (``summary``),
    or a relance the system generated (``letter``)."""

    date: dt.date
    channel: str                        # « courrier » / « courriel »
    letter: SentLetter | None = None    # the generated relance, when it is one
    summary: str = ""


def reminder_history(case: CaseFile, letters, until: dt.date) -> list[PastReminder]:
    """Written reminders recorded in the case file up to a date and the relances generated
    earlier (``letters``, in the order they were created), oldest first.

    A day's letter counts once: the generated relance, signed and archived, is the better pièce,
    so it wins over a letter also recorded by hand that day, and over a relance generated
    before it the same day."""
    relances: dict[dt.date, SentLetter] = {}
    for letter in letters:
        if letter.kind == DocumentKind.relance:
            relances[letter.date] = letter
    out = [PastReminder(r.date, _WRITTEN[r.channel], summary=r.summary) for r in written_reminders(case, until)
           if not (r.channel is ReminderChannel.letter and r.date in relances)]
    out += [PastReminder(day, _WRITTEN[ReminderChannel.letter], letter=letter) for day, letter in relances.items()]
    return sorted(out, key=lambda r: r.date)


def latest_notice(letters) -> SentLetter | None:
    """The mise en demeure the requête cites and the dossier attaches: the latest dated and, of
    two on the same date, the one created last (``letters`` come in the order they were created)."""
    found = None
    for letter in letters:
        if letter.kind == DocumentKind.mise_en_demeure and (found is None or letter.date >= found.date):
            found = letter
    return found


def notice_title(notice: SentLetter) -> str:
    lrar = notice.mailing is not None and notice.mailing.service == "lrar"
    return f"Mise en demeure du {french_date(notice.date)}" + (
        " par lettre recommandée avec demande d'avis de réception" if lrar else "")


def proof_of_mailing_title(mailing: Mailing) -> str:
    service = "LRAR" if mailing.service == "lrar" else "LRE"
    return f"Preuve d'envoi et avis de réception — {service} n° {mailing.tracking_number or 'non renseigné'}"


def _expected(case: CaseFile, pieces: list[Piece], until: dt.date,
              letters: tuple[SentLetter, ...] = ()) -> list[tuple[str, str, dt.date | None]]:
    """Pièces the case file says exist but no supplied pièce covers: (kind, title, date)."""
    kinds = [p.kind for p in pieces]
    out: list[tuple[str, str, dt.date | None]] = []
    if case.contract and PieceKind.contract.value not in kinds:
        c = case.contract
        title = f"Contrat : {c.reference}" + (f" du {french_date(c.date)}" if c.date else "")
        out.append((PieceKind.contract.value, title, c.date))
    for inv in sorted(case.invoices, key=lambda i: (i.issue_date, i.number)):
        if not any(p.kind == PieceKind.invoice.value and _mentions(p.title, inv.number) for p in pieces):
            out.append((PieceKind.invoice.value, f"Facture n° {inv.number} du {french_date(inv.issue_date)}",
                        inv.issue_date))
    for r in reminder_history(case, letters, until):
        if not any(p.kind == PieceKind.reminder.value and p.date == r.date for p in pieces):
            out.append((PieceKind.reminder.value, f"Relance par {r.channel} du {french_date(r.date)}", r.date))
    notice = latest_notice(letters)
    if notice is not None and PieceKind.mise_en_demeure.value not in kinds:
        out.append((PieceKind.mise_en_demeure.value, notice_title(notice), notice.date))
        if notice.mailing is not None and PieceKind.proof_of_mailing.value not in kinds:
            out.append((PieceKind.proof_of_mailing.value, proof_of_mailing_title(notice.mailing),
                        notice.mailing.deposited))
    elif case.formal_notice_date and PieceKind.mise_en_demeure.value not in kinds:
        out.append((PieceKind.mise_en_demeure.value, f"Mise en demeure du {french_date(case.formal_notice_date)}",
                    case.formal_notice_date))
    return out


def _implied_date(case: CaseFile, piece: Piece) -> dt.date | None:
    """An undated contract or invoice pièce files at the date the case file gives it."""
    if piece.kind == PieceKind.contract.value and case.contract:
        return case.contract.date
    if piece.kind == PieceKind.invoice.value:
        return next((i.issue_date for i in case.invoices if _mentions(piece.title, i.number)), None)
    return None


def plan_pieces(case: CaseFile, pieces: list[Piece] | tuple[Piece, ...], until: dt.date,
                letters: tuple[SentLetter, ...] | list[SentLetter] = ()) -> tuple[list[PlannedPiece], list[str]]:
    """Number every pièce (explicit numbers kept, the rest in filing order) and warn for each missing copy.

    ``letters`` are the case's generated letters up to ``until`` (as DocumentRequest keeps them):
    a relance among them is a pièce even when its PDF was not supplied (then listed as « copie à
    joindre »)."""
    given = list(pieces)
    taken: dict[int, Piece] = {}
    for p in given:
        if p.number is not None:
            if p.number < 1:
                raise GenerationError("assemble", f"pièce « {p.title} » : numéro {p.number} invalide")
            if p.number in taken:
                raise GenerationError("assemble", f"deux pièces portent le numéro {p.number}")
            taken[p.number] = p
    candidates: list[tuple[tuple, str, str, dt.date | None, Piece | None]] = []
    for i, p in enumerate(given):
        if p.number is None:
            when = p.date or _implied_date(case, p)
            candidates.append(((_ORDER.get(p.kind, 5), when or dt.date.max, 0, i), p.kind, p.title, when, p))
    for i, (kind, title, date) in enumerate(_expected(case, given, until, tuple(letters))):
        candidates.append(((_ORDER[kind], date or dt.date.max, 1, i), kind, title, date, None))
    planned = [PlannedPiece(n, p.title, p.kind, p.date or _implied_date(case, p), p) for n, p in taken.items()]
    free = (n for n in range(1, 10_000) if n not in taken)
    for _, kind, title, date, src in sorted(candidates, key=lambda c: c[0]):
        planned.append(PlannedPiece(next(free), title, kind, date, src))
    planned.sort(key=lambda p: p.number)
    warnings = [f"Pièce n°{p.number} « {p.title} » : aucun fichier fourni, {MISSING}."
                for p in planned if not p.attached]
    return planned, warnings


def slugify(text: str, limit: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "piece"


# -- files -------------------------------------------------------------------------------

_FONT_FILES = {
    "RecouvreSans": ("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf", "Liberation Sans:regular"),
    "RecouvreSans-Bold": ("/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf", "Liberation Sans:bold"),
}


@cache
def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name, (path, pattern) in _FONT_FILES.items():
        file = Path(path)
        if not file.exists():
            found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, check=False)
            file = Path(found.stdout.strip())
        if not file.is_file():
            raise GenerationError("assemble", f"font for the pièce stamp not found ({pattern})")
        pdfmetrics.registerFont(TTFont(name, str(file)))


_A4 = (595.2756, 841.8898)


def image_page_pdf(data: bytes, *, top_margin: float = 28.35, centred: bool = False,
                   title: str | None = None) -> bytes:
    """A PNG or JPEG scan on one A4 page (landscape when the image is), fitted inside 10 mm margins.

    `top_margin` leaves room above the image (a pièce's stamp needs 20 mm); `centred` centres it
    vertically instead of hanging it under that margin. Colours stay RGB or grey and transparency
    is flattened on white: the bundles' output intent is sRGB (PDF/A). Raises ValueError for bytes
    that are not a readable image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    try:
        with Image.open(io.BytesIO(data)) as original:
            fmt = original.format
            img = ImageOps.exif_transpose(original)
            if img.mode not in ("RGB", "L"):
                rgba = img.convert("RGBA")
                img = Image.new("RGB", rgba.size, "white")
                img.paste(rgba, mask=rgba.getchannel("A"))
            buf = io.BytesIO()
            img.save(buf, format="JPEG" if fmt == "JPEG" else "PNG", quality=92)
            width_px, height_px = img.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"unreadable image ({exc})") from exc
    page_w, page_h = _A4 if height_px >= width_px else (_A4[1], _A4[0])
    margin = 28.35  # 10 mm
    box_w, box_h = page_w - 2 * margin, page_h - margin - top_margin
    scale = min(box_w / width_px, box_h / height_px)
    w, h = width_px * scale, height_px * scale
    y = margin + (box_h - h) / 2 if centred else page_h - top_margin - h
    out = io.BytesIO()
    _register_fonts()
    # initialFontName: reportlab otherwise declares a non-embedded Helvetica on every page.
    c = canvas.Canvas(out, pagesize=(page_w, page_h), pageCompression=1, initialFontName="RecouvreSans")
    if title:
        c.setTitle(title)
    c.drawImage(ImageReader(io.BytesIO(buf.getvalue())), (page_w - w) / 2, y, w, h)
    c.showPage()
    c.save()
    return out.getvalue()


def piece_pdf(piece: PlannedPiece) -> bytes:
    """The pièce's file as PDF bytes (images put on an A4 page)."""
    src = piece.source
    label = f"pièce n°{piece.number} « {piece.title} »"
    assert src is not None
    if src.pdf:
        return src.pdf
    if src.image:
        try:
            return image_page_pdf(src.image, top_margin=56.7)  # 20 mm: room for the stamp
        except ValueError as exc:
            raise GenerationError("assemble", f"{label} : image illisible ({exc})") from exc
    raise GenerationError("assemble", f"{label} : aucun fichier")


def _fonts(resources, seen: set[int]):
    """Every font dictionary reachable from a resource dictionary, form XObjects included."""
    if resources is None:
        return
    resources = resources.get_object()
    fonts = resources.get("/Font")
    if fonts is not None:
        yield from (f.get_object() for f in fonts.get_object().values())
    xobjects = resources.get("/XObject")
    for ref in (xobjects.get_object().values() if xobjects is not None else ()):
        key = getattr(ref, "idnum", None)
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        xobj = ref.get_object()
        if xobj.get("/Subtype") == "/Form":
            yield from _fonts(xobj.get("/Resources"), seen)


def _embedded(font) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # glyphs are content streams
    descendants = font.get("/DescendantFonts")
    if descendants is not None:
        return all(_embedded(d.get_object()) for d in descendants.get_object())
    desc = font.get("/FontDescriptor")
    if desc is None:
        return False
    desc = desc.get_object()
    return any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def inspect_piece(reader, label: str) -> list[str]:
    """Warnings a lawyer must see: fonts not embedded (the bundle is then not PDF/A), a signature lost."""
    warnings = []
    missing: set[str] = set()
    seen: set[int] = set()
    for page in reader.pages:
        for font in _fonts(page.get("/Resources"), seen):
            if not _embedded(font):
                missing.add(str(font.get("/BaseFont", "?")).lstrip("/"))
    if missing:
        warnings.append(f"{label} : polices non incorporées ({', '.join(sorted(missing))}) ; "
                        "le dossier fusionné n'est pas strictement conforme PDF/A.")
    acro = reader.trailer["/Root"].get("/AcroForm")
    if acro is not None:
        fields = acro.get_object().get("/Fields") or []
        if any(f.get_object().get("/FT") == "/Sig" for f in fields):
            warnings.append(f"{label} : le fichier était signé électroniquement ; la copie tamponnée ne porte "
                            "plus de signature valide, joindre aussi l'original.")
    return warnings


def _stamp_overlay(sizes: list[tuple[float, float]], number: int):
    from pypdf import PdfReader
    from reportlab.pdfgen import canvas

    _register_fonts()
    out = io.BytesIO()
    c = canvas.Canvas(out, initialFontName="RecouvreSans")
    total = len(sizes)
    for k, (w, h) in enumerate(sizes, 1):
        c.setPageSize((w, h))
        main, sub = f"Pièce n°{number}", f"page {k}/{total}"
        main_w = c.stringWidth(main, "RecouvreSans-Bold", 11)
        sub_w = c.stringWidth(sub, "RecouvreSans", 8)
        box_w, box_h = max(main_w, sub_w) + 14, 30
        x, y = w - 20 - box_w, h - 12 - box_h
        # RGB operators only: the bundle's output intent is sRGB.
        c.setFillColorRGB(1, 1, 1)
        c.setStrokeColorRGB(0.1, 0.1, 0.1)
        c.setLineWidth(0.8)
        c.rect(x, y, box_w, box_h, stroke=1, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.setFont("RecouvreSans-Bold", 11)
        c.drawCentredString(x + box_w / 2, y + 16, main)
        c.setFont("RecouvreSans", 8)
        c.drawCentredString(x + box_w / 2, y + 6, sub)
        c.showPage()
    c.save()
    return PdfReader(io.BytesIO(out.getvalue())).pages


def stamp_piece(pdf: bytes, piece: PlannedPiece) -> tuple[bytes, list[str]]:
    """Every page of the pièce stamped « Pièce n°N — page k/n » in its top-right corner."""
    from pypdf import PdfReader, PdfWriter, Transformation
    from pypdf.errors import PdfReadError

    label = f"Pièce n°{piece.number} « {piece.title} »"
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise GenerationError("assemble", f"{label} : PDF protégé par un mot de passe")
        if not reader.pages:
            raise GenerationError("assemble", f"{label} : PDF sans page")
        warnings = inspect_piece(reader, label)
        writer = PdfWriter()
        writer.append(reader, import_outline=False)
        boxes = []
        for page in writer.pages:
            page.transfer_rotation_to_content()
            boxes.append(page.cropbox)
        overlays = _stamp_overlay([(float(b.width), float(b.height)) for b in boxes], piece.number)
        for page, box, overlay in zip(writer.pages, boxes, overlays, strict=True):
            page.merge_transformed_page(overlay, Transformation().translate(float(box.left), float(box.bottom)))
        flatten_signature_widgets(writer)  # a copied signature would show as broken
        if "/AcroForm" in writer.root_object:
            del writer.root_object["/AcroForm"]  # a copy carries no live form fields either
        out = io.BytesIO()
        writer.write(out)
    except GenerationError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GenerationError("assemble", f"{label} : PDF illisible ({exc})") from exc
    return out.getvalue(), warnings
