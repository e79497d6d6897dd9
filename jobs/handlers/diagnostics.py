"""`diagnostics.sleep`: a job with one observable, exactly-once effect, for operators checking a
worker set-up (`recouvre jobs ping`) and for the crash-recovery test."""
from __future__ import annotations

import time

from sqlalchemy import insert, select

from persistence.tables import job_effects

from .._execute import JobContext, handler
from .._store import utcnow


@handler("diagnostics.sleep", lease_seconds=4)
def sleep_then_mark(ctx: JobContext):
    seconds = float(ctx.payload.get("seconds", 0))
    marker = str(ctx.payload["marker"])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    with ctx.container.db.write() as conn:
        # the effect is keyed by its marker: a job run twice would fail here instead of doubling it
        if conn.execute(select(job_effects.c.marker).where(job_effects.c.marker == marker)).first() is None:
            conn.execute(insert(job_effects).values(marker=marker, job_id=ctx.job.id, created_at=utcnow()))
    return {"marker": marker, "slept": seconds}
