"""Every document kind through the real LibreOffice, checked with poppler and qpdf, not with our own code."""
from __future__ import annotations

import io
import re
import subprocess
import zipfile

import pytest
from gen_support import (
    AGENCY,
    AS_OF,
    agency_case,
    b2b_claim,
    b2c_claim,
    load_case,
    pdffonts,
    pdftotext,
    xmp,
    zip_names,
)
from pypdf import PdfReader

from generators import DocumentKind, DocumentRequest, french_money

ALL_CASES = ["b2b", "b2c", "agency", "dupont"]
L111_8 = [
    "Les frais de recouvrement entrepris sans titre exécutoire restent à la charge du créancier, sauf s'ils "
    "concernent un acte dont l'accomplissement est prescrit par la loi au créancier. Toute stipulation contraire "
    "est réputée non écrite, sauf disposition législative contraire.",
    "Cependant, le créancier qui justifie du caractère nécessaire des démarches entreprises pour recouvrer sa "
    "créance peut demander au juge de l'exécution de laisser tout ou partie des frais ainsi exposés à la charge du "
    "débiteur de mauvaise foi.",
]


def money(value) -> str:
    return french_money(value).replace("\u00a0", " ")


@pytest.mark.libreoffice
@pytest.mark.parametrize("case_name", ALL_CASES)
@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_kind_is_pdfa2b_with_embedded_fonts(generated, case_name, kind, tmp_path):
    doc = generated(case_name, kind)
    assert doc.pdf.startswith(b"%PDF-")
    meta = xmp(doc.pdf, tmp_path)
    assert "<pdfaid:part>2</pdfaid:part>" in meta
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in meta
    fonts = pdffonts(doc.pdf, tmp_path)
    assert fonts, "a document with text has fonts"
    assert all(f["emb"] == "yes" for f in fonts), fonts
    assert {f["name"].split("+")[-1].split("-")[0] for f in fonts} <= {"LiberationSerif", "LiberationSans"}
    (tmp_path / "doc.pdf").write_bytes(doc.pdf)
    subprocess.run(["qpdf", "--check", str(tmp_path / "doc.pdf")], check=True, capture_output=True)
    assert doc.filename.endswith(".pdf") and case_name[:2] in doc.filename.lower()
    if kind is DocumentKind.dossier_injonction_de_payer:
        assert doc.docx is None and doc.zip is not None
    else:
        assert doc.docx is not None and doc.zip is None and doc.parts == [(doc.filename, doc.pdf)]


@pytest.mark.libreoffice
@pytest.mark.parametrize("case_name", ["b2b", "b2c"])
def test_mise_en_demeure_mentions(generated, case_name):
    case, claim = (load_case("b2b"), b2b_claim()) if case_name == "b2b" else (load_case("b2c"), b2c_claim())
    text = pdftotext(generated(case_name, DocumentKind.mise_en_demeure).pdf)
    assert "Lettre recommandée avec demande d'avis de réception" in text
    assert "Mise en demeure de payer" in text
    assert "huit (8) jours à compter de la réception de la présente" in text
    assert "injonction de payer" in text
    assert case.creditor.name in text and case.debtor.name in text
    for inv in case.invoices:
        assert inv.number in text and money(inv.amount) in text
    assert f"la somme totale de {money(claim.total_outstanding)}" in text
    assert money(claim.principal_outstanding) in text and money(claim.interest_outstanding) in text
    assert "Au 30 juin 2026" in text
    assert f"{case.creditor.address.city}, le 30 juin 2026" in text
    if case_name == "b2b":
        assert "6 197,75 €" in text
        assert "six mille cent quatre-vingt-dix-sept euros et soixante-quinze centimes" in text
        assert "L. 441-10" in text and "D. 441-5" in text and "1231-6" not in text
        assert "80,00 € pour 2 factures" in text
        assert "20/01/2026" in text and "1 500,00 €" in text          # payment received, with its imputation
        assert "FR76 3000 6000 0112 3456 7890 189" in text
        assert "Claire Martin" in text and "Gérante" in text
        assert "Devis D-2025-118" in text
    else:
        assert "651,46 €" in text and "six cent cinquante et un euros et quarante-six centimes" in text
        assert "1231-6" in text and "1344-1" in text and "L. 441-10" not in text
        assert "par chèque à l'ordre de Clinique Vétérinaire des Trois Ponts SELARL" in text


