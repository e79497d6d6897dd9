"""Durable jobs: the embedded runner, retries, the sweeper, and real Celery workers on Redis."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from jobs import EmbeddedRunner, execute, get_job, handler, sweep, enqueue, TransientError, PermanentError
from jobs._store import utcnow
from persistence.tables import job_effects, jobs as jobs_table
from tests.conftest import REDIS_URL, service_missing

ROOT = Path(__file__).resolve().parents[2]
CALLS: dict[str, int] = {}


@handler("test.flaky", backoff_base=0.05)
def _flaky(ctx):
    CALLS[ctx.payload["k"]] = CALLS.get(ctx.payload["k"], 0) + 1
    if CALLS[ctx.payload["k"]] < ctx.payload["succeed_on"]:
        raise TransientError("TSA did not answer")
    return {"calls": CALLS[ctx.payload["k"]]}


FAILED: list[dict] = []


@handler("test.poison", on_failure=lambda ctx, details: FAILED.append(details))
def _poison(ctx):
    raise PermanentError("LibreOffice could not load the document", step="convert")


@handler("test.checkpoints")
def _checkpoints(ctx):
    first = ctx.checkpoint("sign", lambda: CALLS.__setitem__("sign", CALLS.get("sign", 0) + 1) or "signed-1")
    if ctx.job.attempts == 1:
        raise TransientError("archive unavailable")
    return {"artefact": first}


def _effects(container, marker):
    with container.db.read() as conn:
        return list(conn.execute(select(job_effects.c.marker).where(job_effects.c.marker.startswith(marker + "#"))
                                 .order_by(job_effects.c.marker)).scalars())


def _job(container, job_id):
    with container.db.read() as conn:
        return get_job(conn, job_id)


def _wait(container, job_id, statuses=("done", "failed"), timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _job(container, job_id)
        if row["status"] in statuses:
            return row
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {row['status']} after {timeout}s")


def test_embedded_runner_runs_a_committed_job(container):
    runner = EmbeddedRunner(container, poll=0.05).start()
    try:
        with container.db.write() as conn:
            jid = enqueue(conn, "diagnostics.sleep", {"seconds": 0, "marker": f"m-{uuid.uuid4()}"})
        container.queue.dispatch(jid)
        row = _wait(container, jid)
    finally:
        runner.stop()
    assert row["status"] == "done" and row["attempts"] == 1 and row["result"]["slept"] == 0


def test_transient_errors_are_retried_with_backoff(container):
    k = str(uuid.uuid4())
    with container.db.write() as conn:
        jid = enqueue(conn, "test.flaky", {"k": k, "succeed_on": 3}, max_attempts=5)
    assert execute(container, jid)
    row = _job(container, jid)
    assert row["status"] == "queued" and row["run_after"] > utcnow() and "TSA" in row["last_error"]
    while _job(container, jid)["status"] == "queued":
        time.sleep(0.05)
        execute(container, jid)
    row = _job(container, jid)
    assert row["status"] == "done" and row["attempts"] == 3 and row["result"] == {"calls": 3}


def test_retries_are_capped(container):
    k = str(uuid.uuid4())
    with container.db.write() as conn:
        jid = enqueue(conn, "test.flaky", {"k": k, "succeed_on": 99}, max_attempts=2)
    execute(container, jid)
    time.sleep(0.06)
    execute(container, jid)
    row = _job(container, jid)
    assert row["status"] == "failed" and "gave up after 2 attempts" in row["last_error"]


def test_poison_input_fails_once_and_says_why(container):
    with container.db.write() as conn:
        jid = enqueue(conn, "test.poison", {})
    FAILED.clear()
    execute(container, jid)
    row = _job(container, jid)
    assert row["status"] == "failed" and row["attempts"] == 1
    assert FAILED == [{"message": "LibreOffice could not load the document", "step": "convert"}]


def test_checkpoints_survive_a_retry(container):
    CALLS["sign"] = 0
    with container.db.write() as conn:
        jid = enqueue(conn, "test.checkpoints", {})
    execute(container, jid)
    with container.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(run_after=utcnow()))
    execute(container, jid)
    row = _job(container, jid)
    assert row["status"] == "done" and row["result"] == {"artefact": "signed-1"}
    assert CALLS["sign"] == 1 and row["checkpoints"] == {"sign": "signed-1"}


def test_sweeper_requeues_a_job_whose_worker_vanished(container):
    with container.db.write() as conn:
        jid = enqueue(conn, "diagnostics.sleep", {"seconds": 0, "marker": f"m-{uuid.uuid4()}"}, max_attempts=2)
        conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(
            status="running", attempts=1, lease_until=utcnow()))
    requeued, failed = sweep(container)
    assert jid in requeued and _job(container, jid)["status"] == "queued"
    with container.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(
            status="running", attempts=2, lease_until=utcnow()))
    requeued, failed = sweep(container)
    assert jid in failed and _job(container, jid)["status"] == "failed"


GAVE_UP: list[tuple[str, dict]] = []


@handler("test.tsa_down", backoff_base=0.01, on_failure=lambda ctx, details: GAVE_UP.append((ctx.job.id, details)))
def _tsa_down(ctx):
    raise TransientError("TSA did not answer", step="timestamp", url="http://tsa.invalid")


def test_transient_details_reach_the_failure_hook_when_retries_run_out(container):
    with container.db.write() as conn:
        jid = enqueue(conn, "test.tsa_down", {}, max_attempts=1)
    assert execute(container, jid)
    assert _job(container, jid)["status"] == "failed"
    ((job_id, details),) = [g for g in GAVE_UP if g[0] == jid]
    assert details["step"] == "timestamp" and details["url"] == "http://tsa.invalid"
    assert details["message"] == "TransientError: TSA did not answer" and details["attempts"] == 1


def _lose_worker(container, jid, attempts):
    with container.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(
            status="running", attempts=attempts, lease_until=utcnow() - dt.timedelta(seconds=1)))


def test_the_sweeper_runs_the_failure_hook_of_a_job_it_gives_up(container):
    with container.db.write() as conn:
        jid = enqueue(conn, "test.tsa_down", {}, max_attempts=2)
    _lose_worker(container, jid, 1)
    assert sweep(container) == ([jid], [])
    assert [g for g in GAVE_UP if g[0] == jid] == []        # requeued: not given up yet
    _lose_worker(container, jid, 2)
    assert sweep(container) == ([], [jid])
    ((_, details),) = [g for g in GAVE_UP if g[0] == jid]
    assert details == {"message": "worker lost 2 times", "attempts": 2}
    assert sweep(container) == ([], [])                      # once


def test_a_document_whose_worker_died_for_good_is_failed_not_left_pending(container, tenant, b2b_case):
    case = tenant.integrator.post("/v1/cases", json=b2b_case).json
    doc = tenant.lawyer.post(f"/v1/cases/{case['id']}/documents",
                             json={"kind": "mise_en_demeure", "as_of": "2026-03-01"}).json
    assert doc["status"] == "pending", doc
    with container.db.read() as conn:
        (jid,) = conn.execute(select(jobs_table.c.id).where(
            jobs_table.c.kind == "document.generate",
            jobs_table.c.payload["document_id"].as_string() == doc["id"])).scalars()
        max_attempts = conn.execute(select(jobs_table.c.max_attempts).where(jobs_table.c.id == jid)).scalar()
    _lose_worker(container, jid, max_attempts)
    assert jid in sweep(container)[1]
    got = tenant.lawyer.get(f"/v1/documents/{doc['id']}").json
    assert got["status"] == "failed" and "worker lost" in got["error"]["message"], got
    events = [e["type"] for e in tenant.lawyer.get(f"/v1/cases/{case['id']}/events").json["items"]]
    assert "document.failed" in events


def test_a_stalled_run_cannot_overwrite_the_checkpoints_of_the_new_run(container, caplog):
    from jobs import JobContext, claim
    from jobs._store import LeaseLost
    with container.db.write() as conn:
        jid = enqueue(conn, "test.checkpoints", {}, max_attempts=3)
    stale = claim(container.db, job_id=jid)
    _lose_worker(container, jid, 1)
    assert sweep(container)[0] == [jid]
    fresh = claim(container.db, job_id=jid)
    JobContext(container, fresh).checkpoint("sign", lambda: "signed by the new run")
    with caplog.at_level("WARNING", logger="recouvre.jobs"), pytest.raises(LeaseLost):
        JobContext(container, stale).checkpoint("sign", lambda: "signed by the stalled run")
    assert "lost its lease" in caplog.text
    assert _job(container, jid)["checkpoints"] == {"sign": "signed by the new run"}


def _stall_past_lease_and_get_claimed(ctx):
    """The run stalls past its lease: the sweeper requeues the job and another worker claims it."""
    from jobs import claim
    with ctx.container.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == ctx.job.id).values(
            lease_until=utcnow() - dt.timedelta(seconds=1)))
    assert ctx.job.id in sweep(ctx.container)[0]
    return claim(ctx.container.db, job_id=ctx.job.id)


@handler("test.stalls_then_checkpoints", lease_seconds=60)
def _stalls_then_checkpoints(ctx):
    assert _stall_past_lease_and_get_claimed(ctx) is not None
    ctx.checkpoint("archived", lambda: "by the stalled run")
    CALLS["after stalled checkpoint"] = CALLS.get("after stalled checkpoint", 0) + 1
    return {"by": "the stalled run"}


def test_a_run_stops_at_its_first_checkpoint_after_losing_its_lease(container, caplog):
    CALLS.pop("after stalled checkpoint", None)
    with container.db.write() as conn:
        jid = enqueue(conn, "test.stalls_then_checkpoints", {}, max_attempts=3)
    with caplog.at_level("WARNING", logger="recouvre.jobs"):
        assert execute(container, jid)
    row = _job(container, jid)
    assert row["status"] == "running" and row["attempts"] == 2 and row["checkpoints"] == {}, dict(row)
    assert "after stalled checkpoint" not in CALLS and "checkpoint 'archived'" in caplog.text


def test_the_diagnostic_effect_counts_every_execution(container):
    """What makes the crash test's exactly-once check able to fail: a rerun leaves a second row."""
    marker = f"m-{uuid.uuid4()}"
    with container.db.write() as conn:
        jid = enqueue(conn, "diagnostics.sleep", {"seconds": 0, "marker": marker}, max_attempts=3)
    assert execute(container, jid)
    assert _effects(container, marker) == [f"{marker}#1"]
    with container.db.write() as conn:     # as if the job were (wrongly) run again
        conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(status="queued"))
    assert execute(container, jid)
    assert _effects(container, marker) == [f"{marker}#1", f"{marker}#2"]


