"""French formatting of what the letters print: money, dates, rates, amounts in words, user text.

Babel's fr_FR group separator is U+202F, which some fonts lack (Caladea prints
"1234,56 €"); every helper returns U+00A0 instead so any template font renders it.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from num2words import num2words

__all__ = ["french_money", "french_date", "french_short_date", "french_rate", "french_number",
           "amount_in_words", "clean_text", "group_digits", "format_iban", "de", "ends_with_form"]

_NNBSP, _NBSP = "\u202f", "\u00a0"
_CENT = Decimal("0.01")


def _nbsp(s: str) -> str:
    return s.replace(_NNBSP, _NBSP)


def _decimal(value: Decimal | int | str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must be Decimal, not float")
    return Decimal(value)


def french_money(value: Decimal | int | str) -> str:
    """``Decimal("1234.5")`` → ``"1 234,50 €"`` (no-break spaces)."""
    return _nbsp(format_currency(_decimal(value).quantize(_CENT, ROUND_HALF_UP), "EUR", locale="fr_FR"))


def french_number(value: Decimal | int | str, pattern: str = "#,##0.##") -> str:
    return _nbsp(format_decimal(_decimal(value), format=pattern, locale="fr_FR"))


def french_rate(value: Decimal | int | str) -> str:
    """An annual percentage as printed in a décompte: ``Decimal("12.15")`` → ``"12,15 %"``."""
    return french_number(value, "#,##0.00##") + _NBSP + "%"


def french_date(value: dt.date) -> str:
    """``date(2026, 6, 30)`` → ``"30 juin 2026"``; the first of the month is written « 1er »."""
    text = format_date(value, format="long", locale="fr_FR")
    return "1er" + text[1:] if value.day == 1 else text


def french_short_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def amount_in_words(value: Decimal | int | str) -> str:
    """Euros in French words, correcting num2words' currency mode.

    num2words says "un million euros et zéro centimes"; French says « un million d'euros »,
    drops a zero cents clause and writes « cinquante centimes » rather than « zéro euro et … ».
    """
    amount = _decimal(value)
    if amount < 0:
        return "moins " + amount_in_words(-amount)
    euros, cents = divmod(int((amount * 100).to_integral_value(ROUND_HALF_UP)), 100)
    cents_words = f"{num2words(cents, lang='fr')} centime{'s' if cents > 1 else ''}" if cents else ""
    if euros == 0 and cents:
        return cents_words
    unit = "euro" if euros < 2 else "euros"
    if euros and euros % 1_000_000 == 0:
        unit = "d'euros"
    words = f"{num2words(euros, lang='fr')} {unit}"
    return f"{words} et {cents_words}" if cents else words


# All C0 controls: docxtpl turns \t \n \a \f into tab, line break, paragraph and page
# break, and \x00 truncates the text; C1 controls, surrogates and U+FFFE/F are not XML.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"[ \u00a0]{2,}")


def clean_text(value: str) -> str:
    """User text made safe for a DOCX run: control characters become spaces, runs of spaces shrink."""
    text = unicodedata.normalize("NFC", value)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def group_digits(digits: str, size: int = 3) -> str:
    """``"732829320"`` → ``"732 829 320"`` (SIREN as printed on a Kbis)."""
    d = digits.replace(" ", "")
    return _NBSP.join(d[i:i + size] for i in range(0, len(d), size))


def format_iban(iban: str) -> str:
    s = iban.replace(" ", "").upper()
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


_VOWELS = "aeiouàâäéèêëîïôöùûüœæ"
# Words whose h is aspirated (no elision) that open French trade names; any other h is mute.
_ASPIRATED_H = frozenset({
    "hache", "haie", "hall", "halle", "halles", "hameau", "hangar", "harpe", "hasard", "haut", "haute", "hauts",
    "hautes", "havre", "héron", "héros", "hêtre", "hibou", "hollande", "homard", "hongrie", "honte", "houblon",
    "housse", "huit", "hussard",
})


def de(name: str) -> str:
    """« de » before a name, elided before a vowel or a mute h: « d'Atelier Lumière », « de Clinique … »,
    « d'Hôtel du Parc », « de Hangar 14 »; a y elides only before a consonant (« d'Yves », « de Yannick »)."""
    text = name.strip()
    word = re.match(r"[^\W\d_]+", text)
    if word:
        w = word.group(0).lower()
        if w[0] in _VOWELS or (w[0] == "h" and w not in _ASPIRATED_H) or \
                (w[0] == "y" and len(w) > 1 and w[1] not in _VOWELS + "y"):
            return f"d'{text}"
    return f"de {text}"


def _tokens(text: str) -> list[str]:
    ascii_text = unicodedata.normalize("NFKD", text.replace(".", "")).encode("ascii", "ignore").decode()
    return re.findall(r"[A-Z0-9]+", ascii_text.upper())


def ends_with_form(name: str, form: str) -> bool:
    """« Atelier Lumière SARL » already says « SARL » (so does « Dupont <S.A.R.L.> »)."""
    words, tail = _tokens(name), _tokens(form)
    return bool(tail) and words[-len(tail):] == tail
