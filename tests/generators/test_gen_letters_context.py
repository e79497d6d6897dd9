"""What the letters and the requête say about the case's history: earlier letters, the mise en
demeure and its posting, the agency's first letter, the court. Context only, no LibreOffice."""
from __future__ import annotations

import datetime as dt

import pytest
from gen_support import AGENCY, AS_OF, agency_case, b2b_claim, b2c_claim, load_case

from generators import DocumentKind, DocumentPipeline, DocumentRequest, Mailing, SentLetter, render_docx
from generators._formatting import de, ends_with_form
from generators._pieces import plan_pieces


class NoConverter:
    def convert(self, docx: bytes, *, timeout: float | None = None) -> bytes:  # pragma: no cover - unused
        raise AssertionError("no conversion here")


def context(kind, case, claim, **kw):
    return DocumentPipeline(NoConverter()).context(DocumentRequest(kind=kind, case=case, claim=claim, as_of=AS_OF,
                                                                   **kw))


def relance(date, reference="RELANCE1", mailing=None):
    return SentLetter(DocumentKind.relance, date, reference, mailing)


def notice(date=dt.date(2026, 3, 1), mailing=None, reference="MDE00001"):
    return SentLetter(DocumentKind.mise_en_demeure, date, reference, mailing)


def body_text(docx: bytes) -> str:
    import io
    import zipfile

    from lxml import etree
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml"))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    text = "\n".join("".join(t.text or "" for t in p.iter(f"{w}t")) for p in root.iter(f"{w}p"))
    return text.replace("\u00a0", " ").replace("\u202f", " ")


# -- the rank of a relance counts the system's own letters -------------------------------------

def test_a_generated_relance_makes_the_next_one_a_second_reminder():
    case = load_case("b2c", reminders=[])
    first, _ = context(DocumentKind.relance, case, b2c_claim())
    assert first["relance"]["rang"] == 1
    ctx, _ = context(DocumentKind.relance, case, b2c_claim(), letters=[relance(dt.date(2026, 2, 10))])
    assert ctx["relance"]["rang"] == 2 and ctx["relance"]["premiere"] is False
    assert ctx["relance"]["derniere"] == "10 février 2026"
    assert ctx["relance"]["precedentes"] == [{"date": "10 février 2026", "canal": "courrier"}]


def test_generated_and_recorded_reminders_count_together_once_each():
    case = load_case("b2c", reminders=[{"date": "2026-01-05", "channel": "email", "summary": "x"},
                                       {"date": "2026-02-10", "channel": "letter", "summary": "the same letter"}])
    letters = [relance(dt.date(2026, 2, 10)), relance(dt.date(2026, 3, 20)), relance(dt.date(2026, 7, 15))]
    ctx, _ = context(DocumentKind.mise_en_demeure, case, b2c_claim(), letters=letters)
    # the relance of 10 February was also recorded by hand; the one after the letter date is not yet sent
    assert ctx["relance"]["precedentes"] == [{"date": "5 janvier 2026", "canal": "courriel"},
                                             {"date": "10 février 2026", "canal": "courrier"},
                                             {"date": "20 mars 2026", "canal": "courrier"}]


def test_generated_relances_are_pieces_even_without_their_file():
    case = load_case("b2c", reminders=[], formal_notice_date=None)
    planned, warnings = plan_pieces(case, [], AS_OF, [relance(dt.date(2026, 2, 10))])
    assert [(p.number, p.title, p.kind) for p in planned] == [
        (1, "Facture n° 2025-1187 du 2 décembre 2025", "invoice"),
        (2, "Relance par courrier du 10 février 2026", "reminder")]
    assert any("Relance par courrier du 10 février 2026" in w for w in warnings)


