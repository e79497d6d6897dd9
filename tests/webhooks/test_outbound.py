"""Outbound webhooks against a real HTTP receiver on loopback: signatures, retries, replay."""
from __future__ import annotations

import datetime as dt
import json
import threading
import time

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
    for bad in ("since=%D9%A5", "since=1_0", "since=+5", "limit=%205"):     # int() would take each of them
        assert tenant.lawyer.get(f"/v1/events?{bad}").status_code == 422, bad


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


# --- replay never skips an event: emission is serialised per tenant --------------------------------------

def _feed(container, tenant, since=0):
    with container.db.read() as conn:
        return webhooks.list_events(conn, tenant.id, since=since, limit=500)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_reader_never_sees_an_event_before_an_earlier_uncommitted_one(container, tenant):
    """A takes its seq first and commits last: B's event must not be visible (nor numbered) before A's."""
    a_emitted, release_a, b_committed = threading.Event(), threading.Event(), threading.Event()
    ids, errors = {}, []

    def run_a():
        try:
            with container.db.write() as conn:
                ids["a"] = webhooks.emit(conn, tenant.id, "document.ready", {"n": "a"})[0]
                a_emitted.set()
                assert release_a.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            a_emitted.set()

    def run_b():
        try:
            with container.db.write() as conn:
                ids["b"] = webhooks.emit(conn, tenant.id, "document.ready", {"n": "b"})[0]
            b_committed.set()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    a = threading.Thread(target=run_a)
    a.start()
    assert a_emitted.wait(30)
    b = threading.Thread(target=run_b)
    b.start()
    b_committed.wait(1.5)                      # unserialised, B commits at once with seq N+1
    page = _feed(container, tenant)            # a client polling meanwhile
    release_a.set()
    a.join(30)
    b.join(30)
    assert not errors, errors
    assert page["items"] == [], "seq N+1 was visible while seq N was not committed yet"
    final = _feed(container, tenant)["items"]
    assert [e["id"] for e in final] == [ids["a"], ids["b"]] and final[0]["seq"] < final[1]["seq"]
    assert [e["id"] for e in _feed(container, tenant, since=page["next_since"])["items"]] == [ids["a"], ids["b"]]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_multi_case_transaction_emits_last_so_the_tenant_lock_cannot_deadlock(container, tenant, b2b_case):
    """X emits, then needs a case row that Y holds while Y emits: X must not hold the tenant's feed lock."""
    from persistence.tables import cases
    case_id = tenant.integrator.post("/v1/cases", json=b2b_case).json["id"]
    y_holds_case, x_emitted = threading.Event(), threading.Event()
    ids, errors = {}, []

    def lock_case(conn):
        conn.execute(select(cases.c.id).where(cases.c.id == case_id).with_for_update()).one()

    def run_x():                                # e.g. a CSV import: one case, then the next
        try:
            assert y_holds_case.wait(30)
            with container.db.write() as conn, webhooks.emitting_at_end(conn):
                ids["x"] = webhooks.emit(conn, tenant.id, "mailing.updated", {"n": "x"})[0]
                x_emitted.set()
                lock_case(conn)                 # waits for Y
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
            x_emitted.set()

    def run_y():                                # e.g. one tracking event on that case
        try:
            with container.db.write() as conn:
                lock_case(conn)
                y_holds_case.set()
                assert x_emitted.wait(30)
                time.sleep(0.5)                 # X is now waiting for the case row
                ids["y"] = webhooks.emit(conn, tenant.id, "mailing.updated", {"n": "y"})[0]
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
            y_holds_case.set()

    threads = [threading.Thread(target=run_x), threading.Thread(target=run_y)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors                   # a deadlock aborts one of them
    assert [e["id"] for e in _feed(container, tenant)["items"]] == [ids["y"], ids["x"]]


def test_deferred_emission_writes_at_the_end_and_nothing_on_failure(container, tenant, other_tenant):
    from persistence.tables import outbound_events
    with container.db.write() as conn:
        with webhooks.emitting_at_end(conn):
            b1 = webhooks.emit(conn, other_tenant.id, "mailing.updated", {"n": 1})[0]
            a1 = webhooks.emit(conn, tenant.id, "mailing.updated", {"n": 2})[0]
            b2 = webhooks.emit(conn, other_tenant.id, "mailing.updated", {"n": 3})[0]
            with webhooks.emitting_at_end(conn):     # nested blocks join the outer one
                a2 = webhooks.emit(conn, tenant.id, "mailing.updated", {"n": 4}, once_key="k")[0]
                assert webhooks.emit(conn, tenant.id, "mailing.updated", {"n": 4}, once_key="k")[0] == a2
            assert conn.execute(select(outbound_events.c.id).where(
                outbound_events.c.id.in_([a1, a2, b1, b2]))).all() == []
    assert [e["id"] for e in _feed(container, tenant)["items"]] == [a1, a2]
    assert [e["id"] for e in _feed(container, other_tenant)["items"]] == [b1, b2]
    with pytest.raises(RuntimeError):
        with container.db.write() as conn, webhooks.emitting_at_end(conn):
            webhooks.emit(conn, tenant.id, "mailing.updated", {"n": 5})
            raise RuntimeError("the change failed")
    assert len(_feed(container, tenant)["items"]) == 2
    with container.db.write() as conn:            # the pooled connection is not left deferring
        eid, _ = webhooks.emit(conn, tenant.id, "mailing.updated", {"n": 6})
        assert conn.execute(select(outbound_events.c.id).where(outbound_events.c.id == eid)).first()


def test_deferred_emission_locks_each_tenant_once_and_keeps_the_emission_order(container, tenant, other_tenant):
    from sqlalchemy import event
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))
    event.listen(container.db.engine, "before_cursor_execute", record)
    try:
        with container.db.write() as conn, webhooks.emitting_at_end(conn):
            ids = [webhooks.emit(conn, t.id, "mailing.updated", {"n": n})[0]
                   for n, t in enumerate((tenant, other_tenant, tenant, tenant, other_tenant))]
    finally:
        event.remove(container.db.engine, "before_cursor_execute", record)
    locks = [s for s in statements if s.startswith("SELECT tenants.id FROM tenants")]
    assert len(locks) == 2, locks
    assert [e["id"] for e in _feed(container, tenant)["items"]] == [ids[0], ids[2], ids[3]]
    assert [e["id"] for e in _feed(container, other_tenant)["items"]] == [ids[1], ids[4]]
