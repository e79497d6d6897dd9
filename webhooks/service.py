"""Outbound webhooks: tell calling software what happened, provably and at least once.

Every notable change becomes an outbound event with a stable id (kept for replay through
`GET /v1/events?since=`). Each subscription matching the event type gets one delivery job,
retried with growing delays for three days. Deliveries are signed: the header
`Recouvre-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>` uses the
subscription's secret, shown once at creation.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import groupby
from typing import Annotated, Any, Literal

import requests
from sqlalchemy import Connection, insert, select, update

from pydantic import BaseModel, ConfigDict, Field

from casefiles.errors import InvalidInput, NotFound
from casefiles.model import parse_model
from delivery import sign_webhook
from jobs import JobContext, TransientError, enqueue, handler
from persistence.tables import outbound_events, tenants, webhook_deliveries, webhook_subscriptions

__all__ = ["SubscriptionIn", "EVENT_TYPES", "RETRY_SCHEDULE", "create_subscription", "list_subscriptions", "delete_subscription",
           "emit", "emitting_at_end", "list_events", "signature_header"]

EVENT_TYPES = ("document.ready", "document.failed", "mailing.updated", "deadline.reached")
# Delays before attempts 2…10: 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h, 24 h, 24 h (≈ 2.9 days).
RETRY_SCHEDULE = (60.0, 300.0, 900.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0, 24 * 3600.0, 24 * 3600.0)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+\S*$", max_length=2000)]
    events: Annotated[list[Literal["document.ready", "document.failed", "mailing.updated", "deadline.reached"]],
                      Field(min_length=1)]


def create_subscription(conn: Connection, tenant_id: str, data: Any) -> dict[str, Any]:
    sub_in, errors = parse_model(SubscriptionIn, data)
    if errors:
        raise InvalidInput(errors)
    sub = {"id": str(uuid.uuid4()), "tenant_id": tenant_id, "url": sub_in.url, "events": sorted(set(sub_in.events)),
           "secret": "whsec_" + secrets.token_urlsafe(32), "active": True, "created_at": _now()}
    conn.execute(insert(webhook_subscriptions).values(**sub))
    return {**_sub_out(sub), "secret": sub["secret"]}


def _sub_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "url": row["url"], "events": list(row["events"]), "active": row["active"],
            "created_at": row["created_at"].isoformat()}


def list_subscriptions(conn: Connection, tenant_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(webhook_subscriptions).where(webhook_subscriptions.c.tenant_id == tenant_id,
                                                            webhook_subscriptions.c.active.is_(True))
                        .order_by(webhook_subscriptions.c.created_at)).mappings().all()
    return [_sub_out(r) for r in rows]


def delete_subscription(conn: Connection, tenant_id: str, sub_id: str) -> None:
    done = conn.execute(update(webhook_subscriptions).where(
        webhook_subscriptions.c.id == sub_id, webhook_subscriptions.c.tenant_id == tenant_id,
        webhook_subscriptions.c.active.is_(True)).values(active=False))
    if done.rowcount != 1:
        raise NotFound(f"no webhook subscription {sub_id}")


_EVENT_NAMESPACE = uuid.UUID("6f1c3f0e-5d0b-4c57-9a55-0d6b8f6b2a11")


_DEFERRED = "recouvre.webhooks.deferred"


def emit(conn: Connection, tenant_id: str, type_: str, data: Mapping[str, Any], *,
         once_key: str | None = None) -> tuple[str, list[str]]:
    """Records an event and queues its deliveries in the caller's transaction.

    Answers (event id, delivery job ids). With `once_key` the event id is derived from it
    (UUIDv5), which makes emission idempotent: the same key again does nothing. Inside
    `emitting_at_end` the event is only queued (no job ids yet) and written when the block ends.

    Replay (`GET /v1/events?since=`) must never skip an event, yet `seq` is an autoincrement
    taken at INSERT while transactions commit in any order: A takes 10, B takes 11 and commits,
    a reader pages up to 11, A commits, 10 is never returned. So emission is serialised per
    tenant: the tenant row is locked (SELECT … FOR NO KEY UPDATE) before the seq is taken and
    held until commit, so the next emitter of that tenant takes its seq after this one is
    visible, and a tenant's seqs become visible in increasing order. (Another tenant's
    events may interleave; replay filters by tenant.) NO KEY UPDATE, not UPDATE: the foreign
    keys of rows other transactions insert for the tenant take KEY SHARE locks on it, which
    must not wait for an emitter.

    Lock order: the tenant lock is always the last one a transaction takes (after its
    mailing, document and case rows). Emitting at the end of a single-case change gives that;
    a transaction that touches several cases and emits on the way (CSV imports, provider
    webhooks, the deadline sweep) wraps the loop in `emitting_at_end`, so that it does not hold
    a tenant lock while waiting for another case row whose holder waits for that tenant lock.
    SQLite serialises write transactions anyway; the lock is a no-op there.
    """
    assert type_ in EVENT_TYPES, type_
    eid = str(uuid.uuid5(_EVENT_NAMESPACE, f"{tenant_id}:{once_key}")) if once_key else str(uuid.uuid4())
    deferred = conn.info.get(_DEFERRED)
    if deferred is not None:
        deferred.append((tenant_id, type_, dict(data), eid))
        return eid, []
    _lock_tenant_feed(conn, tenant_id)
    return _insert_event(conn, tenant_id, type_, data, eid)


@contextmanager
def emitting_at_end(conn: Connection) -> Iterator[None]:
    """Within the block, `emit` only queues; the events are written when it ends, each tenant
    locked once, in tenant-id order (see `emit` for why). Nested blocks join the outer one."""
    if _DEFERRED in conn.info:
        yield
        return
    # conn.info lives with the pooled DBAPI connection: never leave the marker behind.
    conn.info[_DEFERRED] = pending = []
    try:
        yield
    finally:
        conn.info.pop(_DEFERRED, None)
    # A stable sort: each tenant's events keep the order they were emitted in.
    for tenant_id, events in groupby(sorted(pending, key=lambda p: p[0]), key=lambda p: p[0]):
        _lock_tenant_feed(conn, tenant_id)
        for _, type_, data, eid in events:
            _insert_event(conn, tenant_id, type_, data, eid)


def _lock_tenant_feed(conn: Connection, tenant_id: str) -> None:
    conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update(key_share=True))


def _insert_event(conn: Connection, tenant_id: str, type_: str, data: Mapping[str, Any],
                  eid: str) -> tuple[str, list[str]]:
    """Writes one event and its deliveries; the caller holds the tenant's feed lock."""
    if conn.execute(select(outbound_events.c.id).where(outbound_events.c.id == eid)).first():
        return eid, []
    moment = _now()
    conn.execute(insert(outbound_events).values(id=eid, tenant_id=tenant_id, type=type_, payload=dict(data),
                                                created_at=moment))
    subs = conn.execute(select(webhook_subscriptions).where(
        webhook_subscriptions.c.tenant_id == tenant_id, webhook_subscriptions.c.active.is_(True))).mappings().all()
    job_ids = []
    for sub in subs:
        if type_ not in sub["events"]:
            continue
        did = str(uuid.uuid4())
        conn.execute(insert(webhook_deliveries).values(
            id=did, event_id=eid, subscription_id=sub["id"], status="pending", attempts=0,
            created_at=moment, updated_at=moment))
        job_ids.append(enqueue(conn, "webhook.deliver", {"delivery_id": did}, tenant_id=tenant_id,
                               max_attempts=MAX_ATTEMPTS))
    return eid, job_ids


