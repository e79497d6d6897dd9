"""Durable background jobs: document generation, signing, archiving, packets, webhooks.

The database job table decides what runs; the embedded runner (default) or Celery workers
(RECOUVRE_BROKER_URL) execute. See `_store` for the crash-recovery rules.
"""
from ._execute import HANDLERS, JobContext, PermanentError, TransientError, execute, handler, sweep
from ._queue import CeleryQueue, EmbeddedQueue, EmbeddedRunner, periodic, run_periodic, run_sweeper_forever
from ._store import Job, claim, enqueue, get_job

__all__ = ["HANDLERS", "JobContext", "PermanentError", "TransientError", "execute", "handler", "CeleryQueue",
           "EmbeddedQueue", "EmbeddedRunner", "periodic", "run_periodic", "run_sweeper_forever", "Job", "claim", "enqueue", "get_job", "sweep",
           "start_embedded_runner"]


def start_embedded_runner(container, **kw) -> EmbeddedRunner:
    return EmbeddedRunner(container, **kw).start()