STOLEN: dict[str, object] = {}


@handler("test.loses_lease", lease_seconds=60)
def _loses_lease(ctx):
    """Stalls past its lease: the sweeper requeues the job and another worker claims it meanwhile."""
    STOLEN[ctx.job.id] = _stall_past_lease_and_get_claimed(ctx)
    if ctx.payload["outcome"] == "transient":
        raise TransientError("late answer")
    if ctx.payload["outcome"] == "permanent":
        raise PermanentError("late failure")
    return {"by": "the stale worker"}


@pytest.mark.parametrize("outcome", ["done", "transient", "permanent"])
def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_run(container, caplog, outcome):
    from jobs._store import complete
    with container.db.write() as conn:
        jid = enqueue(conn, "test.loses_lease", {"outcome": outcome}, max_attempts=3)
    with caplog.at_level("WARNING", logger="recouvre.jobs"):
        assert execute(container, jid)
    row = _job(container, jid)
    assert row["status"] == "running" and row["attempts"] == 2, dict(row)
    assert row["result"] is None and row["finished_at"] is None and row["lease_until"] > utcnow()
    assert "lost its lease" in caplog.text
    fresh = STOLEN.pop(jid)
    with container.db.write() as conn:        # the run holding the lease still decides
        assert complete(conn, fresh, {"by": "the new run"})
    row = _job(container, jid)
    assert row["status"] == "done" and row["result"] == {"by": "the new run"}


