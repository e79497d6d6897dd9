"""Helpers for the delivery tests (a module of its own: `conftest` names collide)."""

import datetime as dt
import html
import io
import re
import subprocess
import tempfile
from typing import NamedTuple
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from delivery import AddressBlock
from delivery._packet import _fonts
from delivery._pdfa import make_pdfa2b

PARIS = ZoneInfo("Europe/Paris")
SENDER = AddressBlock("Cabinet Recouvre SARL", ["12 rue de la Paix"], "75002", "Paris")
RECIPIENT = AddressBlock(
    "Boulangerie Dupont & Fils SAS",
    ["Bâtiment B", "3 place du Marché"],
    "67000",
    "Strasbourg",
    complement="Service comptabilité",
)


def draw_pdf(*pages: str, pagesize=A4) -> bytes:
    regular, _ = _fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=pagesize, initialFontName=regular)
    for text in pages:
        canvas.setFont(regular, 12)
        canvas.drawString(72, pagesize[1] - 100, text)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def pdfa_pdf(*pages: str) -> bytes:
    return make_pdfa2b(
        draw_pdf(*pages), title="test", created_at=dt.datetime(2026, 3, 5, tzinfo=PARIS)
    )


def poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        command = [tool, *args, f.name] + (["-"] if tool == "pdftotext" else [])
        return subprocess.run(command, capture_output=True, check=True).stdout.decode()


def words_mm(pdf: bytes, page: int = 1) -> list[tuple[str, float, float, float, float]]:
    """(word, x0, y0, x1, y1) in mm from the page's top-left corner, via pdftotext -bbox."""
    page_html = poppler("pdftotext", pdf, "-bbox", "-f", str(page), "-l", str(page))
    pt = 25.4 / 72
    return [
        (html.unescape(word), float(x0) * pt, float(y0) * pt, float(x1) * pt, float(y1) * pt)
        for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            page_html,
        )
    ]


class SignedLetter(NamedTuple):
    pdf: bytes
    certificate: object  # asn1crypto x509.Certificate, the signer's own trust root