@pytest.mark.libreoffice
@pytest.mark.parametrize("kind", [DocumentKind.relance, DocumentKind.mise_en_demeure])
def test_collection_agency_letters_carry_r124_4_mentions(generated, kind):
    text = pdftotext(generated("agency", kind).pdf)
    claim = b2b_claim()
    assert "R. 124-4" in text
    assert AGENCY["name"] in text and "22 boulevard Haussmann, 75009 Paris" in text               # 1°
    assert "exerce une activité de recouvrement amiable de créances pour le compte d'autrui" in text
    assert "Atelier Lumière SARL, 14 rue des Tanneurs, 69002 Lyon" in text                        # 2°
    assert "Fondement de la créance : factures n° F-2025-0412 du 1er octobre 2025" in text       # 3°
    assert f"Principal {money(claim.principal_outstanding)}" in text
    assert money(claim.interest_outstanding) in text and "Autres accessoires" in text
    assert f"Total {money(claim.total_outstanding)}" in text
    assert "Vous êtes invité(e) à payer la somme due" in text and "IBAN FR76" in text             # 4°
    for paragraph in L111_8:                                                                     # 5°
        assert paragraph in text
    assert "Paul Girard" in text and "mandataire d'Atelier Lumière SARL" in text   # elided before a vowel


@pytest.mark.libreoffice
def test_relance_lists_unpaid_invoices_and_is_a_second_reminder(generated):
    text = pdftotext(generated("b2b", DocumentKind.relance).pdf)
    assert "Relance : factures toujours impayées" in text
    assert "Malgré le rappel du 5 janvier 2026" in text
    assert "F-2025-0412" in text and "3 429,43 €" in text and "F-2025-0467" in text and "2 350,40 €" in text
    assert "Montant restant dû en principal : 5 779,83 €" in text
    assert "sous huit (8) jours" in text
    assert "R. 124-4" not in text and "L. 111-8" not in text
    assert "Lettre recommandée" not in text


@pytest.mark.libreoffice
def test_first_reminder_when_no_written_reminder(pipeline):
    case = load_case("b2c", reminders=[{"date": "2026-01-10", "channel": "sms", "summary": "Rappel SMS"}])
    doc = pipeline.generate(DocumentRequest(kind=DocumentKind.relance, case=case, claim=b2c_claim(), as_of=AS_OF))
    text = pdftotext(doc.pdf)
    assert "Rappel de facture impayée" in text and "simple oubli" in text   # one invoice: singular
    assert "dans les meilleurs délais" in text and "mise en demeure vous sera adressée" not in text
    assert "2025-1187" in text and "645,90 €" in text


@pytest.mark.libreoffice
def test_decompte_prints_every_figure_to_recheck(generated):
    claim = b2b_claim()
    text = pdftotext(generated("b2b", DocumentKind.decompte).pdf)
    assert "DÉCOMPTE DE LA CRÉANCE" in text and "arrêté au 30 juin 2026" in text
    for ln in claim.lines:
        formula = (f"{money(ln.principal)} × 12,15 % × {ln.days} / 365 = {money(ln.amount)}")
        assert formula in text
        assert ln.basis.replace("\u00a0", " ") in text
    assert "01/11/2025 31/12/2025 61" in text          # first accrual day = day after the due date
    assert "20/01/2026 1 500,00 € F-2025-0412 129,43 € 1 370,57 €" in text
    assert f"Total des intérêts courus {money(claim.interest_accrued)}" in text
    assert "Total restant dû 6 197,75 €" in text
    for label, value in claim.conventions.items():
        assert f"{label} : {value}" in text
    assert "L. 441-10" in text and "D. 441-5" in text


