import csv
import hashlib
import io
import re
import subprocess
import tempfile
from datetime import datetime

import pytest
from delivery_helpers import RECIPIENT, SENDER, draw_pdf, pdfa_pdf, poppler, words_mm
from pypdf import PdfReader

from delivery import (
    RECIPIENT_ORIGIN_MM,
    WINDOW_ALWAYS_VISIBLE_MM,
    Annex,
    BatchItem,
    TrackingNumberError,
    build_address_sheet,
    build_packet,
    build_print_batch,
)

def pdf_annex(data: bytes) -> Annex:
    return Annex(data, "application/pdf")


# Everything the DL window may show, whatever the sheet's play in the envelope.
WINDOW_MAY_SHOW_MM = (90.0, 39.0, 200.0, 95.0)


def inside(box, area):
    _, x0, y0, x1, y1 = box
    return area[0] <= x0 and x1 <= area[2] and area[1] <= y0 and y1 <= area[3]


def overlaps(box, area):
    _, x0, y0, x1, y1 = box
    return x0 < area[2] and area[0] < x1 and y0 < area[3] and area[1] < y1


def fonts_table(pdf):
    lines = poppler("pdffonts", pdf).splitlines()[2:]
    return [line.split() for line in lines]


class TestAddressSheet:
    def test_text_carries_recipient_tracking_and_mention(self, sheet):
        text = poppler("pdftotext", sheet, "-layout")
        for line in RECIPIENT.format():
            assert line in text
        assert "RA473124829FR" in text
        assert "Lettre recommandée avec demande d'avis de réception" in text
        assert "Niveau de garantie : R1" in text
        assert "D-2026/0042" in text

    def test_recipient_sits_in_the_window(self, sheet):
        recipient_words = set(" ".join(RECIPIENT.format()).split())
        boxes = words_mm(sheet)
        block = [b for b in boxes if b[0] in recipient_words and b[1] >= RECIPIENT_ORIGIN_MM[0] - 1]
        assert len(block) == len(" ".join(RECIPIENT.format()).split())
        assert all(inside(b, WINDOW_ALWAYS_VISIBLE_MM) for b in block)
        assert min(b[1] for b in block) == pytest.approx(RECIPIENT_ORIGIN_MM[0], abs=0.5)
        assert min(b[2] for b in block) == pytest.approx(RECIPIENT_ORIGIN_MM[1], abs=1)

    def test_nothing_else_can_show_through_the_window(self, sheet):
        first_panel = [b for b in words_mm(sheet) if b[2] < 99]
        in_window = [b for b in first_panel if overlaps(b, WINDOW_MAY_SHOW_MM)]
        assert " ".join(b[0] for b in in_window) == " ".join(" ".join(RECIPIENT.format()).split())

    def test_six_line_recipient_still_fits(self):
        six = RECIPIENT.__class__(
            "Boulangerie Dupont & Fils SAS",
            ["Bâtiment B", "3 place du Marché", "BP 12"],
            "67000",
            "Strasbourg Cedex",
            complement="Service comptabilité",
        )
        assert len(six.format()) == 6
        pdf = build_address_sheet(SENDER, six, None, "R2", "lrar", "X")
        lowest = max(b[4] for b in words_mm(pdf) if b[0] == "CEDEX")
        assert lowest <= WINDOW_ALWAYS_VISIBLE_MM[3]

    def test_wide_capitals_shrink_to_stay_in_the_window(self):
        wide = RECIPIENT.__class__(
            "MMWW GENERALE DES MOMMMMMMMMW SAS", ["4 RUE X"], "75002", "Paris"
        )
        pdf = build_address_sheet(SENDER, wide, None, "R1", "lrar", "X")
        block = [b for b in words_mm(pdf) if b[2] > 45 and b[1] > 100 and b[2] < 99]
        assert block and all(inside(b, WINDOW_ALWAYS_VISIBLE_MM) for b in block)

    def test_sender_is_top_left(self, sheet):
        sender = next(b for b in words_mm(sheet) if b[0] == "Cabinet")
        assert sender[1] < 30 and sender[2] < 30

    def test_barcode_is_drawn_left_of_the_window(self, sheet, tmp_path):
        path = tmp_path / "sheet.pdf"
        path.write_bytes(sheet)
        subprocess.run(
            ["pdftoppm", "-r", "100", "-gray", "-singlefile", str(path), str(tmp_path / "p")],
            check=True,
        )
        from PIL import Image

        image = Image.open(tmp_path / "p.pgm")
        px = 100 / 25.4
        histogram = image.crop((int(20 * px), int(52 * px), int(88 * px), int(64 * px))).histogram()
        dark = sum(histogram[:128]) / sum(histogram)
        assert 0.25 < dark < 0.75  # bars and spaces, not blank nor solid

    def test_all_fonts_embedded(self, sheet):
        table = fonts_table(sheet)
        assert table and all(row[-5] == "yes" for row in table)  # emb column
        assert any("LiberationSans" in row[0] or "DejaVuSans" in row[0] for row in table)

    def test_pdfa2b_identification(self, sheet):
        meta = poppler("pdfinfo", sheet, "-meta")
        assert "<pdfaid:part>2</pdfaid:part>" in meta
        assert "<pdfaid:conformance>B</pdfaid:conformance>" in meta
        info = poppler("pdfinfo", sheet)
        assert re.search(r"PDF version:\s+1\.7", info)
        root = PdfReader(io.BytesIO(sheet)).root_object
        intent = root["/OutputIntents"][0].get_object()
        assert intent["/S"] == "/GTS_PDFA1"
        profile = intent["/DestOutputProfile"].get_object()
        assert profile["/N"] == 3 and profile.get_data()[36:40] == b"acsp"
        assert root["/Metadata"].get_object()["/Subtype"] == "/XML"

    def test_info_agrees_with_xmp(self, sheet):
        reader = PdfReader(io.BytesIO(sheet))
        meta = poppler("pdfinfo", sheet, "-meta")
        assert f"<pdf:Producer>{reader.metadata['/Producer']}</pdf:Producer>" in meta
        assert reader.metadata["/CreationDate"] == "D:20260305100000+01'00'"
        assert "<xmp:CreateDate>2026-03-05T10:00:00+01:00</xmp:CreateDate>" in meta

    def test_without_tracking_number_leaves_room_for_the_label(self):
        pdf = build_address_sheet(SENDER, RECIPIENT, None, "R3", "lrar", "X")
        text = poppler("pdftotext", pdf)
        assert "étiquette La Poste à coller ici" in text and "non attribué" in text

    def test_lre_mention(self):
        text = poppler(
            "pdftotext", build_address_sheet(SENDER, RECIPIENT, "1A01234567890", "R1", "lre", "X")
        )
        assert "Lettre recommandée électronique" in text and "1A01234567890" in text

    def test_naive_creation_time_is_refused(self):
        with pytest.raises(ValueError):
            build_address_sheet(
                SENDER, RECIPIENT, None, "R1", "lrar", "X", created_at=datetime(2026, 3, 5)
            )

    @pytest.mark.parametrize("level, service", [("R4", "lrar"), ("R1", "fax")])
    def test_rejects_unknown_level_or_service(self, level, service):
        with pytest.raises(ValueError):
            build_address_sheet(SENDER, RECIPIENT, None, level, service, "X")

    def test_rejects_bad_tracking_number(self):
        with pytest.raises(TrackingNumberError):
            build_address_sheet(SENDER, RECIPIENT, "RA473124828FR", "R1", "lrar", "X")


