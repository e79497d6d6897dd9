"""Running one job: find its handler, give it checkpoints, record the outcome."""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import _store
from ._store import Job

__all__ = ["handler", "HANDLERS", "JobContext", "TransientError", "PermanentError", "execute", "sweep", "JobSpec"]

log = logging.getLogger("recouvre.jobs")


class TransientError(Exception):
    """Worth retrying later (network, TSA, S3, a busy converter); `details` reach the failure hook
    when the retries run out."""

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.details = {"message": message, **details}


class PermanentError(Exception):
    """Retrying cannot help (poison input); `details` is kept with the failure."""

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.details = {"message": message, **details}


@dataclass(frozen=True)
class JobSpec:
    fn: Callable[[JobContext], Mapping[str, Any] | None]
    lease_seconds: float = 300
    on_failure: Callable[[JobContext, dict], None] | None = None
    backoff_base: float = 2.0
    schedule: tuple[float, ...] | None = None   # explicit delays before attempt 2, 3, …

    def delay(self, attempts_done: int) -> float:
        if self.schedule:
            return self.schedule[min(attempts_done, len(self.schedule)) - 1]
        return self.backoff_base * (2 ** (attempts_done - 1))


HANDLERS: dict[str, JobSpec] = {}


def handler(kind: str, *, lease_seconds: float = 300, backoff_base: float = 2.0,
            on_failure: Callable[[JobContext, dict], None] | None = None,
            schedule: tuple[float, ...] | None = None):
    """Registers a job kind; `on_failure` runs once when the job fails for good."""
    def deco(fn):
        HANDLERS[kind] = JobSpec(fn, lease_seconds, on_failure, backoff_base, schedule)
        return fn
    return deco


class JobContext:
    def __init__(self, container, job: Job):
        self.container, self.job = container, job
        self._checkpoints = dict(job.checkpoints)

    @property
    def payload(self) -> Mapping[str, Any]:
        return self.job.payload

    def checkpoint(self, name: str, compute: Callable[[], Any]) -> Any:
        """Runs `compute` once per job, even across crashes: its JSON output is committed first."""
        if name in self._checkpoints:
            return self._checkpoints[name]
        value = compute()
        _store.save_checkpoint(self.container.db, self.job, name, value)
        self._checkpoints[name] = value
        return value


def _load_handlers() -> None:
    from . import handlers  # noqa: F401 - registers the built-in job kinds


def execute(container, job_id: str | None = None) -> bool:
    """Claims and runs one job. Answers False when nothing was runnable."""
    _load_handlers()
    job = _store.claim(container.db, job_id=job_id,
                       lease_for=lambda kind: HANDLERS[kind].lease_seconds if kind in HANDLERS else 300)
    if job is None:
        return False
    spec = HANDLERS.get(job.kind)
    ctx = JobContext(container, job)
    if spec is None:
        with container.db.write() as conn:
            _store.fail(conn, job.id, f"no handler for job kind {job.kind!r}", attempt=job.attempts)
        return True
    try:
        result = spec.fn(ctx)
    except _store.LeaseLost:
        return True             # logged; the run that holds the lease decides
    except PermanentError as exc:
        _finish_failed(container, ctx, spec, exc.details)
    except Exception as exc:  # noqa: BLE001 - anything unexpected is retried, then capped
        transient = isinstance(exc, TransientError)
        message = f"{type(exc).__name__}: {exc}"
        log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, message,
                    exc_info=not transient)
        backoff = spec.delay(job.attempts)
        outcome = _store.retry_or_fail(container.db, job, message, backoff)
        if outcome == "failed":
            details = exc.details if transient else {}
            _finish_failed(container, ctx, spec, {**details, "message": message, "attempts": job.attempts,
                                                  "trace": traceback.format_exc(limit=3)}, already=True)
        elif outcome == "requeued":
            container.queue.dispatch(job.id, delay=backoff)
    else:
        with container.db.write() as conn:
            _store.complete(conn, job, result)
    return True


def _finish_failed(container, ctx: JobContext, spec: JobSpec, details: dict, already: bool = False) -> None:
    """Records the failure (unless done already) and runs the kind's failure hook, once: not when
    this run had lost its lease, since the run that holds it decides."""
    if not already:
        with container.db.write() as conn:
            held = _store.fail(conn, ctx.job.id, details.get("message", "failed"), attempt=ctx.job.attempts)
        if not held:
            _store._lost_lease(ctx.job, "failure")
            return
    _run_failure_hook(ctx, spec, details)


def _run_failure_hook(ctx: JobContext, spec: JobSpec, details: dict) -> None:
    if spec.on_failure:
        try:
            spec.on_failure(ctx, details)
        except Exception:  # noqa: BLE001
            log.exception("failure hook of job %s failed", ctx.job.id)


def sweep(container) -> tuple[list[str], list[str]]:
    """Requeues running jobs whose worker vanished; fails those out of attempts and runs their
    kind's failure hook, as a run failing for good would: a document of a dead job must not stay
    "pending". Answers (requeued ids, failed ids)."""
    _load_handlers()
    requeued, failed = _store.sweep(container.db)
    for job_id in failed:
        with container.db.read() as conn:
            row = _store.get_job(conn, job_id)
        spec = HANDLERS.get(row["kind"])
        if spec is not None:
            _run_failure_hook(JobContext(container, Job.from_row(row)), spec,
                              {"message": row["last_error"], "attempts": row["attempts"]})
    return requeued, failed