@pytest.mark.libreoffice
def test_decompte_prints_engine_warnings(generated):
    text = pdftotext(generated("agency", DocumentKind.decompte).pdf)
    assert "Avertissements" in text and "Taux BCE du 2nd semestre 2026 non publié." in text


@pytest.mark.libreoffice
def test_requete_b2b_commercial_court_placeholder_and_cpc_mentions(generated):
    doc = generated("b2b", DocumentKind.requete_injonction_de_payer)
    text = pdftotext(doc.pdf)
    assert "REQUÊTE EN INJONCTION DE PAYER" in text
    # Strasbourg (67) has no tribunal de commerce: the placeholder itself names the commercial chamber
    assert ("Président de la [À COMPLÉTER : chambre commerciale du tribunal judiciaire du lieu du domicile du "
            "débiteur — 67000 Strasbourg]") in text
    assert "tribunal de commerce" not in text
    assert any("chambre commerciale du tribunal judiciaire du lieu du domicile du débiteur (67000 Strasbourg)" in w
               for w in doc.warnings)
    assert any("Alsace-Moselle" in w for w in doc.warnings)
    # CPC 54 / 57: form, dénomination, registration, seat, representative of both companies
    # the name already ends with the legal form: not repeated
    assert ("Atelier Lumière SARL, immatriculée sous le numéro SIREN 732 829 320, dont le siège social est "
            "situé 14 rue des Tanneurs, 69002 Lyon, représentée par Claire Martin, Gérante") in text
    assert "Boulangerie Dupont & Fils SAS, immatriculée sous le numéro SIREN 404 833 048" in text
    assert "SARL, SARL" not in text and "SAS, SAS" not in text
    # CPC 1407: amount with its breakdown, legal basis, bordereau
    assert "6 197,75 €" in text and "5 779,83 €" in text and "337,92 €" in text and "80,00 €" in text
    assert "01/11/2025" in text and "16/12/2025" in text and "12,15 %" in text         # interest start and rate
    assert "L. 441-10" in text and "D. 441-5" in text and "1405" in text
    assert "BORDEREAU DES PIÈCES" in text and "Devis D-2025-118 signé" in text
    assert "Fait à Lyon, le 30 juin 2026" in text and "Claire Martin" in text
    assert "750-1" not in text
    assert doc.signature_box is not None


@pytest.mark.libreoffice
def test_requete_b2c_goes_to_tribunal_judiciaire(generated):
    doc = generated("b2c", DocumentKind.requete_injonction_de_payer)
    text = pdftotext(doc.pdf)
    assert "[À COMPLÉTER : tribunal judiciaire du lieu du domicile du débiteur — 33000 Bordeaux]" in text
    assert "tribunal de commerce" not in text
    assert "M. Julien Moreau, demeurant Appartement 12, 27 rue Sainte-Catherine, 33000 Bordeaux" in text
    assert "1231-6" in text and "1344-1" in text and "L. 441-10" not in text
    assert "651,46 €" in text and "645,90 €" in text and "5,56 €" in text and "2,62 %" in text
    assert "750-1" in text and "25-70.013" in text
    assert "a été mis en demeure de payer" in text and "2 mars 2026" in text


@pytest.mark.libreoffice
def test_bordereau_lists_missing_copies(generated):
    doc = generated("b2c", DocumentKind.bordereau_pieces)
    text = pdftotext(doc.pdf)
    assert "Pièce n°1 Facture n° 2025-1187 du 2 décembre 2025" in text
    assert "Relance par courrier du 3 février 2026" in text and "Mise en demeure du 2 mars 2026" in text
    assert text.count("copie à joindre") == 3
    missing = [w for w in doc.warnings if "copie à joindre" in w]
    assert len(missing) == 3 and missing[0].startswith("Pièce n°1 « Facture n° 2025-1187")


