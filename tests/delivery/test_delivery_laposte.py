import json
from datetime import UTC, date, datetime, timedelta

import pytest

from delivery import (
    EVENT_TYPES,
    LAPOSTE_CODES,
    LaPosteSuiviProvider,
    MailingEvent,
    PaperLrarProvider,
    ProviderError,
    ProviderEvent,
    RegisteredMailProvider,
    WebhookPayloadError,
    derive_status,
    map_laposte_code,
)


class TestCodes:
    @pytest.mark.parametrize(
        "code, expected",
        [
            ("PC1", "deposited"),
            ("PC2", "deposited"),
            ("AG1", "first_presented"),
            ("DI0", "delivered"),
            ("DI1", "delivered"),
            ("DI2", "returned"),  # delivered back to the sender, not to the debtor
            ("RE1", "returned"),
            ("ND1", "addressee_unknown"),
            ("MD2", None),
            ("EP1", None),
            ("ET1", None),
            ("DR1", None),
            ("DI3", None),
            ("DO3", None),
            ("PB1", None),
        ],
    )
    def test_mapping(self, code, expected):
        assert map_laposte_code(code) == expected

    def test_unknown_code(self):
        assert map_laposte_code("ZZ9") is None

    def test_case_and_spaces(self):
        assert map_laposte_code(" di1 ") == "delivered"

    def test_every_code_maps_to_an_event_type_or_nothing(self):
        assert all(target in (None, *EVENT_TYPES) for target, _ in LAPOSTE_CODES.values())


def suivi(events, id_ship="RA473124829FR"):
    return json.dumps(
        {"returnCode": 200, "shipment": {"idShip": id_ship, "holder": 1, "event": events}}
    ).encode()


class TestLaPosteSuivi:
    provider = LaPosteSuiviProvider()

    def test_is_a_provider(self):
        assert isinstance(self.provider, RegisteredMailProvider)
        assert self.provider.name == "laposte"

    def test_parses_and_maps_keeping_only_meaningful_scans(self):
        body = suivi(
            [
                {
                    "code": "DI1",
                    "date": "2026-03-05T10:12:00+01:00",
                    "label": "Votre courrier a été distribué",
                },
                {
                    "code": "MD2",
                    "date": "2026-03-05T07:40:00+01:00",
                    "label": "Mis en distribution",
                },
                {"code": "PC1", "date": "2026-03-03T17:02:00+01:00", "label": "Pris en charge"},
            ],
            id_ship="ra 4731 2482 9 fr",
        )
        events = self.provider.parse_webhook(body)
        assert [(e.event_type, e.raw_code) for e in events] == [
            ("delivered", "DI1"),
            ("deposited", "PC1"),
        ]
        first = events[0]
        assert first.tracking_number == "RA473124829FR"
        assert first.at == datetime(2026, 3, 5, 9, 12, tzinfo=UTC)
        assert first.at.utcoffset() == timedelta(hours=1)

    def test_ids_are_stable_so_a_resent_webhook_deduplicates(self):
        body = suivi([{"code": "AG1", "date": "2026-03-04T11:00:00+01:00", "label": "Avisé"}])
        first, again = self.provider.parse_webhook(body), self.provider.parse_webhook(body)
        assert first == again and first[0].provider_event_id

    def test_return_with_a_refusal_label_says_refused(self):
        events = self.provider.parse_webhook(
            suivi(
                [
                    {
                        "code": "RE1",
                        "date": "2026-03-06T09:00:00+01:00",
                        "label": "Pli refusé par le destinataire, retourné à l'expéditeur",
                    },
                ]
            )
        )
        assert sorted(e.event_type for e in events) == ["refused", "returned"]
        assert len({e.provider_event_id for e in events}) == 2

    def test_undeliverable_with_a_label(self):
        events = self.provider.parse_webhook(
            suivi(
                [
                    {
                        "code": "ND1",
                        "date": "2026-03-04T09:00:00+01:00",
                        "label": "Destinataire inconnu à l'adresse",
                    },
                ]
            )
        )
        assert [e.event_type for e in events] == ["addressee_unknown"]

    def test_end_to_end_unclaimed_letter(self):
        events = self.provider.parse_webhook(
            suivi(
                [
                    {"code": "PC1", "date": "2026-03-02T16:00:00+01:00", "label": "Pris en charge"},
                    {
                        "code": "AG1",
                        "date": "2026-03-03T11:00:00+01:00",
                        "label": "En attente d'être retiré au guichet",
                    },
                    {
                        "code": "RE1",
                        "date": "2026-03-19T08:00:00+01:00",
                        "label": "Retourné à l'expéditeur",
                    },
                    {
                        "code": "DI2",
                        "date": "2026-03-21T10:00:00+01:00",
                        "label": "Distribué à l'expéditeur",
                    },
                ]
            )
        )
        state = derive_status(
            MailingEvent(e.event_type, e.at, e.provider_event_id, "laposte") for e in events
        )
        assert (state.status, state.returned_reason, state.effective_date) == (
            "unclaimed",
            "unclaimed",
            date(2026, 3, 3),
        )
        assert state.delivered_at is None

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[]",
            json.dumps({"returnCode": 404, "returnMessage": "Not found"}).encode(),
            json.dumps({"shipment": {"event": []}}).encode(),
            suivi([{"code": "DI1"}]),
            suivi([{"code": "DI1", "date": "yesterday"}]),
            suivi([{"code": "DI1", "date": "2026-03-05T10:12:00"}]),  # no offset
            suivi([], id_ship="RA473124828FR"),
            suivi(["DI1"]),
            json.dumps({"shipment": "RA473124829FR"}).encode(),
        ],
    )
    def test_unreadable_payloads(self, body):
        with pytest.raises(WebhookPayloadError):
            self.provider.parse_webhook(body)

    def test_empty_event_list(self):
        assert self.provider.parse_webhook(suivi([])) == []

    def test_a_body_parsed_by_the_caller_gives_the_same_events(self):
        body = suivi([{"code": "AG1", "date": "2026-03-04T11:00:00+01:00", "label": "Avisé"}])
        assert self.provider.parse_document(json.loads(body)) == self.provider.parse_webhook(body)
        with pytest.raises(WebhookPayloadError):
            self.provider.parse_document([])


class TestPaper:
    def test_has_no_webhook(self):
        provider = PaperLrarProvider()
        assert isinstance(provider, RegisteredMailProvider) and provider.name == "paper"
        with pytest.raises(ProviderError):
            provider.parse_webhook(b"{}")
        with pytest.raises(ProviderError):
            provider.parse_document({})


def test_provider_event_fields():
    at = datetime(2026, 3, 5, tzinfo=UTC)
    event = ProviderEvent("RA473124829FR", "delivered", at, "id", "DI1")
    assert (
        event.tracking_number,
        event.event_type,
        event.at,
        event.provider_event_id,
        event.raw_code,
    ) == (
        "RA473124829FR",
        "delivered",
        at,
        "id",
        "DI1",
    )