def _event_out(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "seq": row["seq"], "type": row["type"], "created_at": row["created_at"].isoformat(),
            "data": row["payload"]}


def list_events(conn: Connection, tenant_id: str, *, since: int = 0, limit: int = 100) -> dict[str, Any]:
    rows = conn.execute(select(outbound_events).where(outbound_events.c.tenant_id == tenant_id,
                                                      outbound_events.c.seq > since)
                        .order_by(outbound_events.c.seq).limit(limit)).mappings().all()
    items = [_event_out(r) for r in rows]
    return {"items": items, "next_since": items[-1]["seq"] if items else since}


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={sign_webhook(secret.encode(), t, body)}"


def _mark_failed(ctx: JobContext, details: dict) -> None:
    with ctx.container.db.write() as conn:
        conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == ctx.payload["delivery_id"])
                     .values(status="failed", last_error=details.get("message", "")[:2000], updated_at=_now()))


@handler("webhook.deliver", lease_seconds=60, schedule=RETRY_SCHEDULE, on_failure=_mark_failed)
def deliver(ctx: JobContext) -> dict[str, Any]:
    db = ctx.container.db
    with db.read() as conn:
        d = conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.id == ctx.payload["delivery_id"])) \
            .mappings().one()
        if d["status"] == "delivered":
            return {"status": "delivered"}
        sub = conn.execute(select(webhook_subscriptions).where(webhook_subscriptions.c.id == d["subscription_id"])) \
            .mappings().one()
        ev = conn.execute(select(outbound_events).where(outbound_events.c.id == d["event_id"])).mappings().one()
    if not sub["active"]:
        return {"status": "skipped", "reason": "subscription deleted"}
    body = json.dumps(_event_out(ev), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Recouvre-Webhooks/1",
               "Recouvre-Event-Id": ev["id"], "Recouvre-Event-Type": ev["type"],
               "Recouvre-Signature": signature_header(sub["secret"], body)}
    status, error = None, None
    try:
        resp = requests.post(sub["url"], data=body, headers=headers, timeout=10, allow_redirects=False)
        status = resp.status_code
        if not 200 <= status < 300:
            error = f"receiver answered {status}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    with db.write() as conn:
        conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == d["id"]).values(
            status="delivered" if error is None else "pending", attempts=webhook_deliveries.c.attempts + 1,
            last_status=status, last_error=error, updated_at=_now(),
            next_attempt_at=None if error is None else _now() + dt.timedelta(seconds=RETRY_SCHEDULE[
                min(ctx.job.attempts, len(RETRY_SCHEDULE)) - 1])))
    if error:
        raise TransientError(error)
    return {"status": "delivered", "http_status": status}