def test_a_day_s_letter_is_the_generated_relance_whether_or_not_it_was_also_recorded_by_hand():
    from generators import reminder_history
    case = load_case("b2c", reminders=[{"date": "2026-02-10", "channel": "letter", "summary": "recorded by hand"},
                                       {"date": "2026-02-10", "channel": "email", "summary": "same day"}])
    earlier, later = relance(dt.date(2026, 2, 10), "FIRST001"), relance(dt.date(2026, 2, 10), "AGAIN002")
    history = reminder_history(case, [earlier, later], AS_OF)
    assert [(r.date, r.channel, r.letter, r.summary) for r in history] == [
        (dt.date(2026, 2, 10), "courriel", None, "same day"),
        (dt.date(2026, 2, 10), "courrier", later, "")]           # the signed letter, the last one made


def test_letters_dated_after_the_document_are_not_part_of_its_request():
    sent, unsent = relance(dt.date(2026, 3, 1)), notice(dt.date(2026, 7, 1))
    request = DocumentRequest(kind=DocumentKind.requete_injonction_de_payer, case=load_case("b2b"),
                              claim=b2b_claim(), as_of=AS_OF, letters=[sent, unsent])
    assert request.letters == (sent,)


# -- the requête's mise en demeure: its own date, and the LRAR only when one was posted ------------

def test_of_two_notices_on_one_date_the_requete_cites_and_lists_the_one_created_last():
    from generators import latest_notice
    first = notice(mailing=Mailing("lrar", "RA000000001FR", dt.date(2026, 3, 2)), reference="MDE00001")
    second = notice(mailing=Mailing("lrar", "RA000000002FR", dt.date(2026, 3, 3)), reference="MDE00002")
    assert latest_notice([first, second]) is second
    ctx, _ = context(DocumentKind.requete_injonction_de_payer, load_case("b2b"), b2b_claim(), letters=[first, second])
    assert "déposée le 3 mars 2026 sous le n° RA000000002FR" in ctx["mise_en_demeure"]["texte"]
    titles = [(p["intitule"], p["date"]) for p in ctx["pieces"]]
    assert ("Preuve d'envoi et avis de réception — LRAR n° RA000000002FR", "03/03/2026") in titles
    assert not any("RA000000001FR" in t for t, _ in titles)
    later = notice(dt.date(2026, 3, 5), reference="MDE00003")
    assert latest_notice([later, first]) is later                     # a later date wins, whenever it was made


def test_requete_gives_the_notice_letter_date_with_its_lrar_deposit_and_number():
    case = load_case("b2b", formal_notice_date="2026-03-05")   # first presentation, set by delivery
    posted = notice(mailing=Mailing("lrar", "RA473124829FR", dt.date(2026, 3, 2)))
    ctx, _ = context(DocumentKind.requete_injonction_de_payer, case, b2b_claim(), letters=[posted])
    assert ctx["mise_en_demeure"]["texte"] == (
        "Par lettre recommandée avec demande d'avis de réception du 1er mars 2026, déposée le 2 mars 2026 sous le "
        "n° RA473124829FR, le débiteur a été mis en demeure de payer.")
    text = body_text(render_docx("requete_injonction_de_payer", ctx))
    assert "5 mars 2026" not in text
    titles = [(p["intitule"], p["date"]) for p in ctx["pieces"]]
    assert ("Mise en demeure du 1er mars 2026 par lettre recommandée avec demande d'avis de réception",
            "01/03/2026") in titles
    assert ("Preuve d'envoi et avis de réception — LRAR n° RA473124829FR", "02/03/2026") in titles


def test_requete_describes_an_unposted_notice_neutrally():
    case = load_case("b2b")
    ctx, _ = context(DocumentKind.requete_injonction_de_payer, case, b2b_claim(), letters=[notice()])
    assert ctx["mise_en_demeure"]["texte"] == \
        "Le débiteur a été mis en demeure de payer (mise en demeure du 1er mars 2026)."
    assert "recommandée" not in body_text(render_docx("requete_injonction_de_payer", ctx))
    ctx, _ = context(DocumentKind.requete_injonction_de_payer, load_case("b2c"), b2c_claim())
    assert ctx["mise_en_demeure"]["texte"] == \
        "Le débiteur a été mis en demeure de payer (mise en demeure du 2 mars 2026)."


