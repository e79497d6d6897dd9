"""Outbound webhooks and the replayable event feed."""
from .service import (EVENT_TYPES, RETRY_SCHEDULE, create_subscription, delete_subscription, emit, emitting_at_end,
                      list_events, list_subscriptions, signature_header)

__all__ = ["EVENT_TYPES", "RETRY_SCHEDULE", "create_subscription", "delete_subscription", "emit", "emitting_at_end",
           "list_events", "list_subscriptions", "signature_header"]