@pytest.mark.libreoffice
def test_escaping_and_control_characters(generated):
    b2b_med = pdftotext(generated("b2b", DocumentKind.mise_en_demeure).pdf)
    doc = generated("dupont", DocumentKind.mise_en_demeure)
    text = pdftotext(doc.pdf)
    assert "Dupont & Fils <SARL>" in text
    assert 'Zone "Les <Acacias>" & Cie' in text and "12 rue du Four" in text
    assert "(Pose <urgente> & soignée)" in text
    # \f in the user's text must not become a page break, nor \a a paragraph
    assert len(PdfReader(io.BytesIO(doc.pdf)).pages) == len(PdfReader(io.BytesIO(
        generated("b2b", DocumentKind.mise_en_demeure).pdf)).pages)
    assert "6 197,75 €" in text and "6 197,75 €" in b2b_med
    req = pdftotext(generated("dupont", DocumentKind.requete_injonction_de_payer).pdf)
    assert "Dupont & Fils <SARL>, immatriculée" in req and "<SARL>, SARL" not in req


@pytest.mark.libreoffice
def test_dossier_bundle_outline_labels_stamps_and_zip(generated, tmp_path):
    doc = generated("b2b", DocumentKind.dossier_injonction_de_payer)
    reader = PdfReader(io.BytesIO(doc.pdf))
    titles = [item.title for item in reader.outline]
    assert titles[:3] == ["Requête en injonction de payer", "Décompte de la créance", "Bordereau des pièces"]
    pieces = titles[3:]
    assert pieces == [
        "Pièce n°1 — Devis D-2025-118 signé",
        "Pièce n°2 — Facture F-2025-0412",
        "Pièce n°3 — Facture F-2025-0467",
        "Pièce n°6 — Mise en demeure (LRAR)",
        "Pièce n°7 — Preuve de dépôt de la LRAR",
        "Pièce n°8 — Échanges de courriels avec le gérant",
    ]
    # reminders 4 and 5 were not uploaded: listed, not bundled, and warned about
    assert sum("copie à joindre" in w for w in doc.warnings) == 2
    labels = reader.page_labels
    assert labels[0] == "R-1" and "D-1" in labels and "B-1" in labels
    assert "P1-1" in labels and "P8-1" in labels and "P8-2" in labels
    text = pdftotext(doc.pdf)
    for n in (1, 2, 3, 6, 7, 8):
        assert f"Pièce n°{n}" in text
    assert "Pièce n°8 page 2/2" in text
    # PDF/A claim kept from the requête (clone), every font embedded including the stamp's
    meta = xmp(doc.pdf, tmp_path)
    assert "<pdfaid:part>2</pdfaid:part>" in meta
    assert "/OutputIntents" in reader.trailer["/Root"]
    assert all(f["emb"] == "yes" for f in pdffonts(doc.pdf, tmp_path))
    # the ZIP holds the individual PDFs
    names = zip_names(doc.zip)
    assert names[:3] == ["01-requete.pdf", "02-decompte.pdf", "03-bordereau.pdf"]
    assert names[3:] == ["piece-01-devis-d-2025-118-signe.pdf", "piece-02-facture-f-2025-0412.pdf",
                         "piece-03-facture-f-2025-0467.pdf", "piece-06-mise-en-demeure-lrar.pdf",
                         "piece-07-preuve-de-depot-de-la-lrar.pdf",
                         "piece-08-echanges-de-courriels-avec-le-gerant.pdf"]
    assert [n for n, _ in doc.parts] == names
    with zipfile.ZipFile(io.BytesIO(doc.zip)) as z:
        for name in names:
            data = z.read(name)
            assert data.startswith(b"%PDF-")
            assert len(PdfReader(io.BytesIO(data)).pages) >= 1
        assert "Pièce n°2" in pdftotext(z.read("piece-02-facture-f-2025-0412.pdf"))
        assert "<pdfaid:part>2</pdfaid:part>" in xmp(z.read("01-requete.pdf"), tmp_path)
    total_pages = sum(len(PdfReader(io.BytesIO(d)).pages) for _, d in doc.parts)
    assert len(reader.pages) == total_pages


