import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery import AddressBlock, AddressFormatError, format_address_block, validate_postal_address

POSTAL_LINE = re.compile(r"[A-Z0-9 ]+")


def test_reference_example():
    assert format_address_block(
        "Boulangerie Dupont & Fils SAS", ["3 place du Marché"], "67000", "Strasbourg"
    ) == ["Boulangerie Dupont & Fils SAS", "3 PLACE DU MARCHE", "67000 STRASBOURG"]


def test_address_block_formats_itself():
    block = AddressBlock("SARL Martin", ["3 place du Marché"], "67000", "Strasbourg")
    assert block.format()[-1] == "67000 STRASBOURG"


def test_name_and_lines_before_the_street_keep_their_spelling():
    assert format_address_block(
        "M.  Jean-Éric   Lœuvre",
        ["Résidence Les Pins, bât. B", "12 bis, rue Victor-Hugo"],
        "42 000",
        "Saint-Étienne",
        complement="Chez Mme Dupré",
    ) == [
        "M. Jean-Éric Lœuvre",
        "Chez Mme Dupré",
        "Résidence Les Pins, bât. B",
        "12 BIS RUE VICTOR HUGO",
        "42000 SAINT ETIENNE",
    ]


def test_lines_after_the_street_are_postal_form_too():
    lines = format_address_block(
        "Ferme Roux", ["Chemin des Vignes", "Lieu-dit « Les Granges »"], "26110", "Nyons"
    )
    assert lines[1:] == ["CHEMIN DES VIGNES", "LIEU DIT LES GRANGES", "26110 NYONS"]


def test_ligatures_and_apostrophes():
    assert (
        format_address_block("X", ["5 rue de l'Œuvre"], "75004", "Paris")[1] == "5 RUE DE L OEUVRE"
    )


def test_without_a_recognisable_street_every_line_is_postal_form():
    assert format_address_block("X", ["Le Bourg"], "23000", "Guéret")[1] == "LE BOURG"


def test_cedex():
    assert (
        format_address_block("Impots", ["BP 123"], "75008", "Paris Cedex 08")[-1]
        == "75008 PARIS CEDEX 08"
    )


