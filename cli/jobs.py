"""`recouvre worker` and job inspection commands."""
from __future__ import annotations

import json
import threading
import time
import uuid

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--concurrency", default=2, show_default=True, type=int)
    @click.option("--sweep-every", default=10.0, show_default=True, type=float,
                  help="seconds between sweeps for jobs whose worker died")
    def worker(concurrency: int, sweep_every: float) -> None:
        """Run Celery workers (RECOUVRE_BROKER_URL), or the embedded runner without a broker."""
        from cli.main import _container
        container = _container(upgrade=False)
        container.archive.check()     # no Object Lock: refused here, naming RECOUVRE_ARCHIVE
        if container.settings.embedded_queue:
            from jobs import start_embedded_runner
            click.echo("no RECOUVRE_BROKER_URL: running the embedded job runner (Ctrl-C to stop)")
            runner = start_embedded_runner(container, threads=concurrency, sweep_every=sweep_every)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                runner.stop()
            return
        from celery.signals import worker_ready

        from jobs import run_sweeper_forever
        celery = container.queue.celery
        stop = threading.Event()

        @worker_ready.connect(weak=False)
        def _start_sweeper(**_kw):   # after the pool has forked: the thread stays in the parent
            threading.Thread(target=run_sweeper_forever, args=(container, sweep_every, stop),
                             name="recouvre-sweeper", daemon=True).start()

        celery.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork",
                            "--without-gossip", "--without-mingle", "-n", f"recouvre-{uuid.uuid4().hex[:6]}@%h"])

    @cli.group()
    def jobs() -> None:
        """Background jobs."""

    @jobs.command("show")
    @click.argument("job_id")
    def show(job_id: str) -> None:
        """Print a job's state as JSON."""
        from cli.main import _container
        from jobs import get_job
        with _container().db.read() as conn:
            row = get_job(conn, job_id)
        if row is None:
            raise click.ClickException(f"no job {job_id}")
        click.echo(json.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}))

    @jobs.command("ping")
    @click.option("--seconds", default=0.0, type=float)
    @click.option("--wait/--no-wait", default=True)
    def ping(seconds: float, wait: bool) -> None:
        """Queue a diagnostic job and wait until a worker ran it."""
        from cli.main import _container
        from jobs import enqueue, get_job
        c = _container()
        with c.db.write() as conn:
            jid = enqueue(conn, "diagnostics.sleep", {"seconds": seconds, "marker": f"ping-{uuid.uuid4()}"})
        c.queue.dispatch(jid)
        click.echo(jid)
        if not wait:
            return
        deadline = time.monotonic() + 60 + seconds
        while time.monotonic() < deadline:
            with c.db.read() as conn:
                status = get_job(conn, jid)["status"]
            if status in ("done", "failed"):
                click.echo(status)
                raise SystemExit(0 if status == "done" else 1)
            time.sleep(0.2)
        raise click.ClickException("no worker ran the job within a minute: is `recouvre worker` running?")