@pytest.mark.libreoffice
def test_dossier_xmp_and_info_still_agree(generated):
    reader = PdfReader(io.BytesIO(generated("b2b", DocumentKind.dossier_injonction_de_payer).pdf))
    info = reader.metadata
    meta = reader.xmp_metadata
    # the bundle's own title, not the requête's it was cloned from
    assert info.title == meta.dc_title["x-default"] == "Dossier d'injonction de payer — EX-B2B-0001"
    assert meta.pdfaid_part == "2"
    assert info.producer == meta.pdf_producer


@pytest.mark.libreoffice
def test_dossier_without_uploads_still_bundles_the_three_documents(generated):
    doc = generated("b2c", DocumentKind.dossier_injonction_de_payer)
    assert zip_names(doc.zip) == ["01-requete.pdf", "02-decompte.pdf", "03-bordereau.pdf"]
    assert [o.title for o in PdfReader(io.BytesIO(doc.pdf)).outline] == [
        "Requête en injonction de payer", "Décompte de la créance", "Bordereau des pièces"]
    assert re.search(r"\[À COMPLÉTER : tribunal judiciaire", pdftotext(doc.pdf))


@pytest.mark.libreoffice
def test_finish_gets_every_final_pdf_with_the_signature_box(pipeline):
    calls = []

    def finish(pdf: bytes, hint):
        calls.append(hint)
        return pdf.replace(b"%%EOF", b"%finished\n%%EOF")

    case = agency_case()
    med = pipeline.generate(DocumentRequest(kind=DocumentKind.mise_en_demeure, case=case, claim=b2b_claim(),
                                            as_of=AS_OF), finish=finish)
    assert b"%finished" in med.pdf and len(calls) == 1
    hint = calls[0]
    assert hint.kind is DocumentKind.mise_en_demeure and hint.filename == med.filename
    page, x1, y1, x2, y2 = hint.signature_box
    assert x2 - x1 > 150 and 50 < y2 - y1 < 70
    # the box sits between « Pour … » and the signatory's name on that page
    words = _words_with_positions(med.pdf, page)
    girard = next(w for w in words if w[0] == "Girard")
    pour = next(w for w in words if w[0] == "Pour")
    page_h = 841.89
    assert page_h - pour[2] > y2 - 20 and page_h - girard[2] < y1 + 20

    calls.clear()
    dossier = pipeline.generate(DocumentRequest(kind=DocumentKind.dossier_injonction_de_payer, case=case,
                                                claim=b2b_claim(), as_of=AS_OF), finish=finish)
    assert len(calls) == len(dossier.parts) + 1
    assert all(b"%finished" in pdf for _, pdf in dossier.parts) and b"%finished" in dossier.pdf
    assert calls[-1].kind is DocumentKind.dossier_injonction_de_payer
    assert calls[0].kind is DocumentKind.requete_injonction_de_payer and calls[0].signature_box is not None
    assert calls[-1].signature_box == calls[0].signature_box


def _words_with_positions(pdf: bytes, page_index: int) -> list[tuple[str, float, float]]:
    """(word, xMin, yMin from the top) per word, from pdftotext -bbox."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page_index + 1), "-l", str(page_index + 1), "-", "-"],
                         input=pdf, capture_output=True, check=True).stdout.decode()
    return [(m.group(5), float(m.group(1)), float(m.group(2)))
            for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                                 out)]


@pytest.mark.libreoffice
@pytest.mark.parametrize("name, total", [("b2b", "6 197,75 €"), ("b2c", "651,46 €")])
def test_figures_of_the_real_claim_engine_are_printed(pipeline, name, total, tmp_path):
    from law import compute_claim

    case = load_case(name)
    claim = compute_claim(case, AS_OF)
    doc = pipeline.generate(DocumentRequest(kind=DocumentKind.decompte, case=case, claim=claim, as_of=AS_OF))
    text = pdftotext(doc.pdf)
    assert f"Total restant dû {total}" in text
    for ln in claim.lines:
        assert f"× {ln.days} / {ln.divisor} = {money(ln.amount)}" in text
    for label in claim.conventions:
        assert f"{label} :" in text
    assert all(f["emb"] == "yes" for f in pdffonts(doc.pdf, tmp_path))