class TestAbbreviation:
    def test_short_street_is_not_abbreviated(self):
        assert (
            format_address_block("X", ["12 avenue Foch"], "75016", "Paris")[1] == "12 AVENUE FOCH"
        )

    def test_long_street_gets_voie_type_then_titles(self):
        line = format_address_block(
            "X", ["12 bis, avenue du Maréchal de Lattre de Tassigny"], "75016", "Paris"
        )[1]
        assert line == "12 BIS AV DU MAL DE LATTRE DE TASSIGNY"
        assert len(line) == 38

    def test_only_the_voie_type_is_abbreviated(self):
        line = format_address_block(
            "X", ["145 boulevard de la Place des Grandes Fêtes"], "76000", "Rouen"
        )[1]
        assert line == "145 BD DE LA PLACE DES GRANDES FETES"

    def test_impossible_street_is_an_error(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block(
                "X", ["1 rue du Commandant Jean Baptiste Charcot Junior"], "29200", "Brest"
            )
        assert err.value.field == "lines[0]"


class TestLongNames:
    """NF Z10-011 allows the recipient on two lines when the block keeps 6 lines of 38."""

    def test_long_name_takes_two_lines_cut_at_a_space(self):
        name = "Société Anonyme de Boulangerie Industrielle du Bas-Rhin"
        lines = format_address_block(name, ["3 place du Marché"], "67000", "Strasbourg")
        assert lines == [
            "Société Anonyme de Boulangerie",
            "Industrielle du Bas-Rhin",
            "3 PLACE DU MARCHE",
            "67000 STRASBOURG",
        ]
        assert " ".join(lines[:2]) == name and all(len(line) <= 38 for line in lines)

    def test_sixty_one_characters(self):
        name = "Établissements Hubert Schwarzenberger et Associés Réunis SARL"
        assert len(name) == 61
        lines = format_address_block(name, ["12 rue des Tanneurs"], "68100", "Mulhouse")
        assert len(lines) == 4 and " ".join(lines[:2]) == name
        assert all(len(line) <= 38 for line in lines)

    def test_the_first_line_is_as_long_as_possible(self):
        name = "A" * 30 + " " + "B" * 7 + " " + "C" * 20
        assert format_address_block(name, ["1 rue X"], "75001", "Paris")[:2] == [
            "A" * 30 + " " + "B" * 7,
            "C" * 20,
        ]

    def test_two_name_lines_count_towards_six(self):
        name = "Société Anonyme de Boulangerie Industrielle"
        assert len(format_address_block(name, ["a", "b", "4 rue X"], "67000", "Strasbourg")) == 6
        problems = validate_postal_address(
            ["a", "b", "c", "4 rue X"], "67000", "Strasbourg", "FR", name=name
        )
        assert [field for field, _ in problems] == ["name"]

    def test_a_name_too_long_for_two_lines_is_an_error(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block(" ".join(["Boulangerie"] * 7), ["1 rue X"], "75001", "Paris")
        assert err.value.field == "name"


class TestErrors:
    def test_long_name_is_never_truncated(self):
        # 56 characters and a four-line address: no room for a second name line.
        name = "Société Anonyme de Boulangerie Industrielle du Bas-Rhin"
        with pytest.raises(AddressFormatError) as err:
            format_address_block(
                name, ["Bât. A", "Escalier 2", "3 place du Marché", "BP 12"], "67000", "Strasbourg"
            )
        assert err.value.field == "name"

    def test_a_name_with_no_space_to_cut_at_is_an_error(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block("Boulangerie" * 4, ["3 place du Marché"], "67000", "Strasbourg")
        assert err.value.field == "name"

    def test_too_many_lines(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block(
                "X",
                ["Bât. A", "Escalier 2", "4 rue Haute", "BP 12"],
                "67000",
                "Strasbourg",
                complement="Chez Y",
            )
        assert err.value.field == "lines"

    def test_bad_postcode(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block("X", ["3 rue Haute"], "6700", "Strasbourg")
        assert err.value.field == "postal_code"

    def test_unknown_country(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block("X", ["3 rue Haute"], "1000", "Bruxelles", "XX")
        assert err.value.field == "country"


class TestAbroad:
    def test_country_line_in_french_capitals(self):
        assert format_address_block("Hans Müller", ["Hauptstraße 5"], "10115", "Berlin", "de") == [
            "Hans Müller",
            "HAUPTSTRASSE 5",
            "10115 BERLIN",
            "ALLEMAGNE",
        ]

    def test_seven_lines_allowed_with_the_country(self):
        lines = format_address_block(
            "X",
            ["Flat 2", "Rose Court", "10 Downing Street"],
            "SW1A 2AA",
            "London",
            "GB",
            complement="c/o Y",
        )
        assert len(lines) == 7 and lines[-1] == "ROYAUME UNI"

    def test_overseas_departments_are_domestic(self):
        assert (
            format_address_block("X", ["3 rue de Paris"], "97400", "Saint-Denis", "RE")[-1]
            == "97400 SAINT DENIS"
        )


class TestValidate:
    def test_valid(self):
        assert validate_postal_address(["3 place du Marché"], "67000", "Strasbourg", "FR") == []

    def test_collects_every_problem(self):
        problems = validate_postal_address(["a" * 40, "b", "c", "d", "e"], "6700", "", "FR")
        assert [field for field, _ in problems] == ["lines[0]", "postal_code", "city", "lines"]
        assert all(isinstance(message, str) and message for _, message in problems)

    def test_four_lines_plus_name_and_city_is_the_maximum(self):
        assert (
            validate_postal_address(["a", "b", "c", "4 rue X"], "67000", "Strasbourg", "FR") == []
        )
        assert [
            f
            for f, _ in validate_postal_address(
                ["a", "b", "c", "d", "4 rue X"], "67000", "Strasbourg", "FR"
            )
        ] == ["lines"]

    def test_a_street_that_abbreviates_to_fit_is_valid(self):
        assert (
            validate_postal_address(
                ["12 bis, avenue du Maréchal de Lattre de Tassigny"], "75016", "Paris", "FR"
            )
            == []
        )

    def test_name_is_checked_when_given(self):
        assert (
            validate_postal_address(["3 rue X"], "67000", "Strasbourg", "FR", name="N" * 39)[0][0]
            == "name"
        )


words = st.text(alphabet="abcdéèçàœABCÉ -',.&0123456789", min_size=1, max_size=30)


@given(
    name=words,
    lines=st.lists(words, max_size=5),
    postal_code=st.text(alphabet="0123456789 ", min_size=4, max_size=7),
    city=words,
)
def test_any_accepted_address_respects_the_norm(name, lines, postal_code, city):
    try:
        out = format_address_block(
            name, ["12 " + lines[0]] + lines[1:] if lines else [], postal_code, city
        )
    except AddressFormatError:
        return
    assert len(out) <= 6
    assert all(len(line) <= 38 for line in out)
    # The first line is a street ("12 …"), so everything after the name is postal form.
    assert all(POSTAL_LINE.fullmatch(line) for line in out[1:])
    assert re.fullmatch(r"\d{5} [A-Z0-9 ]+", out[-1])


class TestAsciiDigits:
    def test_unicode_digits_are_not_a_french_postcode(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block("X", ["3 rue Haute"], "٦٧٠٠٠", "Strasbourg")
        assert err.value.field == "postal_code"

    def test_foreign_postcode_must_be_ascii(self):
        with pytest.raises(AddressFormatError) as err:
            format_address_block("X", ["Hauptstraße 5"], "١٠١١٥", "Berlin", "DE")
        assert err.value.field == "postal_code"
