"""French formatting helpers: money, dates, amounts in words, user text."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from num2words import num2words

from generators import amount_in_words, clean_text, french_date, french_money, french_rate

NBSP = "\u00a0"


@pytest.mark.parametrize("value, words", [
    ("71", "soixante et onze euros"),
    ("80.01", "quatre-vingts euros et un centime"),
    ("1000000", "un million d'euros"),
    ("2000000000", "deux milliards d'euros"),
    ("1234.56", "mille deux cent trente-quatre euros et cinquante-six centimes"),
    ("1", "un euro"),
    ("0.50", "cinquante centimes"),
    ("0", "zéro euro"),
    ("6197.75", "six mille cent quatre-vingt-dix-sept euros et soixante-quinze centimes"),
    ("651.46", "six cent cinquante et un euros et quarante-six centimes"),
])
def test_amount_in_words_corrects_num2words_currency_mode(value, words):
    assert amount_in_words(Decimal(value)) == words


@given(st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2))
def test_amount_in_words_never_says_zero_cents_and_names_the_unit(value):
    words = amount_in_words(value)
    euros, cents = divmod(int(value * 100), 100)
    assert "zéro centime" not in words
    assert (" et " in words.split("euro")[-1] or euros == 0) if cents else words.endswith(("euro", "euros", "d'euros"))
    if euros:
        assert words.startswith(num2words(euros, lang="fr") + " ")
    if euros >= 2:
        assert "euros" in words or "d'euros" in words


@pytest.mark.parametrize("value, text", [
    ("1234.5", f"1{NBSP}234,50{NBSP}€"), ("0.1", f"0,10{NBSP}€"), ("6197.75", f"6{NBSP}197,75{NBSP}€"),
    ("1000000", f"1{NBSP}000{NBSP}000,00{NBSP}€"),
])
def test_french_money_uses_no_break_spaces_every_font_has(value, text):
    assert french_money(Decimal(value)) == text


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2))
def test_french_money_round_trips(value):
    text = french_money(value)
    assert "\u202f" not in text and re.fullmatch(r"\d{1,3}(\u00a0\d{3})*,\d{2}\u00a0€", text)
    assert Decimal(text[:-2].replace(NBSP, "").replace(",", ".")) == value


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        french_money(12.5)  # type: ignore[arg-type]


def test_french_dates_and_rates():
    assert french_date(dt.date(2026, 6, 30)) == "30 juin 2026"
    assert french_date(dt.date(2026, 7, 1)) == "1er juillet 2026"
    assert french_date(dt.date(2025, 12, 2)) == "2 décembre 2025"
    assert french_rate(Decimal("12.15")) == f"12,15{NBSP}%"
    assert french_rate(Decimal("10")) == f"10,00{NBSP}%"
    assert french_rate(Decimal("3.1125")) == f"3,1125{NBSP}%"


def test_clean_text_removes_what_docxtpl_would_turn_into_breaks():
    assert clean_text("Dupont\x00 & Fils\f<SARL>\a\t\x0b") == "Dupont & Fils <SARL>"
    assert clean_text("a\nb\r\nc") == "a b c"
    assert clean_text("Cafe\u0301") == "Café"                     # NFC


@given(st.text())
def test_clean_text_output_is_xml_safe_and_idempotent(text):
    out = clean_text(text)
    assert not re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", out)
    assert clean_text(out) == out