class TestPacket:
    def test_order_pages_and_outline(self, sheet):
        packet = build_packet(
            sheet,
            pdfa_pdf("LETTRE p1", "LETTRE p2"),
            [pdf_annex(pdfa_pdf("PIECE UN")), pdf_annex(pdfa_pdf("PIECE DEUX"))],
        )
        reader = PdfReader(io.BytesIO(packet))
        texts = [page.extract_text() for page in reader.pages]
        assert len(texts) == 5
        assert "RA473124829FR" in texts[0] and "LETTRE p1" in texts[1] and "PIECE DEUX" in texts[4]
        assert [item.title for item in reader.outline] == [
            "Bordereau d'envoi",
            "Lettre",
            "Pièce n°1",
            "Pièce n°2",
        ]

    def test_an_annex_is_read_as_its_media_type_says_not_by_its_first_bytes(self, sheet):
        # A PDF may carry bytes before its header (the format allows up to 1024): still a PDF.
        prefixed = b"\xef\xbb\xbf" + pdfa_pdf("PIECE AVEC PREAMBULE")
        packet = build_packet(sheet, pdfa_pdf("LETTRE"), [pdf_annex(prefixed)])
        reader = PdfReader(io.BytesIO(packet))
        assert len(reader.pages) == 3 and "PIECE AVEC PREAMBULE" in reader.pages[2].extract_text()
        with pytest.raises(ValueError, match="image"):      # a PDF said to be an image is no image
            build_packet(sheet, pdfa_pdf("LETTRE"), [Annex(pdfa_pdf("PIECE"), "image/png")])
        with pytest.raises(ValueError, match="text/plain"):
            build_packet(sheet, pdfa_pdf("LETTRE"), [Annex(b"%PDF- not really", "text/plain")])

    def test_pdfa_claim_survives_when_every_part_is_pdfa(self, sheet):
        packet = build_packet(sheet, pdfa_pdf("LETTRE"), [pdf_annex(pdfa_pdf("PIECE"))])
        assert "<pdfaid:part>2</pdfaid:part>" in poppler("pdfinfo", packet, "-meta")
        assert "/OutputIntents" in PdfReader(io.BytesIO(packet)).root_object
        assert all(row[-5] == "yes" for row in fonts_table(packet))

    def test_pdfa_claim_is_withdrawn_for_a_non_pdfa_annex(self, sheet):
        packet = build_packet(sheet, pdfa_pdf("LETTRE"), [pdf_annex(draw_pdf("SCAN"))])
        meta = poppler("pdfinfo", packet, "-meta")
        assert "pdfaid" not in meta and "<dc:title>" in meta

    def test_signed_letter_is_copied_not_altered(self, sheet, signed_letter):
        before = hashlib.sha256(signed_letter.pdf).hexdigest()
        packet = build_packet(sheet, signed_letter.pdf, [])
        assert hashlib.sha256(signed_letter.pdf).hexdigest() == before
        reader = PdfReader(io.BytesIO(packet))
        assert "Mise en demeure de payer" in reader.pages[1].extract_text()
        # No broken signature in the copy: the fields are gone, the stamp is painted.
        assert "/AcroForm" not in reader.root_object
        assert all("/Annots" not in page for page in reader.pages)
        assert "signed by" in poppler("pdftotext", packet, "-f", "2", "-l", "2")
        assert "does not contain any signatures" in pdfsig(packet)

    def test_signature_stamp_prints_where_it_was(self, sheet, signed_letter):
        packet = build_packet(sheet, signed_letter.pdf, [])
        original = next(b for b in words_mm(signed_letter.pdf) if b[0] == "Digitally")
        copied = next(b for b in words_mm(packet, page=2) if b[0] == "Digitally")
        assert copied[1:] == pytest.approx(original[1:], abs=0.1)

    def test_signed_original_still_validates_after_packing(self, sheet, signed_letter):
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko_certvalidator import ValidationContext

        build_packet(sheet, signed_letter.pdf, [])
        assert "Signature Validation: Signature is Valid" in pdfsig(signed_letter.pdf)
        signature = PdfFileReader(io.BytesIO(signed_letter.pdf)).embedded_signatures[0]
        context = ValidationContext(trust_roots=[signed_letter.certificate], allow_fetching=False)
        status = validate_pdf_signature(signature, signer_validation_context=context)
        assert status.intact and status.valid and status.coverage.name == "ENTIRE_FILE"


