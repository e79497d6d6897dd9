from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from delivery import CsvError, CsvRow, parse_tracking_csv

PARIS = ZoneInfo("Europe/Paris")

MIXED = """tracking_number,event,date
RA473124829FR,delivered,2026-03-05
RA473124828FR,delivered,2026-03-05
1A01234567890,AG1,04/03/2026
RR123456785FR,livraison,2026-03-05
RR123456785FR,deposited,31/02/2026

"RA 4731 2482 9 FR",PC1,2026-03-02T17:02:00+01:00
"""


def test_mixed_good_and_bad_lines():
    result = parse_tracking_csv(MIXED)
    assert result.rows == [
        CsvRow(2, "RA473124829FR", "delivered", datetime(2026, 3, 5, tzinfo=PARIS)),
        CsvRow(4, "1A01234567890", "first_presented", datetime(2026, 3, 4, tzinfo=PARIS)),
        CsvRow(8, "RA473124829FR", "deposited", datetime(2026, 3, 2, 16, 2, tzinfo=UTC)),
    ]
    assert [(e.line, e.column) for e in result.errors] == [
        (3, "tracking_number"),
        (5, "event"),
        (6, "date"),
    ]
    assert result.errors[0].message_fr == "numéro de suivi invalide : chiffre de contrôle incorrect"
    assert (
        "événement inconnu" in result.errors[1].message_fr
        and "livraison" in result.errors[1].message_fr
    )
    assert result.errors[2].message_fr.startswith("date invalide : « 31/02/2026 »")


def test_semicolons_bom_and_column_order():
    text = "\ufeffdate;Event;tracking_number;commentaire\n05/03/2026 10:12;DI1;RA473124829FR;ok\n"
    result = parse_tracking_csv(text)
    assert result.errors == []
    assert result.rows == [
        CsvRow(2, "RA473124829FR", "delivered", datetime(2026, 3, 5, 10, 12, tzinfo=PARIS))
    ]


def test_bytes_with_bom():
    result = parse_tracking_csv(
        "tracking_number;event;date\nRA473124829FR;refusé;2026-03-05\n".encode("utf-8-sig")
    )
    assert [r.event_type for r in result.rows] == ["refused"]


def test_not_utf8():
    result = parse_tracking_csv(
        "tracking_number;event;date\nRA473124829FR;refusé;2026-03-05\n".encode("latin-1")
    )
    assert result.rows == [] and "UTF-8" in result.errors[0].message_fr


def test_french_words_and_our_names():
    text = "tracking_number,event,date\n" + "\n".join(
        f"RA473124829FR,{word},2026-03-0{i}"
        for i, word in enumerate(
            ["Déposé", "avisé", "Distribué", "non réclamé", "NPAI", "retourné", "first_presented"],
            1,
        )
    )
    assert [r.event_type for r in parse_tracking_csv(text).rows] == [
        "deposited",
        "first_presented",
        "delivered",
        "unclaimed",
        "addressee_unknown",
        "returned",
        "first_presented",
    ]


def test_iso_datetime_without_offset_is_paris_time():
    result = parse_tracking_csv("tracking_number,event,date\nRA473124829FR,DI1,2026-07-06T23:30\n")
    assert result.rows[0].at == datetime(2026, 7, 6, 21, 30, tzinfo=UTC)


def test_code_without_legal_meaning_is_reported():
    result = parse_tracking_csv("tracking_number,event,date\nRA473124829FR,MD2,2026-03-05\n")
    assert result.rows == []
    assert result.errors == [
        CsvError(
            2, "event", "le code La Poste MD2 (mis en distribution) ne change pas le statut du pli"
        )
    ]


def test_every_problem_of_a_line_is_reported():
    result = parse_tracking_csv("tracking_number,event,date\nXX,foo,bar\n")
    assert [e.column for e in result.errors] == ["tracking_number", "event", "date"]


