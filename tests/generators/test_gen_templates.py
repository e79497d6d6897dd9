"""The DOCX templates a lawyer edits: every variable they name exists, tags are whole, fonts are ours.

This is the test to run after editing a template in Word or LibreOffice (see legal_templates/README.md).
"""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import zipfile
from decimal import Decimal

import pytest
from docx import Document
from docxtpl import DocxTemplate
from gen_support import AS_OF, agency_case, b2b_claim, b2c_claim, dupont_case, load_case
from lxml import etree

from generators import (
    TEMPLATES_DIR,
    DocumentKind,
    DocumentPipeline,
    DocumentRequest,
    GenerationError,
    render_docx,
    template_environment,
)
from law.statement import ClaimStatement, InvoiceBalance

TEMPLATES = ["relance", "mise_en_demeure", "decompte", "requete_injonction_de_payer", "bordereau_pieces"]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class NoConverter:
    def convert(self, docx: bytes, *, timeout: float | None = None) -> bytes:  # pragma: no cover - unused
        raise AssertionError("no conversion in template tests")


def individual_case():
    """A natural-person creditor (birth known, no IBAN, no representative) against a sole trader."""
    return load_case("b2c", reference="EX-IND-0001",
                     creditor={"kind": "individual", "name": "Mme Sophie Lambert", "birth_date": "1979-04-12",
                               "birth_place": "Nantes",
                               "address": {"lines": ["5 impasse des Lilas"], "postal_code": "44000",
                                           "city": "Nantes"}},
                     debtor={"kind": "professional", "name": "M. Hugo Petit", "siren": "404833048",
                             "address": {"lines": ["1 rue Neuve"], "postal_code": "44100", "city": "Nantes"}},
                     reminders=[], formal_notice_date=None)


def no_interest_claim() -> ClaimStatement:
    return ClaimStatement(
        regime="civil", as_of=AS_OF, principal=Decimal("645.90"), paid=Decimal("700.00"),
        principal_outstanding=Decimal("0.00"), interest_accrued=Decimal("0.00"), interest_paid=Decimal("0.00"),
        interest_outstanding=Decimal("0.00"), indemnities=Decimal("0.00"), credit=Decimal("54.10"),
        total_outstanding=Decimal("0.00"), lines=(), indemnity_lines=(), imputations=(),
        invoices=(InvoiceBalance("2025-1187", dt.date(2025, 12, 2), dt.date(2025, 12, 2), Decimal("645.90"),
                                 Decimal("645.90"), Decimal("0.00"), Decimal("0"), Decimal("0"), Decimal("0"), None),),
    )


VARIANTS = {
    "b2b": lambda: (load_case("b2b"), b2b_claim()),
    "b2c": lambda: (load_case("b2c"), b2c_claim()),
    "agency": lambda: (agency_case(), b2b_claim(warnings=("avertissement",))),
    "dupont": lambda: (dupont_case(), b2b_claim()),
    "first_reminder": lambda: (load_case("b2c", reminders=[]), b2c_claim()),
    "individual": lambda: (individual_case(), no_interest_claim()),
}


def context(variant: str, kind: DocumentKind = DocumentKind.requete_injonction_de_payer):
    case, claim = VARIANTS[variant]()
    ctx, _ = DocumentPipeline(NoConverter()).context(DocumentRequest(kind=kind, case=case, claim=claim, as_of=AS_OF))
    return ctx


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("name", TEMPLATES)
def test_template_names_only_known_variables_and_renders(name, variant):
    ctx = context(variant)
    tpl = DocxTemplate(TEMPLATES_DIR / f"{name}.docx")
    assert tpl.get_undeclared_template_variables(jinja_env=template_environment(), context=ctx) == set()
    # StrictUndefined: a misspelt attribute in any branch taken by this variant fails here
    docx = render_docx(TEMPLATES_DIR / f"{name}.docx", ctx)
    body = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode()
    assert "{{" not in body and "{%" not in body


def _with_paragraph(tmp_path, text: str):
    path = tmp_path / "mise_en_demeure.docx"
    shutil.copy(TEMPLATES_DIR / "mise_en_demeure.docx", path)
    doc = Document(str(path))
    doc.add_paragraph(text)
    doc.save(str(path))
    return path


def test_a_template_with_an_unknown_variable_fails(tmp_path):
    path = _with_paragraph(tmp_path, "Cordialement, {{ signataire_inconnu }}")
    ctx = context("b2b")
    missing = DocxTemplate(path).get_undeclared_template_variables(jinja_env=template_environment(), context=ctx)
    assert missing == {"signataire_inconnu"}
    with pytest.raises(GenerationError) as err:
        render_docx(path, ctx)
    assert err.value.step == "render" and "signataire_inconnu" in str(err.value)


