import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from delivery import WebhookSignatureError, sign_webhook, verify_webhook

SECRET = b"whsec-test"
BODY = b'{"shipment": {"idShip": "RA473124829FR"}}'
TS = "1772701920"  # 2026-03-05T09:12:00Z
NOW = datetime(2026, 3, 5, 9, 12, 30, tzinfo=UTC)


def test_signature_is_documented_hmac_of_timestamp_dot_body():
    expected = hmac.new(SECRET, f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign_webhook(SECRET, TS, BODY) == expected
    assert sign_webhook(SECRET, int(TS), BODY) == expected


def test_good_signature_passes():
    verify_webhook(SECRET, TS, BODY, sign_webhook(SECRET, TS, BODY), now=NOW)


@pytest.mark.parametrize("transform", [str.upper, lambda s: "sha256=" + s, lambda s: f" {s}\n"])
def test_tolerated_spellings(transform):
    verify_webhook(SECRET, TS, BODY, transform(sign_webhook(SECRET, TS, BODY)), now=NOW)


@pytest.mark.parametrize(
    "secret, timestamp, body",
    [(b"other", TS, BODY), (SECRET, TS, BODY + b" "), (SECRET, str(int(TS) + 1), BODY)],
)
def test_anything_changed_is_a_mismatch(secret, timestamp, body):
    signature = sign_webhook(secret, timestamp, body)
    with pytest.raises(WebhookSignatureError) as err:
        verify_webhook(SECRET, TS, BODY, signature, now=NOW)
    assert err.value.reason == "signature_mismatch"


def test_garbage_signature():
    with pytest.raises(WebhookSignatureError) as err:
        verify_webhook(SECRET, TS, BODY, "zz-not-hex-é", now=NOW)
    assert err.value.reason == "signature_mismatch"


def test_missing_signature():
    with pytest.raises(WebhookSignatureError) as err:
        verify_webhook(SECRET, TS, BODY, "", now=NOW)
    assert err.value.reason == "missing_signature"


@pytest.mark.parametrize("timestamp", ["", "abc", "1772701920.5", "-1772701920", "١٧٧٢٧٠١٩٢٠"])
def test_malformed_timestamp(timestamp):
    with pytest.raises(WebhookSignatureError) as err:
        verify_webhook(SECRET, timestamp, BODY, sign_webhook(SECRET, timestamp, BODY), now=NOW)
    assert err.value.reason == "malformed_timestamp"


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1), timedelta(days=2)]
)
def test_expired_or_from_the_future(offset):
    sent = datetime.fromtimestamp(int(TS), tz=UTC)
    with pytest.raises(WebhookSignatureError) as err:
        verify_webhook(SECRET, TS, BODY, sign_webhook(SECRET, TS, BODY), now=sent + offset)
    assert err.value.reason == "timestamp_outside_tolerance"


def test_exactly_at_the_tolerance_passes():
    sent = datetime.fromtimestamp(int(TS), tz=UTC)
    verify_webhook(
        SECRET, TS, BODY, sign_webhook(SECRET, TS, BODY), now=sent + timedelta(minutes=5)
    )


def test_custom_tolerance():
    late = NOW + timedelta(minutes=20)
    verify_webhook(
        SECRET, TS, BODY, sign_webhook(SECRET, TS, BODY), now=late, tolerance=timedelta(hours=1)
    )


def test_forged_request_is_rejected_before_the_clock_is_read():
    with pytest.raises(WebhookSignatureError) as err:
        verify_webhook(SECRET, TS, BODY, "00" * 32, now=NOW + timedelta(days=1))
    assert err.value.reason == "signature_mismatch"


def test_naive_now_is_a_programming_error():
    with pytest.raises(ValueError):
        verify_webhook(
            SECRET, TS, BODY, sign_webhook(SECRET, TS, BODY), now=datetime(2026, 3, 5, 9, 12)
        )
