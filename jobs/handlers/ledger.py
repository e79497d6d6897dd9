"""Periodic duty: RFC 3161 timestamps of the ledger heads that changed state (see `proofs`).

A sweep duty rather than a job per event: one token covers every event since the last, so a
burst of changes costs one TSA request; it needs no enqueue in each code path that appends an
event; and a TSA outage leaves nothing to retry or fail, the next sweep finds the same heads.
"""
from .._queue import periodic


@periodic
def timestamp_ledger_heads(container) -> None:
    if not (container.settings.environ.get("RECOUVRE_TSA_URL") or "").strip():
        return
    from proofs import timestamp_pending_heads
    timestamp_pending_heads(container)