def test_a_misspelt_attribute_fails_at_render(tmp_path):
    path = _with_paragraph(tmp_path, "{{ debiteur.nom_complet }}")
    with pytest.raises(GenerationError, match="render: .*nom_complet"):
        render_docx(path, context("b2b"))


def test_a_broken_tag_fails_at_render(tmp_path):
    path = _with_paragraph(tmp_path, "{% if creance.commercial %}sans fin")
    with pytest.raises(GenerationError, match="^render: "):
        render_docx(path, context("b2b"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_tag_sits_in_one_run(name):
    """Word splits runs when a tag is retyped in pieces; such a tag no longer parses."""
    with zipfile.ZipFile(TEMPLATES_DIR / f"{name}.docx") as z:
        for part in [n for n in z.namelist() if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", n)]:
            root = etree.fromstring(z.read(part))
            for t in root.iter(f"{W}t"):
                text = t.text or ""
                assert text.count("{{") == text.count("}}"), (part, text)
                assert text.count("{%") == text.count("%}"), (part, text)
            for p in root.iter(f"{W}p"):
                whole = "".join(t.text or "" for t in p.iter(f"{W}t"))
                if whole.startswith(("{%p", "{%tr")):
                    assert re.fullmatch(r"\{%(p|tr) [^%]+ %\}", whole), whole


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_use_only_fonts_with_our_glyphs(name):
    with zipfile.ZipFile(TEMPLATES_DIR / f"{name}.docx") as z:
        fonts, themed = set(), False
        for part in ("word/styles.xml", "word/document.xml"):
            root = etree.fromstring(z.read(part))
            for rf in root.iter(f"{W}rFonts"):
                fonts |= {v for k, v in rf.attrib.items() if not k.lower().endswith("theme")}
                themed |= any(k.lower().endswith("theme") for k in rf.attrib)
    assert fonts == {"Liberation Serif"} and not themed


@pytest.mark.parametrize("name", ["relance", "mise_en_demeure", "requete_injonction_de_payer"])
def test_letters_reserve_a_signature_bookmark(name):
    with zipfile.ZipFile(TEMPLATES_DIR / f"{name}.docx") as z:
        assert b'w:name="signature"' in z.read("word/document.xml")


def test_user_text_is_escaped_and_cleaned_in_the_docx():
    ctx = context("dupont")
    ctx["debiteur"]["nom"] = "Dupont\x00 & Fils <SARL>\f"
    docx = render_docx(TEMPLATES_DIR / "mise_en_demeure.docx", ctx)
    body = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode()
    assert "Dupont &amp; Fils &lt;SARL&gt;" in body
    assert "Zone \"Les &lt;Acacias&gt;\" &amp; Cie" in body or "Zone &quot;Les &lt;Acacias&gt;&quot; &amp; Cie" in body
    assert 'w:type="page"' not in body


def test_rendered_docx_carries_title_and_author():
    ctx = context("b2b")
    docx = render_docx("mise_en_demeure", ctx, title="Mise en demeure — EX-B2B-0001", author="A & B")
    props = Document(io.BytesIO(docx)).core_properties
    assert props.title == "Mise en demeure — EX-B2B-0001" and props.author == "A & B"


@pytest.mark.parametrize("name", TEMPLATES)
def test_no_table_row_breaks_across_pages(name):
    """A row split over two pages leaves a label on one and its amount on the next."""
    with zipfile.ZipFile(TEMPLATES_DIR / f"{name}.docx") as z:
        root = etree.fromstring(z.read("word/document.xml"))
    rows = list(root.iter(f"{W}tr"))
    assert rows
    for tr in rows:
        flag = tr.find(f"{W}trPr/{W}cantSplit")
        assert flag is not None and flag.get(f"{W}val", "true") in ("true", "1", "on"), \
            "".join(t.text or "" for t in tr.iter(f"{W}t"))[:80]


@pytest.mark.parametrize("name", ["mise_en_demeure", "requete_injonction_de_payer", "decompte"])
def test_summary_tables_stay_on_one_page(name):
    with zipfile.ZipFile(TEMPLATES_DIR / f"{name}.docx") as z:
        root = etree.fromstring(z.read("word/document.xml"))
    summaries = [t for t in root.iter(f"{W}tbl") if "Total restant dû" in "".join(x.text or "" for x in t.iter(f"{W}t"))]
    assert summaries
    for tbl in summaries:
        rows = tbl.findall(f"{W}tr")
        for tr in rows[:-1]:
            assert all(p.find(f"{W}pPr/{W}keepNext") is not None for p in tr.iter(f"{W}p"))
