"""Database tables (SQLAlchemy Core). Alembic migrations in `persistence/migrations` create them.

A case file is stored as one JSON document (the aggregate collection software sends and reads
back) plus the columns we filter and lock on. Times are UTC; ledger times are text so the hash
input round-trips byte for byte on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData,
    String, Table, Text, TypeDecorator, UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["metadata", "tenants", "api_keys", "cases", "ledger_events", "idempotency_keys", "evidence", "jobs",
           "job_effects", "documents", "mailings", "mailing_events", "inbound_hook_events", "webhook_subscriptions",
           "outbound_events", "webhook_deliveries", "users", "ledger_timestamps",
           "UTCDateTime", "Json"]

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True):
        super().__init__(timezone=timezone)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


tenants = Table(
    "tenants", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("label", String(120)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

cases = Table(
    "cases", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("debtor_name", String(200), nullable=False),
    Column("data", Json, nullable=False),
    Column("version", Integer, nullable=False),
    Column("ledger_length", Integer, nullable=False),
    Column("ledger_head", String(64), nullable=False),
    Column("address_invalid", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "reference"),
    Index("ix_cases_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_cases_tenant_status", "tenant_id", "status"),
)

ledger_events = Table(
    "ledger_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(48), nullable=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("payload", Json, nullable=False),
    Column("payload_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("case_id", "seq"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    Column("response_headers", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

evidence = Table(
    "evidence", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("title", String(200), nullable=False),
    Column("filename", String(255)),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("archive_key", String(512), nullable=False),
    Column("version_id", String(255)),
    Column("document_date", Date),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- jobs, documents, registered mail, webhooks, users, ledger timestamps -------------------

jobs = Table(
    "jobs", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=True),
    Column("case_id", String(36), nullable=True),
    Column("kind", String(48), nullable=False),
    Column("status", String(16), nullable=False),          # queued | running | done | failed
    Column("payload", Json, nullable=False),
    Column("result", Json),
    Column("checkpoints", Json, nullable=False),           # step name -> output; lets a retried job resume
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("run_after", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index("ix_jobs_status_run_after", "status", "run_after"),
)

job_effects = Table(
    "job_effects", metadata,
    Column("marker", String(120), primary_key=True),
    Column("job_id", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

documents = Table(
    "documents", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(48), nullable=False),
    Column("status", String(16), nullable=False),          # pending | ready | failed
    Column("params", Json, nullable=False),
    Column("job_id", String(36)),
    Column("sha256", String(64)),
    Column("pdf_key", String(512)),
    Column("pdf_version", String(255)),
    Column("docx_key", String(512)),
    Column("docx_sha256", String(64)),
    Column("docx_version", String(255)),
    Column("zip_key", String(512)),
    Column("zip_sha256", String(64)),
    Column("zip_version", String(255)),
    Column("signature", Json),
    Column("warnings", Json, nullable=False),
    Column("error", Json),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

mailings = Table(
    "mailings", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("document_id", String(36), ForeignKey("documents.id"), nullable=False),
    Column("service", String(8), nullable=False),           # lrar | lre
    Column("level", String(4), nullable=False),             # R1 | R2 | R3
    Column("provider", String(32), nullable=False),
    Column("tracking_number", String(32)),
    Column("status", String(24), nullable=False),
    Column("payment_days", Integer, nullable=False),
    Column("effective_date", Date),
    Column("deadline", Date),
    Column("deposited_at", UTCDateTime),
    Column("annexes", Json),                                # evidence ids printed after the letter
    Column("packet_key", String(512)),
    Column("packet_sha256", String(64)),
    Column("packet_version", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_mailings_tenant_status", "tenant_id", "status", "created_at"),
    Index("ix_mailings_tracking", "tracking_number"),
)

mailing_events = Table(
    "mailing_events", metadata,
    Column("id", String(36), primary_key=True),
    Column("mailing_id", String(36), ForeignKey("mailings.id"), nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("type", String(24), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("source", String(32), nullable=False),
    Column("raw", Json),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("mailing_id", "dedupe_key"),
)

inbound_hook_events = Table(
    "inbound_hook_events", metadata,
    Column("provider", String(32), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

webhook_subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("events", Json, nullable=False),
    Column("secret", String(128), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

outbound_events = Table(
    "outbound_events", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("type", String(48), nullable=False),
    Column("payload", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_outbound_events_tenant_seq", "tenant_id", "seq"),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("subscription_id", String(36), ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("status", String(16), nullable=False),           # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("event_id", "subscription_id"),
)

users = Table(
    "users", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant_id", String(36), ForeignKey("tenants.id"), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(120)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False),
)

web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True),             # SHA-256 of the token the cookie carries
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),      # absolute lifetime
    Column("revoked_at", UTCDateTime),
)

ledger_timestamps = Table(
    "ledger_timestamps", metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("token", LargeBinary, nullable=False),
    Column("tsa_url", String(500), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("case_id", "seq"),       # one token per ledger head, even with several sweepers
)
