"""The court of a requête, from the parties' legal forms (law/data/legal_forms.csv, courts.csv)."""
from __future__ import annotations

import datetime as dt

import pytest
from gen_support import load_case

from law import find_legal_form, injunction_court, legal_forms

ON = dt.date(2026, 6, 30)
PARIS = {"lines": ["1 rue de Rivoli"], "postal_code": "75001", "city": "Paris"}


def debtor(kind="company", name="Débiteur", legal_form=None, address=PARIS):
    d = {"kind": kind, "name": name, "address": address}
    if legal_form:
        d["legal_form"] = legal_form
    if kind != "consumer":
        d["siren"] = "404833048"
    return d


def court(**debtor_fields):
    return injunction_court(load_case("b2b", debtor=debtor(**debtor_fields)), ON)


def test_every_row_cites_a_source_and_commercial_forms_are_l210_1():
    assert all(f.source for f in legal_forms())
    for code in ("SARL", "EURL", "SA", "SAS", "SASU", "SNC", "SCS", "SCA"):
        assert find_legal_form(code, ON).nature == "commercial", code
    for code in ("SCI", "SCP", "SCM", "SC", "association", "GAEC", "EARL"):
        assert find_legal_form(code, ON).nature == "civil", code
    assert find_legal_form("S.A.R.L.", ON).code == "SARL"
    assert find_legal_form("Société civile immobilière", ON).code == "SCI"
    assert find_legal_form("GIE", ON).nature == "check" and find_legal_form("SELARL", ON).nature == "check"


def test_between_commercial_companies_the_tribunal_de_commerce_without_checks():
    c = court(name="Boulangerie Dupont SAS", legal_form="SAS")
    assert (c.nature, c.of, c.commercial, c.alternative, c.checks) == ("tribunal de commerce", "du", True, None, ())


@pytest.mark.parametrize("form, name", [("SCI", "SCI Les Tilleuls"), ("SCP", "SCP Martin & Associés"),
                                        ("SCM", "SCM du Parc"), ("association", "Association des amis"),
                                        (None, "SCI Les Tilleuls")])   # the form read from the name
def test_a_civil_debtor_goes_to_the_tribunal_judiciaire_and_says_why(form, name):
    c = court(name=name, legal_form=form)
    assert c.nature == "tribunal judiciaire" and not c.commercial
    assert any("ni commerçant ni société commerciale" in x and "tribunal judiciaire" in x for x in c.checks)


def test_gie_and_liberal_companies_are_checked_not_guessed():
    c = court(name="GIE Achats Ouest", legal_form="GIE")
    assert c.nature == "tribunal de commerce" and c.alternative == "tribunal judiciaire"
    assert any("GIE Achats Ouest" in x and "selon son objet" in x for x in c.checks)
    assert any("non vérifié" in x for x in c.checks)   # the row is not verified: said so


def test_professional_natural_persons_get_a_check_unless_their_status_says():
    c = court(kind="professional", name="M. Hugo Petit")
    assert c.commercial and c.alternative == "tribunal judiciaire"
    assert any("personne physique professionnelle" in x and "profession libérale" in x for x in c.checks)
    liberal = court(kind="professional", name="Dr Anne Roy", legal_form="profession libérale")
    assert liberal.nature == "tribunal judiciaire" and not liberal.commercial
    trader = court(kind="professional", name="M. Paul Blanc", legal_form="commerçant")
    assert trader.nature == "tribunal de commerce" and trader.checks == ()


def test_artisans_go_to_the_commercial_court_from_2022():
    case = load_case("b2b", debtor=debtor(kind="professional", name="M. Léo Bois", legal_form="artisan"))
    assert injunction_court(case, dt.date(2021, 12, 31)).nature == "tribunal judiciaire"
    assert injunction_court(case, dt.date(2022, 1, 1)).nature == "tribunal de commerce"


def test_consumers_and_private_creditors_are_civil():
    assert injunction_court(load_case("b2c"), ON).nature == "tribunal judiciaire"
    case = load_case("b2b", creditor={"kind": "individual", "name": "Mme Sophie Lambert",
                                      "address": {"lines": ["5 impasse des Lilas"], "postal_code": "44000",
                                                  "city": "Nantes"}})
    assert not injunction_court(case, ON).commercial


def test_alsace_moselle_commercial_matters_go_to_the_commercial_chamber():
    c = injunction_court(load_case("b2b"), ON)    # debtor in 67000 Strasbourg
    assert (c.nature, c.of, c.commercial) == ("chambre commerciale du tribunal judiciaire", "de la", True)
    assert any("Alsace-Moselle" in x for x in c.checks)
    civil = court(name="SCI Rhin", legal_form="SCI", address={"lines": ["1 quai"], "postal_code": "57000",
                                                             "city": "Metz"})
    assert civil.nature == "tribunal judiciaire"
