"""`diagnostics.sleep`: a job with one observable effect per execution, for operators checking a
worker set-up (`recouvre jobs ping`) and for the crash-recovery test."""
from __future__ import annotations

import time

from sqlalchemy import insert

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
        # One row per execution, named after the run ("<marker>#<attempt>"), with no skip-if-exists:
        # an effect that ran twice leaves two rows, which is what the crash test counts.
        conn.execute(insert(job_effects).values(marker=f"{marker}#{ctx.job.attempts}", job_id=ctx.job.id,
                                                created_at=utcnow()))
    return {"marker": marker, "slept": seconds}
