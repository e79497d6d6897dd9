"""Webhook subscriptions and the event feed."""
from __future__ import annotations

from flask import Blueprint, Response
from pydantic import BaseModel, Field

import webhooks
from webhooks.service import SubscriptionIn

from ._http import int_arg, json_body, run_read, run_write
from .openapi import Param, operation

bp = Blueprint("webhooks", __name__)
MAX_SEQ = 2**63 - 1   # event sequence numbers are 64-bit database integers


class SubscriptionOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: str
    secret: str | None = Field(default=None, description="HMAC secret; shown once, at creation")


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class EventOut(BaseModel):
    id: str = Field(description="stable event id, also sent in the Recouvre-Event-Id header")
    seq: int
    type: str
    created_at: str
    data: dict


class EventList(BaseModel):
    items: list[EventOut]
    next_since: int


@bp.post("/webhooks")
@operation("Subscribe a URL to events", tags=("webhooks",), permission="webhooks:manage", body=SubscriptionIn,
           responses={201: SubscriptionOut},
           description="Deliveries are POSTed as JSON with `Recouvre-Signature: t=<unix>,v1=<hex HMAC-SHA256 over "
                       "'<t>.' + body>` and retried with growing delays for about three days.")
def create():
    body = json_body()
    return run_write(lambda conn, p: (201, webhooks.create_subscription(conn, p.tenant_id, body), {}),
                     "webhooks:manage")


@bp.get("/webhooks")
@operation("List webhook subscriptions", tags=("webhooks",), permission="webhooks:manage",
           responses={200: SubscriptionList})
def list_():
    return run_read(lambda conn, p: {"items": webhooks.list_subscriptions(conn, p.tenant_id)}, "webhooks:manage")


@bp.delete("/webhooks/<sub_id>")
@operation("Delete a webhook subscription", tags=("webhooks",), permission="webhooks:manage",
           responses={204: ("Deleted", None)}, errors=(404,))
def delete(sub_id: str):
    def effect(conn, p):
        webhooks.delete_subscription(conn, p.tenant_id, sub_id)
        return Response(status=204)
    return run_write(effect, "webhooks:manage")


@bp.get("/events")
@operation("Replay events after a sequence number", tags=("webhooks",), permission="cases:read",
           responses={200: EventList}, errors=(422,),
           description="A tenant's events become visible in `seq` order (emission is serialised per tenant), "
                       "so polling from the last `next_since` never skips one.",
           params=(Param("since", schema={"type": "integer", "minimum": 0, "maximum": MAX_SEQ, "default": 0},
                         description="the `seq` of the last event already processed"),
                   Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 500, "default": 100})))
def events():
    since = int_arg("since", 0, minimum=0, maximum=MAX_SEQ)
    limit = int_arg("limit", 100, minimum=1, maximum=500)
    return run_read(lambda conn, p: webhooks.list_events(conn, p.tenant_id, since=since, limit=limit), "cases:read")
