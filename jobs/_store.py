"""The job table is the source of truth; brokers only carry wake-up calls.

A job is claimed by one atomic UPDATE that sets a lease. A worker that dies (SIGKILL, OOM)
leaves a running job whose lease expires; the sweeper puts it back in the queue. Steps record
their outputs as checkpoints, so a resumed job skips what was already done (never signs or
archives twice).

The lease token is the attempt number: `claim` increments it as it leases the job. A worker
that stalled past its lease may wake up after the job was requeued (and perhaps claimed
again); its outcome (`complete`, `retry_or_fail`, `fail`) and its checkpoints
(`save_checkpoint`) then match no running row of that attempt and are dropped with a log line,
so they cannot overwrite the new run.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, and_, insert, select, update

from persistence.database import Database
from persistence.tables import jobs

log = logging.getLogger("recouvre.jobs")

__all__ = ["Job", "LeaseLost", "enqueue", "claim", "complete", "retry_or_fail", "fail", "sweep", "get_job",
           "save_checkpoint", "utcnow", "runnable_ids"]

class LeaseLost(Exception):
    """This run no longer holds its job's lease: whatever it still wanted to record is dropped."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    tenant_id: str | None
    case_id: str | None
    payload: Mapping[str, Any]
    checkpoints: Mapping[str, Any]
    attempts: int
    max_attempts: int
    status: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        return cls(row["id"], row["kind"], row["tenant_id"], row["case_id"], row["payload"],
                   row["checkpoints"] or {}, row["attempts"], row["max_attempts"], row["status"])


def enqueue(conn: Connection, kind: str, payload: Mapping[str, Any], *, tenant_id: str | None = None,
            case_id: str | None = None, max_attempts: int = 5, run_after: dt.datetime | None = None,
            job_id: str | None = None) -> str:
    """Adds a job inside the caller's transaction: it exists if and only if the caller commits,
    and `Database.write` hands it to the workers after that commit."""
    moment = utcnow()
    jid = job_id or str(uuid.uuid4())
    conn.execute(insert(jobs).values(
        id=jid, tenant_id=tenant_id, case_id=case_id, kind=kind, status="queued", payload=dict(payload),
        checkpoints={}, attempts=0, max_attempts=max_attempts, run_after=run_after or moment,
        created_at=moment, updated_at=moment))
    conn.info.setdefault("enqueued", []).append(jid)
    return jid


def claim(db: Database, *, job_id: str | None = None,
          lease_for: Callable[[str], float] = lambda kind: 300) -> Job | None:
    """Takes one runnable job (that one, or the oldest) and leases it for its kind's lease time."""
    moment = utcnow()
    with db.write() as conn:
        runnable = and_(jobs.c.status == "queued", jobs.c.run_after <= moment)
        pick = select(jobs.c.id, jobs.c.kind).where(runnable)
        pick = pick.where(jobs.c.id == job_id) if job_id else \
            pick.order_by(jobs.c.run_after, jobs.c.created_at).limit(1)
        if not db.is_sqlite:
            pick = pick.with_for_update(skip_locked=True)
        found = conn.execute(pick).first()
        if found is None:
            return None
        job_id = found.id
        lease = moment + dt.timedelta(seconds=lease_for(found.kind))
        done = conn.execute(update(jobs).where(jobs.c.id == job_id, runnable).values(
            status="running", attempts=jobs.c.attempts + 1, lease_until=lease, updated_at=moment))
        if done.rowcount != 1:
            return None
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().one()
        return Job.from_row(row)


def save_checkpoint(db: Database, job: Job, name: str, value: Any) -> None:
    """Commits one step's output for this run; raises LeaseLost (nothing written) once the run
    has lost its lease, so a stalled run cannot overwrite the checkpoints of the one after it."""
    with db.write() as conn:
        row = conn.execute(select(jobs.c.checkpoints).where(_leased(job.id, job.attempts)).with_for_update()).first()
        if row is None:
            _lost_lease(job, f"checkpoint {name!r}")
            raise LeaseLost(f"job {job.id} attempt {job.attempts} lost its lease")
        checkpoints = dict(row.checkpoints or {})
        checkpoints[name] = value
        conn.execute(update(jobs).where(_leased(job.id, job.attempts)).values(
            checkpoints=checkpoints, updated_at=utcnow()))


