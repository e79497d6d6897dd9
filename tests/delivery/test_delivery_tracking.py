import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery import TrackingNumber, TrackingNumberError, parse_tracking_number, s10_check_digit

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
serials = st.text(alphabet="0123456789", min_size=8, max_size=8)
indicators = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)
countries = st.sampled_from(["FR", "DE", "GB", "US", "BE", "CH", "IT", "ES", "MC", "CN"])


def residue(serial: str) -> int:
    return sum(int(d) * w for d, w in zip(serial, WEIGHTS)) % 11


class TestS10CheckDigit:
    @pytest.mark.parametrize(
        "serial, check",
        [("47312482", 9), ("12345678", 5), ("00000000", 5), ("99999999", 5)],
    )
    def test_reference_case_9(self, serial, check):
        assert s10_check_digit(serial) == check

    def test_worked_sum_of_the_reference(self):
        assert sum(int(d) * w for d, w in zip("47312482", WEIGHTS)) == 200

    def test_remainder_one_gives_zero(self):
        serial = next(f"{n:08d}" for n in range(1000) if residue(f"{n:08d}") == 1)
        assert s10_check_digit(serial) == 0

    def test_rejects_bad_serial(self):
        with pytest.raises(ValueError):
            s10_check_digit("1234567")


class TestParseS10:
    def test_reference_number(self):
        assert parse_tracking_number("RA473124829FR") == TrackingNumber(
            "RA473124829FR", "s10", "RA", "FR"
        )

    def test_derived_number(self):
        assert parse_tracking_number("RR123456785FR").kind == "s10"

    def test_spaces_and_case_are_normalised(self):
        assert parse_tracking_number(" ra 4731 2482 9 fr\t").value == "RA473124829FR"

    def test_wrong_check_digit(self):
        with pytest.raises(TrackingNumberError) as err:
            parse_tracking_number("RA473124828FR")
        assert err.value.rule == "s10.check_digit"
        assert "check digit" in err.value.message
        assert str(err.value).startswith("s10.check_digit")

    @pytest.mark.parametrize(
        "raw", ["RA47312482FR", "RA4731248299FR", "RA47312482XFR", "RA473124829F1"]
    )
    def test_bad_s10_shape(self, raw):
        with pytest.raises(TrackingNumberError) as err:
            parse_tracking_number(raw)
        assert err.value.rule == "s10.format"

    @pytest.mark.parametrize("country", ["QQ", "ZZ", "EU"])
    def test_unknown_country(self, country):
        with pytest.raises(TrackingNumberError) as err:
            parse_tracking_number(f"RA473124829{country}")
        assert err.value.rule == "s10.country"

    @given(indicators, serials, countries)
    def test_computed_check_digit_always_validates(self, indicator, serial, country):
        number = f"{indicator}{serial}{s10_check_digit(serial)}{country}"
        parsed = parse_tracking_number(number)
        assert (parsed.value, parsed.service_indicator, parsed.country) == (
            number,
            indicator,
            country,
        )

    @given(serials, st.integers(0, 8), st.integers(1, 9))
    def test_single_digit_change_fails_except_the_standards_blind_spot(
        self, serial, position, delta
    ):
        """Mod 11 sees every single-digit error in the sum, but S10 maps both
        remainders 0 and 6 to check digit 5: between those two the change is invisible
        (RA000000005FR and RA900000005FR are both valid). Every other change fails."""
        digits = serial + str(s10_check_digit(serial))
        changed = (
            digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1 :]
        )
        blind_spot = position < 8 and {residue(serial), residue(changed[:8])} == {0, 6}
        try:
            parse_tracking_number(f"RA{changed}FR")
        except TrackingNumberError as err:
            assert err.rule == "s10.check_digit" and not blind_spot
        else:
            assert blind_spot

    def test_the_blind_spot_exists(self):
        assert parse_tracking_number("RA000000005FR") and parse_tracking_number("RA900000005FR")


class TestParseLaPoste:
    def test_domestic_number(self):
        assert parse_tracking_number("1A01234567890") == TrackingNumber(
            "1A01234567890", "laposte", "1A", None
        )

    def test_normalised(self):
        assert parse_tracking_number("1a 0123 4567 890").value == "1A01234567890"

    def test_check_digit_is_not_verified(self):
        # Only the format is known: both the observed key (3) and any other pass.
        assert parse_tracking_number("1A04787720243").kind == "laposte"
        assert parse_tracking_number("1A04787720244").kind == "laposte"

    @pytest.mark.parametrize(
        "raw",
        ["1A0123456789", "1A012345678901", "11012345678901", "1AB1234567890", "2C0123456789X"],
    )
    def test_bad_shape(self, raw):
        with pytest.raises(TrackingNumberError) as err:
            parse_tracking_number(raw)
        assert err.value.rule == "laposte.format"


@pytest.mark.parametrize("raw", ["", "   ", "#RA473124829FR", "É473124829FR", "-1"])
def test_unrecognised(raw):
    with pytest.raises(TrackingNumberError) as err:
        parse_tracking_number(raw)
    assert err.value.rule == "format"


class TestAsciiOnly:
    """Unicode digits and letters that look or upper-case like ASCII are refused, not parsed."""

    @pytest.mark.parametrize(
        "raw",
        [
            "RA٤٧٣١٢٤٨٢٩FR",  # Arabic-Indic digits
            "RA۴۷۳۱۲۴۸۲۹FR",  # Extended Arabic-Indic digits
            "RA４７３１２４８２９FR",  # fullwidth digits
            "１A01234567890",  # La Poste number with a fullwidth first digit
            "1A0123456789٠",  # La Poste number ending with an Arabic-Indic zero
            "ſA473124829FR",  # long s: upper-cases to an ASCII S
        ],
    )
    def test_non_ascii_is_a_format_error(self, raw):
        with pytest.raises(TrackingNumberError) as err:
            parse_tracking_number(raw)
        assert err.value.rule == "format"

    def test_check_digit_serial_must_be_ascii(self):
        with pytest.raises(ValueError):
            s10_check_digit("٤٧٣١٢٤٨٢")

    def test_non_breaking_spaces_from_a_copy_are_still_ignored(self):
        assert parse_tracking_number("RA\u00a04731\u00a02482\u00a09\u00a0FR").value == "RA473124829FR"
