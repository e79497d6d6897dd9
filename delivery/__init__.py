"""Registered mail (La Poste LRAR, LRE): tracking numbers, addresses, receipt status, packets.

Status model. A mailing is a pile of events from any source (La Poste webhooks,
clerks' CSV imports, manual entries), possibly late, out of order or repeated.
`derive_status` folds them, order-independently, into one state:

    created ── deposited ── presented ──┬── delivered
      (no events)  (PC1)     (AG1)      ├── refused
                                        ├── unclaimed  (avisé non réclamé)
                                        └── addressee_unknown  (NPAI; address_invalid)

A later ``returned`` event keeps the outcome as `returned_reason`; a return after a
presentation with no stated reason is read as unclaimed; a bare return is
``returned``. The legal date (`effective_date`) is the Paris date of the first
presentation, for delivered, refused and unclaimed letters alike (Cass. 1re civ.,
20 janv. 2021, n° 19-20.680 for "non réclamé"); without a known presentation, the
delivery (or refusal) date; an NPAI letter has none. `awaiting_receipt` is true
while the letter is deposited or presented but has no outcome yet.
"""

from ._address import (
    AddressBlock,
    AddressFormatError,
    format_address_block,
    validate_postal_address,
)
from ._csv_import import CsvError, CsvImport, CsvRow, parse_tracking_csv
from ._laposte import LAPOSTE_CODES, map_laposte_code
from ._packet import (
    RECIPIENT_ORIGIN_MM,
    WINDOW_ALWAYS_VISIBLE_MM,
    Annex,
    BatchItem,
    build_address_sheet,
    build_packet,
    build_print_batch,
)
from ._providers import (
    LaPosteSuiviProvider,
    PaperLrarProvider,
    ProviderError,
    ProviderEvent,
    RegisteredMailProvider,
    WebhookPayloadError,
)
from ._status import EVENT_TYPES, MailingEvent, MailingState, dedupe_key, derive_status
from ._tracking import TrackingNumber, TrackingNumberError, parse_tracking_number, s10_check_digit
from ._webhooks import WebhookSignatureError, sign_webhook, verify_webhook

__all__ = [
    "EVENT_TYPES",
    "LAPOSTE_CODES",
    "RECIPIENT_ORIGIN_MM",
    "WINDOW_ALWAYS_VISIBLE_MM",
    "AddressBlock",
    "AddressFormatError",
    "Annex",
    "BatchItem",
    "CsvError",
    "CsvImport",
    "CsvRow",
    "LaPosteSuiviProvider",
    "MailingEvent",
    "MailingState",
    "PaperLrarProvider",
    "ProviderError",
    "ProviderEvent",
    "RegisteredMailProvider",
    "TrackingNumber",
    "TrackingNumberError",
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
]
