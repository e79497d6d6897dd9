"""Adapters that turn a registered-mail provider's notifications into our events."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ._laposte import map_laposte_code
from ._tracking import TrackingNumberError, parse_tracking_number

__all__ = [
    "LaPosteSuiviProvider",
    "PaperLrarProvider",
    "ProviderError",
    "ProviderEvent",
    "RegisteredMailProvider",
    "WebhookPayloadError",
]


class ProviderError(Exception):
    """The provider cannot do what was asked."""


class WebhookPayloadError(ProviderError):
    """An authenticated webhook whose body we cannot read."""


@dataclass(frozen=True)
class ProviderEvent:
    tracking_number: str
    event_type: str
    at: datetime
    provider_event_id: str | None
    raw_code: str | None


@runtime_checkable
class RegisteredMailProvider(Protocol):
    name: str

    def parse_webhook(self, body: bytes) -> list[ProviderEvent]: ...

    def parse_document(self, document: Any) -> list[ProviderEvent]:
        """The same, from the body already parsed as JSON (and screened) by the caller."""
        ...


class PaperLrarProvider:
    """Letters printed in-house and posted at the counter; clerks import the events."""

    name = "paper"

    def parse_webhook(self, body: bytes) -> list[ProviderEvent]:
        return self.parse_document(None)

    def parse_document(self, document: Any) -> list[ProviderEvent]:
        raise ProviderError("paper letters have no webhook: import tracking events by CSV")


# Words in a Suivi label that say why a letter came back. The API's reason codes are
# not documented, so the label is the only hint.
_RETURN_REASONS = (
    ("refus", "refused"),
    ("non reclam", "unclaimed"),
    ("non retir", "unclaimed"),
    ("habite pas", "addressee_unknown"),
    ("npai", "addressee_unknown"),
    ("destinataire inconnu", "addressee_unknown"),
    ("adresse inconnu", "addressee_unknown"),
    ("inconnu a l", "addressee_unknown"),
)


def _reason_from_label(label: str) -> str | None:
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", label.casefold()) if not unicodedata.combining(c)
    )
    return next((reason for word, reason in _RETURN_REASONS if word in folded), None)


class LaPosteSuiviProvider:
    """La Poste Suivi API v2 shipment documents (webhook pushes or polled responses).

    Codes that carry no legal meaning (in transit, out for delivery …) are dropped.
    A return (RE1) whose label states a reason also yields that reason's event, so
    a refused letter is not mistaken for an unclaimed one. Suivi events have no
    identifier: ours is built from number, code and date, so a re-sent webhook
    deduplicates.
    """

    name = "laposte"

    def parse_webhook(self, body: bytes) -> list[ProviderEvent]:
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise WebhookPayloadError(f"not a Suivi shipment document: {exc}") from None
        return self.parse_document(document)

    def parse_document(self, document: Any) -> list[ProviderEvent]:
        try:
            shipment = document["shipment"]
            raw_number = shipment["idShip"]
            scans = shipment.get("event") or []
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise WebhookPayloadError(f"not a Suivi shipment document: {exc}") from None
        if not isinstance(raw_number, str) or not isinstance(scans, list):
            raise WebhookPayloadError("not a Suivi shipment document")
        try:
            number = parse_tracking_number(raw_number).value
        except TrackingNumberError as exc:
            raise WebhookPayloadError(f"idShip {raw_number!r}: {exc}") from None

        events: list[ProviderEvent] = []
        for scan in scans:
            try:
                code = str(scan["code"]).strip().upper()
                when = str(scan["date"])
                at = datetime.fromisoformat(when)
                label = str(scan.get("label") or "")
            except (TypeError, KeyError, ValueError, AttributeError) as exc:
                raise WebhookPayloadError(f"unreadable Suivi event {scan!r}: {exc}") from None
            if at.tzinfo is None:
                raise WebhookPayloadError(f"Suivi event date without offset: {when!r}")
            event_type = map_laposte_code(code)
            if event_type is None:
                continue
            base_id = f"laposte:{number}:{code}:{when}"
            reason = _reason_from_label(label) if code in ("RE1", "ND1") else None
            if code == "RE1" and reason is not None:
                events.append(ProviderEvent(number, reason, at, f"{base_id}:reason", code))
            elif code == "ND1" and reason is not None:
                event_type = reason
            events.append(ProviderEvent(number, event_type, at, base_id, code))
        return events
