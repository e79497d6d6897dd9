"""HMAC signatures for provider webhooks, inbound and outbound.

Signature = lowercase hex HMAC-SHA256, keyed with the shared secret, over
``f"{timestamp}.".encode() + body`` where `timestamp` is the sender's clock in unix
seconds. Signing the timestamp with the body stops an old request from being
replayed with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

__all__ = ["WebhookSignatureError", "sign_webhook", "verify_webhook"]


class WebhookSignatureError(Exception):
    """The request must be rejected; `reason` is a stable code safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign_webhook(secret: bytes, timestamp: str | int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_webhook(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> None:
    """Raise `WebhookSignatureError` unless the body is authentic and fresh.

    The signature may carry a ``sha256=`` prefix. It is checked before the clock so
    an unauthenticated caller learns nothing about our time window.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    timestamp = timestamp.strip()
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookSignatureError("malformed_timestamp")
    signature = signature.strip().lower().removeprefix("sha256=")
    if not signature:
        raise WebhookSignatureError("missing_signature")
    expected = sign_webhook(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace")):
        raise WebhookSignatureError("signature_mismatch")
    try:
        sent = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookSignatureError("malformed_timestamp") from None
    if abs(now - sent) > tolerance:
        raise WebhookSignatureError("timestamp_outside_tolerance")
