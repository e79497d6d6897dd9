"""Median cost of signing a one-page letter: reused DocumentSigner vs pyHanko's stock path.

Run with ``python -m bench.bench_signing``; prints a JSON object.
"""

from __future__ import annotations

import io
import json
import statistics
import tempfile
import time
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter

from signing import SignatureAppearance, SignerConfig, build_signer, dev_certificate
from signing._fonts import find_stamp_font

SAMPLES = 30
NAIVE_SAMPLES = 10


def one_page_letter() -> bytes:
    """Letter drawn with an embedded TTF and an XMP pdfaid claim (PDF/A-like)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("BenchSans", str(find_stamp_font())))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, initialFontName="BenchSans", initialFontSize=11)
    y = 780
    for line in (
        "Cabinet Recouvre, 12 rue de la République, 69002 Lyon",
        "Lyon, le 23 novembre 2026",
        "Objet : mise en demeure de payer",
        "Madame, Monsieur,",
        "Nous vous mettons en demeure de régler la somme de 1 234,56 € sous huit jours.",
    ) * 4:
        c.drawString(72, y, line)
        y -= 18
    c.showPage()
    c.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buf.getvalue())))
    xmp = DecodedStreamObject()
    xmp.set_data(
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">'
        b"<pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>"
        b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    xmp.update(
        {NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")}
    )
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _median_ms(fn, samples: int) -> float:
    timings = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(timings), 2)


def run(samples: int = SAMPLES, naive_samples: int = NAIVE_SAMPLES) -> dict:
    pdf = one_page_letter()
    with tempfile.TemporaryDirectory() as tmp:
        key = dev_certificate(Path(tmp))  # an RSA-3072 PKCS#12, generated now
        password = key.password
        env = {
            "RECOUVRE_SIGNING_P12": str(key.p12_path),
            "RECOUVRE_SIGNING_P12_PASSWORD": password.decode(),
        }
        build_start = time.perf_counter()
        signer = build_signer(SignerConfig.from_env(env, Path(tmp)))
        build_ms = (time.perf_counter() - build_start) * 1000
        signer.sign(pdf, reason="warm-up")
        signer.sign(pdf, reason="warm-up", appearance=SignatureAppearance())  # prepares the font

        def reused() -> bytes:
            return signer.sign(pdf, reason="Mise en demeure", location="Lyon")

        appearance = SignatureAppearance(signatory="Claire Martin, Gérante")

        def reused_visible() -> bytes:
            return signer.sign(
                pdf, reason="Mise en demeure", location="Lyon", appearance=appearance
            )

        def naive() -> bytes:
            simple = signers.SimpleSigner.load_pkcs12(
                pfx_file=str(key.p12_path), passphrase=password
            )
            meta = signers.PdfSignatureMetadata(
                field_name="Signature1",
                md_algorithm="sha256",
                subfilter=SigSeedSubFilter.PADES,
                reason="Mise en demeure",
                location="Lyon",
            )
            out = io.BytesIO()
            signers.sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=simple, output=out
            )
            return out.getvalue()

        reused_ms = _median_ms(reused, samples)
        visible_ms = _median_ms(reused_visible, max(5, samples // 3))
        naive_ms = _median_ms(naive, naive_samples)
    return {
        "key": "RSA-3072 PKCS#12",
        "level": "B-B",
        "pdf_bytes": len(pdf),
        "build_signer_ms": round(build_ms, 2),
        "document_signer_median_ms": reused_ms,
        "document_signer_samples": samples,
        "document_signer_visible_median_ms": visible_ms,
        "document_signer_visible_samples": max(5, samples // 3),
        "naive_load_pkcs12_and_sign_median_ms": naive_ms,
        "naive_samples": naive_samples,
        "speedup": round(naive_ms / reused_ms, 1) if reused_ms else None,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