def _leased(job_id: str, attempt: int):
    """The job row as its `attempt`-th run left it: still running, not claimed again since."""
    return and_(jobs.c.id == job_id, jobs.c.status == "running", jobs.c.attempts == attempt)


def _lost_lease(job: Job, outcome: str) -> None:
    log.warning("job %s (%s) attempt %s lost its lease before it finished (requeued by the sweeper); "
                "its %s is dropped", job.id, job.kind, job.attempts, outcome)


def complete(conn: Connection, job: Job, result: Mapping[str, Any] | None) -> bool:
    """Marks this run done; answers False (and changes nothing) when the run no longer holds the lease."""
    moment = utcnow()
    done = conn.execute(update(jobs).where(_leased(job.id, job.attempts)).values(
        status="done", result=dict(result or {}), lease_until=None, updated_at=moment, finished_at=moment,
        last_error=None))
    if done.rowcount != 1:
        _lost_lease(job, "completion")
        return False
    return True


def fail(conn: Connection, job_id: str, error: str, *, attempt: int) -> bool:
    """Fails the job for good, only while its `attempt`-th run still holds the lease."""
    moment = utcnow()
    done = conn.execute(update(jobs).where(_leased(job_id, attempt)).values(
        status="failed", last_error=error[:4000], lease_until=None, updated_at=moment, finished_at=moment))
    return done.rowcount == 1


def retry_or_fail(db: Database, job: Job, error: str, backoff: float) -> Literal["requeued", "failed", "stale"]:
    """Requeues with a delay while attempts remain, else fails for good; "stale" when this run
    no longer holds the lease (nothing changed: the run that does decides)."""
    with db.write() as conn:
        if job.attempts >= job.max_attempts:
            if fail(conn, job.id, f"gave up after {job.attempts} attempts: {error}", attempt=job.attempts):
                return "failed"
        else:
            moment = utcnow()
            done = conn.execute(update(jobs).where(_leased(job.id, job.attempts)).values(
                status="queued", last_error=error[:4000], lease_until=None,
                run_after=moment + dt.timedelta(seconds=backoff), updated_at=moment))
            if done.rowcount == 1:
                return "requeued"
    _lost_lease(job, "failure")
    return "stale"


def sweep(db: Database) -> tuple[list[str], list[str]]:
    """Requeues running jobs whose worker vanished; fails those out of attempts.

    Answers (requeued ids, failed ids) so the caller can re-dispatch the requeued ones and run
    the failed ones' failure hooks (`jobs.sweep` does both).
    """
    moment = utcnow()
    with db.write() as conn:
        stale = conn.execute(select(jobs.c.id, jobs.c.attempts, jobs.c.max_attempts).where(
            jobs.c.status == "running", jobs.c.lease_until < moment)).all()
        requeued, failed = [], []
        for jid, attempts, max_attempts in stale:
            if attempts >= max_attempts:
                if fail(conn, jid, f"worker lost {attempts} times", attempt=attempts):
                    failed.append(jid)
            elif conn.execute(update(jobs).where(_leased(jid, attempts)).values(
                    status="queued", lease_until=None, run_after=moment, updated_at=moment,
                    last_error="worker lost; requeued by the sweeper")).rowcount == 1:
                requeued.append(jid)
    return requeued, failed


def get_job(conn: Connection, job_id: str) -> Mapping[str, Any] | None:
    return conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()


def runnable_ids(conn: Connection, limit: int = 100) -> list[str]:
    return list(conn.execute(select(jobs.c.id).where(
        jobs.c.status == "queued", jobs.c.run_after <= utcnow()).order_by(jobs.c.run_after).limit(limit)).scalars())