def test_a_stale_retry_leaves_a_requeued_job_alone(container, caplog):
    from jobs import claim
    from jobs._store import retry_or_fail
    with container.db.write() as conn:
        jid = enqueue(conn, "diagnostics.sleep", {"seconds": 0, "marker": f"m-{uuid.uuid4()}"}, max_attempts=1)
    stale = claim(container.db, job_id=jid)
    with container.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == jid).values(status="queued", lease_until=None))
    with caplog.at_level("WARNING", logger="recouvre.jobs"):
        assert retry_or_fail(container.db, stale, "late", 60) == "stale"   # out of attempts, yet not failed
    row = _job(container, jid)
    assert row["status"] == "queued" and row["last_error"] is None and "lost its lease" in caplog.text


def test_a_job_is_claimed_once(container):
    with container.db.write() as conn:
        jid = enqueue(conn, "diagnostics.sleep", {"seconds": 0, "marker": f"m-{uuid.uuid4()}"})
    from jobs import claim
    assert claim(container.db, job_id=jid) is not None
    assert claim(container.db, job_id=jid) is None


# --- Celery on Redis ---------------------------------------------------------------------------

@pytest.fixture
def redis_broker():
    import redis
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.flushdb()
    except Exception as exc:  # noqa: BLE001
        service_missing("Redis", exc)
    return REDIS_URL


