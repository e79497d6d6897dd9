"""PDF/A after signing: every Info entry still equals its XMP twin, at every PAdES level.

pyHanko writes metadata in each revision it adds (signature, DSS, document timestamp); the XMP is
read here with a small parser of our own (attribute and element forms), not with pyHanko's.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject

from signing import SignerConfig, build_signer, validate_pdf
from tests.conftest import need_tool

from .signing_helpers import make_letter

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
}
# ISO 19005-2 §6.6.3: Info entries and their XMP equivalents
INFO_TO_XMP = {
    "/Title": "dc:title",
    "/Author": "dc:creator",
    "/Subject": "dc:description",
    "/Keywords": "pdf:Keywords",
    "/Creator": "xmp:CreatorTool",
    "/Producer": "pdf:Producer",
    "/CreationDate": "xmp:CreateDate",
    "/ModDate": "xmp:ModifyDate",
}
DATES = {"/CreationDate", "/ModDate"}

CONVERTED = "2026-11-23T09:15:00+00:00"
# What LibreOffice adds to the pdfaid claim and the title (signing_helpers.make_letter).
CONVERTER_XMP = f"""  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>LibreOffice 7.4</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>Writer</xmp:CreatorTool>
   <xmp:CreateDate>{CONVERTED}</xmp:CreateDate>
   <xmp:ModifyDate>{CONVERTED}</xmp:ModifyDate>
   <xmp:MetadataDate>{CONVERTED}</xmp:MetadataDate>
  </rdf:Description>
"""


def pdfa_letter() -> bytes:
    """A PDF/A-2b letter whose Info dictionary and XMP agree, as LibreOffice writes them."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_letter(extra_xmp=CONVERTER_XMP))))
    info = writer._info.get_object()
    info.clear()
    for key, value in {"/Title": "Mise en demeure", "/Producer": "LibreOffice 7.4", "/Creator": "Writer",
                       "/CreationDate": "D:20261123091500Z", "/ModDate": "D:20261123091500Z"}.items():
        info[NameObject(key)] = TextStringObject(value)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def xmp_properties(pdf: bytes) -> dict[str, str]:
    """Simple XMP properties, from rdf:Description attributes and elements (first rdf:li of arrays)."""
    reader = PdfReader(io.BytesIO(pdf))
    packet = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    props: dict[str, str] = {}
    prefixes = {uri: prefix for prefix, uri in NS.items()}

    def name(tag: str) -> str | None:
        uri, _, local = tag[1:].partition("}")
        return f"{prefixes[uri]}:{local}" if uri in prefixes else None

    for description in ET.fromstring(packet).iter(f"{{{NS['rdf']}}}Description"):
        for attr, value in description.attrib.items():
            if attr.startswith("{") and name(attr) and not name(attr).startswith("rdf:"):
                props[name(attr)] = value
        for child in description:
            if name(child.tag):
                li = child.find(".//rdf:li", NS)
                props[name(child.tag)] = (li if li is not None else child).text or ""
    return props


def pdf_date(value: str) -> dt.datetime:
    m = re.fullmatch(r"D:(\d{14})(Z|[+-]\d\d'?\d\d'?)?'?", value)
    assert m, value
    moment = dt.datetime.strptime(m.group(1), "%Y%m%d%H%M%S")
    zone = m.group(2) or "Z"
    if zone == "Z":
        return moment.replace(tzinfo=dt.timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone.replace("'", "")[3:5])
    return moment.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))


def disagreements(pdf: bytes) -> list[str]:
    info = PdfReader(io.BytesIO(pdf)).metadata or {}
    xmp = xmp_properties(pdf)
    out = []
    for key, prop in INFO_TO_XMP.items():
        if key not in info:
            continue
        if prop not in xmp:
            out.append(f"Info {key}={info[key]!r} has no XMP {prop}")
        elif key in DATES:
            if pdf_date(str(info[key])) != dt.datetime.fromisoformat(xmp[prop].replace("Z", "+00:00")):
                out.append(f"Info {key}={info[key]!r} but XMP {prop}={xmp[prop]!r}")
        elif str(info[key]) != xmp[prop]:
            out.append(f"Info {key}={info[key]!r} but XMP {prop}={xmp[prop]!r}")
    if "xmp:MetadataDate" in xmp and "xmp:ModifyDate" in xmp:
        if dt.datetime.fromisoformat(xmp["xmp:MetadataDate"].replace("Z", "+00:00")) < \
                dt.datetime.fromisoformat(xmp["xmp:ModifyDate"].replace("Z", "+00:00")):
            out.append(f"xmp:MetadataDate {xmp['xmp:MetadataDate']} is older than xmp:ModifyDate "
                       f"{xmp['xmp:ModifyDate']}")
    return out


@pytest.fixture(scope="module")
def pdfa_input() -> bytes:
    pdf = pdfa_letter()
    assert disagreements(pdf) == []
    return pdf


@pytest.fixture(scope="module")
def signed_pdfa(pki, pdfa_input, tmp_path_factory) -> dict[str, bytes]:
    out = {}
    for level in LEVELS:
        env = pki.env(RECOUVRE_PADES_LEVEL=level, RECOUVRE_TSA_URL=None if level == "B-B" else pki.tsa_url)
        with build_signer(SignerConfig.from_env(env, tmp_path_factory.mktemp("data"))) as signer:
            out[level] = signer.sign(pdfa_input, reason="Mise en demeure", location="Lyon")
    return out


@pytest.mark.parametrize("level", LEVELS)
def test_info_and_xmp_agree_after_signing(signed_pdfa, pki, level):
    signed = signed_pdfa[level]
    assert disagreements(signed) == []
    xmp = xmp_properties(signed)
    assert (xmp["pdfaid:part"], xmp["pdfaid:conformance"]) == ("2", "B")
    assert xmp["xmp:CreatorTool"] == "Writer" and xmp["dc:title"] == "Mise en demeure"
    assert dt.datetime.fromisoformat(xmp["xmp:ModifyDate"]) > dt.datetime.fromisoformat(CONVERTED)
    info = PdfReader(io.BytesIO(signed)).metadata
    assert info["/Producer"] == xmp["pdf:Producer"] and "pyHanko" in info["/Producer"]
    assert info["/Title"] == "Mise en demeure" and info["/CreationDate"] == "D:20261123091500Z"
    report = validate_pdf(signed, trust_roots=[pki.root])
    assert report.ok and report.level == level, report.problems


@pytest.mark.libreoffice
def test_a_libreoffice_pdfa_keeps_agreeing_metadata(shared_signer, tmp_path):
    soffice = need_tool("soffice")
    (tmp_path / "lettre.txt").write_text("Mise en demeure de payer\n")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}', "--outdir",
                    str(tmp_path), str(tmp_path / "lettre.txt")], check=True, capture_output=True, timeout=180)
    converted = (tmp_path / "lettre.pdf").read_bytes()
    assert "LibreOffice" in PdfReader(io.BytesIO(converted)).metadata["/Producer"]
    signed = shared_signer.sign(converted, reason="Relance")
    assert disagreements(signed) == []
    xmp = xmp_properties(signed)
    assert (xmp["pdfaid:part"], xmp["pdfaid:conformance"]) == ("2", "B")
