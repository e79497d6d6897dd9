"""How a committed job reaches a worker: the embedded runner (default) or Celery."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from . import _store

__all__ = ["EmbeddedQueue", "CeleryQueue", "EmbeddedRunner", "periodic", "run_periodic"]

log = logging.getLogger("recouvre.jobs")

# Duties run at every sweep, by the embedded runner and by `recouvre worker` alike
# (deadline notices, ledger timestamps…). Each takes the container and must be idempotent.
PERIODIC: list[Callable[[object], None]] = []


def periodic(fn: Callable[[object], None]) -> Callable[[object], None]:
    PERIODIC.append(fn)
    return fn


def run_periodic(container) -> None:
    from ._execute import _load_handlers
    _load_handlers()   # handler modules register their periodic duties too
    for fn in PERIODIC:
        try:
            fn(container)
        except Exception:  # noqa: BLE001 - one failing duty must not stop the others
            log.exception("periodic duty %s failed", getattr(fn, "__name__", fn))


class EmbeddedQueue:
    """No broker: runner threads poll the job table; dispatch only wakes them up early."""

    def __init__(self):
        self.wakeup = threading.Event()

    def dispatch(self, job_id: str, delay: float = 0) -> None:
        if delay <= 0:
            self.wakeup.set()


class CeleryQueue:
    def __init__(self, celery_app):
        self.celery = celery_app

    def dispatch(self, job_id: str, delay: float = 0) -> None:
        self.celery.send_task("recouvre.run_job", args=[job_id], countdown=max(0, delay) or None)


class EmbeddedRunner:
    """Worker threads inside the service process; several processes may run them safely."""

    def __init__(self, container, *, threads: int = 1, poll: float = 0.5, sweep_every: float = 15.0):
        self.container, self.threads, self.poll, self.sweep_every = container, threads, poll, sweep_every
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> EmbeddedRunner:
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"recouvre-jobs-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        t = threading.Thread(target=self._sweeper, name="recouvre-sweeper", daemon=True)
        t.start()
        self._workers.append(t)
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self.container.queue.wakeup.set()
        for t in self._workers:
            t.join(timeout)

    def _loop(self) -> None:
        from ._execute import execute
        wakeup = self.container.queue.wakeup
        while not self._stop.is_set():
            try:
                ran = execute(self.container)
            except Exception:  # noqa: BLE001 - a broken database must not kill the thread
                log.exception("job runner error")
                ran = False
            if not ran:
                wakeup.wait(self.poll)
                wakeup.clear()

    def _sweeper(self) -> None:
        from ._execute import sweep
        while not self._stop.wait(self.sweep_every):
            try:
                requeued, failed = sweep(self.container)
                if requeued or failed:
                    log.warning("sweeper requeued %s and failed %s stuck jobs", len(requeued), len(failed))
                    self.container.queue.wakeup.set()
            except Exception:  # noqa: BLE001
                log.exception("sweeper error")
            run_periodic(self.container)


def run_sweeper_forever(container, every: float, stop: threading.Event) -> None:
    """For `recouvre worker`: requeue stuck jobs and hand them to Celery again."""
    from ._execute import sweep
    while not stop.wait(every):
        try:
            requeued, _ = sweep(container)
            for jid in requeued:
                container.queue.dispatch(jid)
            with container.db.read() as conn:   # jobs whose wake-up message was lost
                for jid in _store.runnable_ids(conn):
                    if _stale_queued(conn, jid):
                        container.queue.dispatch(jid)
        except Exception:  # noqa: BLE001
            log.exception("sweeper error")
        run_periodic(container)
        time.sleep(0)


def _stale_queued(conn, job_id: str, older_than: float = 30.0) -> bool:
    row = _store.get_job(conn, job_id)
    return bool(row) and (_store.utcnow() - row["updated_at"]).total_seconds() > older_than
