"""Outbound webhooks against a real HTTP receiver on loopback: signatures, retries, replay."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from delivery import verify_webhook
from jobs import execute
from jobs._store import utcnow
from persistence.tables import jobs as jobs_table, webhook_deliveries
import webhooks
from webhooks.service import MAX_ATTEMPTS, RETRY_SCHEDULE


class Receiver:
    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        self.server = make_server("127.0.0.1", 0, self._app)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request):
        self.requests.append((dict(request.headers), request.get_data()))
        return Response("ok", status=self.status)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def _subscribe(tenant, url, events=("document.ready",)):
    r = tenant.integrator.post("/v1/webhooks", json={"url": url, "events": list(events)})
    assert r.status_code == 201, r.json
    assert r.json["secret"].startswith("whsec_")
    return r.json


def _emit(container, tenant, type_="document.ready", data=None):
    with container.db.write() as conn:
        eid, job_ids = webhooks.emit(conn, tenant.id, type_, data or {"document_id": "d1"})
    return eid, job_ids


def test_delivery_is_signed_and_carries_a_stable_event_id(container, tenant, receiver):
    sub = _subscribe(tenant, receiver.url)
    eid, job_ids = _emit(container, tenant)
    assert len(job_ids) == 1
    assert execute(container, job_ids[0])
    headers, body = receiver.requests[0]
    assert headers["Recouvre-Event-Id"] == eid and headers["Recouvre-Event-Type"] == "document.ready"
    t, v1 = (part.split("=", 1)[1] for part in headers["Recouvre-Signature"].split(","))
    verify_webhook(sub["secret"].encode(), t, body, v1, now=dt.datetime.now(dt.timezone.utc))
    assert json.loads(body)["id"] == eid and json.loads(body)["data"] == {"document_id": "d1"}
    with container.db.read() as conn:
        d = conn.execute(select(webhook_deliveries)).mappings().all()
    assert [x["status"] for x in d if x["event_id"] == eid] == ["delivered"]


def test_failed_delivery_is_retried_later_then_succeeds(container, tenant, receiver):
    _subscribe(tenant, receiver.url)
    receiver.status = 503
    _, (jid,) = _emit(container, tenant)
    execute(container, jid)
    with container.db.read() as conn:
        job = conn.execute(select(jobs_table).where(jobs_table.c.id == jid)).mappings().one()
    assert job["status"] == "queued"
    delay = (job["run_after"] - utcnow()).total_seconds()
    assert RETRY_SCHEDULE[0] - 5 < delay <= RETRY_SCHEDULE[0]
    receiver.status = 200
    with container.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(run_after=utcnow()))
    execute(container, jid)
    assert len(receiver.requests) == 2
    with container.db.read() as conn:
        job = conn.execute(select(jobs_table).where(jobs_table.c.id == jid)).mappings().one()
    assert job["status"] == "done" and job["attempts"] == 2


def test_retry_policy_spans_at_least_eight_retries_over_two_days(container, tenant, receiver):
    assert MAX_ATTEMPTS - 1 >= 8 and sum(RETRY_SCHEDULE) >= 48 * 3600
    assert list(RETRY_SCHEDULE) == sorted(RETRY_SCHEDULE)
    _subscribe(tenant, receiver.url)
    receiver.status = 500
    _, (jid,) = _emit(container, tenant)
    for _ in range(MAX_ATTEMPTS):
        with container.db.write() as conn:
            conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(run_after=utcnow()))
        execute(container, jid)
    assert len(receiver.requests) == MAX_ATTEMPTS
    with container.db.read() as conn:
        job = conn.execute(select(jobs_table).where(jobs_table.c.id == jid)).mappings().one()
        d = conn.execute(select(webhook_deliveries).where(webhook_deliveries.c.subscription_id.isnot(None))) \
            .mappings().all()
    assert job["status"] == "failed"
    assert any(x["status"] == "failed" and x["last_status"] == 500 for x in d)


def test_only_matching_subscriptions_and_idempotent_emission(container, tenant, receiver):
    _subscribe(tenant, receiver.url, events=("mailing.updated",))
    assert _emit(container, tenant, "document.ready")[1] == []
    with container.db.write() as conn:
        first = webhooks.emit(conn, tenant.id, "mailing.updated", {"m": 1}, once_key="fixed-1")
        again = webhooks.emit(conn, tenant.id, "mailing.updated", {"m": 1}, once_key="fixed-1")
    assert len(first[1]) == 1 and again == (first[0], [])


def test_events_replay_in_order_per_tenant(container, tenant, other_tenant):
    ids = [_emit(container, tenant, "document.ready", {"n": i})[0] for i in range(3)]
    _emit(container, other_tenant, "document.ready", {"n": 99})
    page = tenant.lawyer.get("/v1/events?since=0&limit=2").json
    assert [e["id"] for e in page["items"]] == ids[:2]
    rest = tenant.lawyer.get(f"/v1/events?since={page['next_since']}").json
    assert [e["id"] for e in rest["items"]] == ids[2:]
    assert tenant.lawyer.get("/v1/events?since=-1").status_code == 422


def test_subscription_validation_and_roles(tenant):
    r = tenant.integrator.post("/v1/webhooks", json={"url": "ftp://x", "events": ["document.ready", "nope"]})
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json["errors"]} >= {"/url", "/events/1"}
    assert tenant.lawyer.post("/v1/webhooks", json={"url": "http://x.test/h", "events": ["document.ready"]}).status_code == 403
    sub = _subscribe(tenant, "http://127.0.0.1:9/h")
    assert [s["id"] for s in tenant.integrator.get("/v1/webhooks").json["items"]] == [sub["id"]]
    assert "secret" not in tenant.integrator.get("/v1/webhooks").json["items"][0] or \
        tenant.integrator.get("/v1/webhooks").json["items"][0]["secret"] is None
    assert tenant.integrator.client.delete(f"/v1/webhooks/{sub['id']}",
                                           headers={"Authorization": f"Bearer {tenant.keys['integrator']}"}).status_code == 204
    assert tenant.integrator.get("/v1/webhooks").json["items"] == []