class Worker:
    def __init__(self, env, log_path: Path):
        self.env, self.log_path = env, log_path
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(ROOT / ".venv/bin/recouvre"), "worker", "--concurrency", "1",
                                      "--sweep-every", "1"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def celery_env(settings, redis_broker, container):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUVRE_")}
    env.update(RECOUVRE_DATA_DIR=str(settings.data_dir), RECOUVRE_DATABASE_URL=settings.database_url,
               RECOUVRE_BROKER_URL=redis_broker)
    return env


def _celery_container(settings, broker):
    from bootstrap import build_container
    from settings import Settings
    return build_container(Settings.from_env({"RECOUVRE_DATA_DIR": str(settings.data_dir),
                                              "RECOUVRE_DATABASE_URL": settings.database_url,
                                              "RECOUVRE_BROKER_URL": broker}))


def test_celery_worker_runs_jobs_from_redis(settings, celery_env, redis_broker, tmp_path):
    c = _celery_container(settings, redis_broker)
    worker = Worker(celery_env, tmp_path / "worker.log").start()
    try:
        ids = []
        for _ in range(3):
            with c.db.write() as conn:
                ids.append(enqueue(conn, "diagnostics.sleep", {"seconds": 0, "marker": f"m-{uuid.uuid4()}"}))
            c.queue.dispatch(ids[-1])
        rows = [_wait(c, jid, timeout=180) for jid in ids]
    finally:
        worker.stop()
    assert [r["status"] for r in rows] == ["done"] * 3, (tmp_path / "worker.log").read_text()[-3000:]


def test_worker_killed_mid_job_loses_nothing_and_runs_it_once(settings, celery_env, redis_broker, tmp_path):
    c = _celery_container(settings, redis_broker)
    marker = f"kill-{uuid.uuid4()}"
    worker = Worker(celery_env, tmp_path / "worker.log").start()
    try:
        with c.db.write() as conn:
            jid = enqueue(conn, "diagnostics.sleep", {"seconds": 3, "marker": marker}, max_attempts=3)
        c.queue.dispatch(jid)
        _wait(c, jid, statuses=("running",), timeout=180)
        time.sleep(0.5)
        worker.kill()                                   # SIGKILL the whole worker, mid-job
        row = _job(c, jid)
        assert row["status"] == "running" and row["attempts"] == 1
        worker = Worker(celery_env, tmp_path / "worker.log").start()
        row = _wait(c, jid, timeout=180)
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text()[-3000:]
    assert row["status"] == "done" and row["attempts"] == 2, log
    # One row per execution of the effect (no skip-if-exists): the killed run must have left none,
    # the second exactly one; an effect run twice would show two rows here.
    assert _effects(c, marker) == [f"{marker}#2"], log


def test_document_pipeline_on_a_celery_worker(settings, celery_env, redis_broker, tmp_path, b2b_case):
    """A mise en demeure requested over the API is generated, signed and archived by a real worker."""
    from app import create_app
    from signing import validate_pdf
    from tests.conftest import make_tenant
    c = _celery_container(settings, redis_broker)
    app = create_app(container=c)
    tenant = make_tenant(app, c)
    case = tenant.integrator.post("/v1/cases", json=b2b_case).json
    worker = Worker(celery_env, tmp_path / "worker.log").start()
    try:
        doc = tenant.lawyer.post(f"/v1/cases/{case['id']}/documents",
                                 json={"kind": "mise_en_demeure", "as_of": "2026-03-01"}).json
        deadline = time.monotonic() + 120
        while (state := tenant.lawyer.get(f"/v1/documents/{doc['id']}").json)["status"] == "pending":
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.3)
    finally:
        worker.stop()
    assert state["status"] == "ready", state.get("error")
    pdf = tenant.lawyer.get(f"/v1/documents/{doc['id']}/pdf").data
    assert validate_pdf(pdf).intact