def pdfsig(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        # pdfsig exits non-zero for an unsigned file: that is an answer, not a failure.
        run = subprocess.run(["pdfsig", f.name], check=False, capture_output=True)
        return run.stdout.decode()


class TestPrintBatch:
    def test_even_pages_and_manifest(self, sheet):
        three = build_packet(sheet, pdfa_pdf("L1", "L2"), [])  # 3 pages → padded to 4
        two = build_packet(sheet, pdfa_pdf("L1"), [])  # 2 pages
        pdf, manifest = build_print_batch(
            [
                (
                    "m-1",
                    "RA473124829FR",
                    "Boulangerie Dupont & Fils SAS",
                    "67000",
                    "STRASBOURG",
                    "R1",
                    three,
                ),
                BatchItem("m-2", None, "Jean Martin, gérant", "75002", "PARIS", "R2", two),
            ]
        )
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 6
        assert reader.pages[3].extract_text().strip() == ""  # the padding page
        assert "RA473124829FR" in reader.pages[4].extract_text()  # packet 2 starts on a front side
        rows = list(csv.reader(io.StringIO(manifest)))
        assert rows[0] == [
            "n",
            "mailing_id",
            "tracking_number",
            "level",
            "recipient",
            "postal_code",
            "city",
            "pages",
        ]
        assert rows[1] == [
            "1",
            "m-1",
            "RA473124829FR",
            "R1",
            "Boulangerie Dupont & Fils SAS",
            "67000",
            "STRASBOURG",
            "4",
        ]
        assert rows[2] == ["2", "m-2", "", "R2", "Jean Martin, gérant", "75002", "PARIS", "2"]
        assert all(int(row[-1]) % 2 == 0 for row in rows[1:])
        assert sum(int(row[-1]) for row in rows[1:]) == len(reader.pages)

    def test_padding_page_has_the_size_of_the_packet(self, sheet):
        letter = draw_pdf("LETTER", pagesize=(612, 792))  # US letter scan
        pdf, _ = build_print_batch(
            [("m", None, "X", "75001", "PARIS", "R1", build_packet(sheet, letter, []))]
        )
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 2
        packet = build_packet(sheet, letter, [pdf_annex(letter)])
        reader = PdfReader(
            io.BytesIO(build_print_batch([("m", None, "X", "75001", "PARIS", "R1", packet)])[0])
        )
        assert len(reader.pages) == 4 and float(reader.pages[3].mediabox.width) == 612

    def test_batch_keeps_the_pdfa_claim_of_pdfa_packets(self, sheet):
        packet = build_packet(sheet, pdfa_pdf("L"), [])
        pdf, _ = build_print_batch([("a", None, "X", "75001", "PARIS", "R1", packet)] * 2)
        assert "<pdfaid:part>2</pdfaid:part>" in poppler("pdfinfo", pdf, "-meta")

    def test_empty_batch(self):
        with pytest.raises(ValueError):
            build_print_batch([])


def test_a_long_name_prints_on_two_lines_inside_the_window():
    name = "Établissements Hubert Schwarzenberger et Associés Réunis SARL"   # 61 characters
    recipient = RECIPIENT.__class__(name, ["12 rue des Tanneurs"], "68100", "Mulhouse")
    pdf = build_address_sheet(SENDER, recipient, "RA473124829FR", "R1", "lrar", "X")
    first, second = recipient.format()[:2]
    boxes = [b for b in words_mm(pdf) if b[1] >= RECIPIENT_ORIGIN_MM[0] - 1 and 45 <= b[2] < 99]
    lines = {}
    for word, x0, y0, x1, y1 in boxes:
        lines.setdefault(round(y0), []).append(word)
    assert [" ".join(words) for _, words in sorted(lines.items())][:2] == [first, second]
    assert all(inside(b, WINDOW_ALWAYS_VISIBLE_MM) for b in boxes)
    assert f"Destinataire : {name}" in " ".join(poppler("pdftotext", pdf).split())