def test_an_electronic_registered_letter_is_not_called_an_lrar():
    posted = notice(mailing=Mailing("lre", "LRE-42", dt.date(2026, 3, 1)))
    ctx, _ = context(DocumentKind.requete_injonction_de_payer, load_case("b2b"), b2b_claim(), letters=[posted])
    assert ctx["mise_en_demeure"]["texte"].startswith("Par lettre recommandée électronique du 1er mars 2026, "
                                                      "envoyée le 1er mars 2026 sous le n° LRE-42")
    assert "avis de réception" not in ctx["mise_en_demeure"]["texte"]


# -- collection agency (CPCE R124-4) -----------------------------------------------------------------

def test_later_agency_letters_recall_the_first_letter():
    first = relance(dt.date(2026, 2, 10), "AB12CD34", Mailing("lrar", None, dt.date(2026, 2, 11)))
    ctx, _ = context(DocumentKind.mise_en_demeure, agency_case(), b2b_claim(), letters=[first])
    assert ctx["mandataire"]["premiere_lettre"] == {"reference": "AB12CD34", "date": "10 février 2026",
                                                    "envoi": "11 février 2026"}
    text = body_text(render_docx("mise_en_demeure", ctx))
    assert ("notre première lettre relative à cette créance porte la référence AB12CD34 et est datée du "
            "10 février 2026 ; elle vous a été envoyée le 11 février 2026") in text
    ctx, _ = context(DocumentKind.relance, agency_case(), b2b_claim(), reference="FIRST001")
    assert ctx["mandataire"]["premiere_lettre"] is None
    text = body_text(render_docx("relance", ctx))
    assert "première lettre" not in text and "courrier n° FIRST001" in text


@pytest.mark.parametrize("template", ["relance", "mise_en_demeure"])
def test_agency_letters_explain_the_indemnity_and_show_none_to_a_consumer(template):
    b2b, _ = context(DocumentKind(template), agency_case(), b2b_claim())
    text = body_text(render_docx(template, b2b))
    assert "disposition législative contraire au sens de l'article L. 111-8, alinéa 2" in text
    assert "L. 441-10 II et D. 441-5" in text and "Autres accessoires" in text
    consumer = load_case("b2c", reference="EX-B2C-AGENCE", collection_agency=AGENCY)
    b2c, _ = context(DocumentKind(template), consumer, b2c_claim())
    text = body_text(render_docx(template, b2c))
    assert "Autres accessoires" not in text and "D. 441-5" not in text and "indemnité" not in text.lower()
    assert "ne vous sont pas réclamés" in text


# -- court ---------------------------------------------------------------------------------------------

def test_a_civil_company_debtor_goes_to_the_tribunal_judiciaire_with_the_750_1_sentence():
    case = load_case("b2b", debtor={"kind": "company", "name": "SCI Les Tilleuls", "legal_form": "SCI",
                                    "siren": "404833048",
                                    "address": {"lines": ["1 rue Neuve"], "postal_code": "69003", "city": "Lyon"}})
    ctx, warnings = context(DocumentKind.requete_injonction_de_payer, case, b2b_claim())
    assert ctx["juridiction"]["nature"] == "tribunal judiciaire" and ctx["juridiction"]["commerciale"] is False
    assert ctx["juridiction"]["designation"] == \
        "[À COMPLÉTER : tribunal judiciaire du lieu du domicile du débiteur — 69003 Lyon]"
    assert any("société civile immobilière" in w and "tribunal judiciaire" in w for w in warnings)
    assert "750-1" in body_text(render_docx("requete_injonction_de_payer", ctx))