def test_plain_french_messages_per_tracking_rule():
    text = "tracking_number,event,date\n" + "\n".join(
        f"{n},DI1,2026-03-05" for n in ["RA47312482FR", "1A0123", "RA473124829QQ", "", "###"]
    )
    messages = [e.message_fr for e in parse_tracking_csv(text).errors]
    assert messages[0].startswith("numéro de suivi invalide : attendu 2 lettres")
    assert messages[1].startswith("numéro de suivi invalide : attendu 1 chiffre")
    assert messages[2] == "numéro de suivi invalide : code pays inconnu"
    assert messages[3] == "numéro de suivi manquant"
    assert messages[4] == "numéro de suivi invalide : format non reconnu"


def test_incomplete_line():
    result = parse_tracking_csv("tracking_number,event,date\nRA473124829FR,DI1\n")
    assert result.errors == [CsvError(2, None, "ligne incomplète : 2 colonne(s) au lieu de 3")]


@pytest.mark.parametrize("header", ["Numéro de suivi;Événement;Date", "numero;evenement;quand",
                                    "N° de suivi;ÉTAT;Date de l'événement"])
def test_french_column_names_from_a_clerks_spreadsheet(header):
    result = parse_tracking_csv(f"{header}\nRA473124829FR;distribué;05/03/2026 10:12\n")
    assert result.errors == []
    assert result.rows == [
        CsvRow(2, "RA473124829FR", "delivered", datetime(2026, 3, 5, 10, 12, tzinfo=PARIS))
    ]


def test_missing_column():
    result = parse_tracking_csv("tracking_number,date\nRA473124829FR,2026-03-05\n")
    assert result.rows == [] and result.errors == [
        CsvError(1, "event", "colonne manquante : event")
    ]


def test_empty_file():
    result = parse_tracking_csv("")
    assert result.rows == [] and result.errors[0].line == 1


def test_future_dates_refused_when_now_is_given():
    text = (
        "tracking_number,event,date\nRA473124829FR,DI1,2026-03-05\nRA473124829FR,DI1,2027-01-01\n"
    )
    result = parse_tracking_csv(text, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert [r.line for r in result.rows] == [2]
    assert result.errors[0].line == 3 and "futur" in result.errors[0].message_fr


def test_line_numbers_follow_the_file_with_quoted_newlines():
    text = (
        "tracking_number,event,comment,date\n"
        'RA473124829FR,DI1,"two\nlines",2026-03-05\n'
        "bad,DI1,x,2026-03-05\n"
    )
    result = parse_tracking_csv(text)
    assert result.rows[0].line == 2 and result.errors[0].line == 4


def test_unicode_digits_are_refused_in_numbers_and_dates():
    text = ("tracking_number,event,date\n"
            "RA٤٧٣١٢٤٨٢٩FR,delivered,2026-03-05\n"
            "RA473124829FR,delivered,٠٥/٠٣/٢٠٢٦\n"
            "RA473124829FR,delivered,٢٠٢٦-٠٣-٠٥\n"
            "RA473124829FR,delivered,2026-03-05T10:12:00+٠١:00\n")
    result = parse_tracking_csv(text)
    assert result.rows == []
    assert [(e.line, e.column) for e in result.errors] == [
        (2, "tracking_number"), (3, "date"), (4, "date"), (5, "date")]


def test_a_control_character_refuses_its_line_only():
    text = ("tracking_number;event;date;note\n"
            "RA473124829FR;DI1\x00;2026-03-05;\n"
            "RR123456785FR;DI1;2026-03-05;a\x1bb\n"
            "RA473124829FR;AG1;2026-03-04;tab\tok\n")
    result = parse_tracking_csv(text)
    assert [(e.line, e.column) for e in result.errors] == [(2, "event"), (3, None)]
    assert all(e.message_fr.startswith("caractère de contrôle interdit") for e in result.errors)
    assert [r.line for r in result.rows] == [4]
    lone = parse_tracking_csv("tracking_number;event;date\nRA473124829FR;DI1;2026-03-05\ud800\n")
    assert [(e.line, e.column) for e in lone.errors] == [(2, "date")] and lone.rows == []


@pytest.mark.parametrize("header", ["Tracking-Number;EVENT;Date", "tracking number;event;date"])
def test_our_column_names_compare_like_the_aliases(header):
    result = parse_tracking_csv(f"{header}\nRA473124829FR;DI1;2026-03-05\n")
    assert result.errors == [] and [r.tracking_number for r in result.rows] == ["RA473124829FR"]
