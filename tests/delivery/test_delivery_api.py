import inspect

import delivery


def test_public_surface_is_curated():
    assert set(delivery.__all__) == {
        "AddressBlock",
        "AddressFormatError",
        "Annex",
        "BatchItem",
        "CsvError",
        "CsvImport",
        "CsvRow",
        "EVENT_TYPES",
        "LAPOSTE_CODES",
        "LaPosteSuiviProvider",
        "MailingEvent",
        "MailingState",
        "PaperLrarProvider",
        "ProviderError",
        "ProviderEvent",
        "RECIPIENT_ORIGIN_MM",
        "RegisteredMailProvider",
        "TrackingNumber",
        "TrackingNumberError",
        "WINDOW_ALWAYS_VISIBLE_MM",
        "WebhookPayloadError",
        "WebhookSignatureError",
        "build_address_sheet",
        "build_packet",
        "build_print_batch",
        "dedupe_key",
        "derive_status",
        "format_address_block",
        "map_laposte_code",
        "parse_tracking_csv",
        "parse_tracking_number",
        "s10_check_digit",
        "sign_webhook",
        "validate_postal_address",
        "verify_webhook",
    }
    assert all(hasattr(delivery, name) for name in delivery.__all__)


def test_contract_signatures():
    sig = inspect.signature
    assert list(sig(delivery.verify_webhook).parameters) == [
        "secret",
        "timestamp",
        "body",
        "signature",
        "now",
        "tolerance",
    ]
    assert list(sig(delivery.format_address_block).parameters) == [
        "name",
        "lines",
        "postal_code",
        "city",
        "country",
        "complement",
    ]
    assert list(sig(delivery.build_address_sheet).parameters)[:6] == [
        "sender",
        "recipient",
        "tracking_number",
        "level",
        "service",
        "reference",
    ]
    assert list(delivery.Annex._fields) == ["data", "media_type"]
    assert list(delivery.BatchItem._fields) == [
        "mailing_id",
        "tracking_number",
        "recipient_name",
        "postal_code",
        "city",
        "level",
        "pdf_bytes",
    ]