def test_a_professional_natural_person_is_a_visible_check():
    case = load_case("b2b", debtor={"kind": "professional", "name": "M. Hugo Petit", "siren": "404833048",
                                    "address": {"lines": ["1 rue Neuve"], "postal_code": "44100", "city": "Nantes"}})
    ctx, warnings = context(DocumentKind.requete_injonction_de_payer, case, b2b_claim())
    assert ctx["juridiction"]["designation"] == (
        "[À COMPLÉTER : tribunal de commerce (ou tribunal judiciaire si une partie n'est ni commerçante ni "
        "artisan) du lieu du domicile du débiteur — 44100 Nantes]")
    assert any("M. Hugo Petit" in w and "profession libérale" in w for w in warnings)


# -- French wording ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("Atelier Lumière SARL", "d'Atelier Lumière SARL"), ("Boulangerie Dupont", "de Boulangerie Dupont"),
    ("Hôtel du Parc", "d'Hôtel du Parc"), ("Hangar 14", "de Hangar 14"), ("EDF", "d'EDF"),
    ("Yves Rocher", "d'Yves Rocher"), ("Yannick Noah", "de Yannick Noah"), ("M. Julien Moreau", "de M. Julien Moreau"),
    ("Émile & Cie", "d'Émile & Cie"), ("3F Conseil", "de 3F Conseil"),
])
def test_de_elides_before_a_vowel_or_a_mute_h(name, expected):
    assert de(name) == expected


def test_payment_instruction_elides_and_forms_are_not_repeated():
    ctx, _ = context(DocumentKind.mise_en_demeure, load_case("b2b"), b2b_claim())
    assert ctx["paiement"]["texte"].startswith("par virement sur le compte d'Atelier Lumière SARL, IBAN")
    assert ends_with_form("Dupont & Fils <S.A.R.L.>", "SARL") and not ends_with_form("SARL Dupont", "SARL")
    assert ctx["creancier"]["identite"].startswith("Atelier Lumière SARL, immatriculée")


def test_interest_labels_agree_with_their_noun():
    b2b, _ = context(DocumentKind.mise_en_demeure, load_case("b2b"), b2b_claim())
    b2c, _ = context(DocumentKind.mise_en_demeure, load_case("b2c"), b2c_claim())
    med_b2b, med_b2c = (body_text(render_docx("mise_en_demeure", c)) for c in (b2b, b2c))
    assert "Pénalités de retard échues, arrêtées au 30 juin 2026" in med_b2b
    assert "Intérêts au taux légal échus, arrêtés au 30 juin 2026" in med_b2c
    assert "calculés au taux de 2,62 %" in med_b2c
    req_b2b = body_text(render_docx("requete_injonction_de_payer", context(
        DocumentKind.requete_injonction_de_payer, load_case("b2b"), b2b_claim())[0]))
    req_b2c = body_text(render_docx("requete_injonction_de_payer", context(
        DocumentKind.requete_injonction_de_payer, load_case("b2c"), b2c_claim())[0]))
    assert "pénalités de retard échues au 30 juin 2026" in req_b2b and "échus au" not in req_b2b.split("PAR CES")[-1]
    assert "arrêtées au 30 juin 2026" in req_b2b and "intérêts au taux légal échus au 30 juin 2026" in req_b2c
    assert "(art. 1231-6 du code civil), au taux de 2,62 % (taux légal (autres cas) 2026-S1), arrêtés au" in req_b2c


def test_a_one_day_deadline_is_singular():
    ctx, _ = context(DocumentKind.mise_en_demeure, load_case("b2b"), b2b_claim(), payment_days=1)
    assert "un (1) jour à compter de la réception de la présente" in body_text(render_docx("mise_en_demeure", ctx))
    ctx, _ = context(DocumentKind.relance, load_case("b2b"), b2b_claim(), payment_days=15)
    assert "sous quinze (15) jours" in body_text(render_docx("relance", ctx))
