"""Periodic RFC 3161 timestamps of ledger heads.

A token over the head certifies every event up to it: the chain makes each earlier event part
of the head. So nothing is appended to the ledger (that would move the head the token is
about); the token is kept beside it in `ledger_timestamps`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Protocol

from sqlalchemy import and_, exists, func, insert, select

from persistence.tables import cases, ledger_events, ledger_timestamps

from ._tokens import IMPRINT_ALGORITHM, TokenError, head_imprint, read_token
from ._verify import token_signature

__all__ = ["STAMPED_EVENT_TYPES", "TSA_URL", "TimeStamper", "PyHankoTimeStamper", "stamper_from_environ",
           "timestamp_pending_heads"]

log = logging.getLogger("recouvre.proofs")

TSA_URL = "RECOUVRE_TSA_URL"
TSA_TIMEOUT_SECONDS = 10

# Events that create or fix a legal fact: what a court would ask "since when?" about. The rest
# (document requested, tracking number, legal hold, reminder logged, failures…) is certified by
# the next token anyway, since a token covers the whole chain before its head; leaving them out
# saves tokens, which qualified TSAs bill one by one.
STAMPED_EVENT_TYPES = frozenset({
    "case.created",              # the claim as first stated
    "case.status_changed",       # open → formal notice → injunction → settled/closed
    "case.formal_notice_dated",  # starts the legal deadlines
    "case.address_invalid",      # NPAI: the debtor could not be reached
    "payment.added",             # changes the amount owed
    "evidence.uploaded",         # a pièce enters the file
    "document.generated",        # a signed letter or dossier exists
    "mailing.event_recorded",    # deposit, presentation, receipt of registered mail
    "mailing.receipt_scanned",   # the signed avis de réception
})


class TimeStamper(Protocol):
    """An RFC 3161 client: the production one speaks HTTP, tests inject others."""

    url: str

    def stamp(self, imprint: bytes) -> bytes:
        """The DER TimeStampToken (CMS ContentInfo) over a SHA-256 imprint."""
        ...


class PyHankoTimeStamper:
    """Adapts a pyHanko TimeStamper (HTTP or dummy) to the synchronous call the sweeper makes."""

    def __init__(self, inner, url: str):
        self.inner, self.url = inner, url

    def stamp(self, imprint: bytes) -> bytes:
        # pyHanko's client is async (aiohttp); the sweeper thread has no running loop.
        return asyncio.run(self.inner.async_timestamp(imprint, IMPRINT_ALGORITHM)).dump()


def stamper_from_environ(environ: Mapping[str, str]) -> PyHankoTimeStamper | None:
    url = (environ.get(TSA_URL) or "").strip()
    if not url:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper
    return PyHankoTimeStamper(HTTPTimeStamper(url, timeout=TSA_TIMEOUT_SECONDS), url)


def _pending(conn, case_ids: Iterable[str] | None, limit: int) -> list[tuple[str, int, str]]:
    last = (select(ledger_timestamps.c.case_id, func.max(ledger_timestamps.c.seq).label("seq"))
            .group_by(ledger_timestamps.c.case_id).subquery())
    stamped_up_to = func.coalesce(last.c.seq, 0)
    q = (select(cases.c.id, cases.c.ledger_length, cases.c.ledger_head)
         .select_from(cases.outerjoin(last, last.c.case_id == cases.c.id))
         .where(cases.c.ledger_length > stamped_up_to,
                exists().where(and_(ledger_events.c.case_id == cases.c.id,
                                    ledger_events.c.seq > stamped_up_to,
                                    ledger_events.c.type.in_(sorted(STAMPED_EVENT_TYPES)))))
         .order_by(cases.c.updated_at, cases.c.id).limit(limit))
    if case_ids is not None:
        q = q.where(cases.c.id.in_(list(case_ids)))
    return [(r.id, r.ledger_length, r.ledger_head) for r in conn.execute(q)]


def _store(container, case_id: str, seq: int, head: str, token: bytes, url: str) -> bool:
    with container.db.write() as conn:
        # The case row lock serialises sweepers of several processes: one token per head.
        conn.execute(select(cases.c.id).where(cases.c.id == case_id).with_for_update())
        done = conn.execute(select(ledger_timestamps.c.id).where(
            ledger_timestamps.c.case_id == case_id, ledger_timestamps.c.seq >= seq)).first()
        if done is not None:
            return False
        conn.execute(insert(ledger_timestamps).values(
            id=str(uuid.uuid4()), case_id=case_id, seq=seq, head_hash=head, token=token, tsa_url=url,
            created_at=dt.datetime.now(dt.timezone.utc)))
    return True


def timestamp_pending_heads(container, *, stamper: TimeStamper | None = None,
                            case_ids: Iterable[str] | None = None, limit: int = 100,
                            time_budget: float = 10.0) -> int:
    """Timestamps the head of every case with a state-changing event newer than its last token.

    Without a TSA (no `RECOUVRE_TSA_URL` and no `stamper`) it does nothing. At most `limit`
    cases and about `time_budget` seconds per call: the sweeper thread also requeues stuck jobs,
    so a backlog (a TSA newly configured on an old database) is worked off over several sweeps.
    The TSA is called outside any transaction. Answers how many tokens were stored.
    """
    stamper = stamper or stamper_from_environ(container.settings.environ)
    if stamper is None:
        return 0
    with container.db.read() as conn:
        pending = _pending(conn, case_ids, limit)
    stored, deadline = 0, time.monotonic() + time_budget
    for case_id, seq, head in pending:
        if time.monotonic() > deadline:
            break
        imprint = head_imprint(head)
        try:
            token = stamper.stamp(imprint)
            info = read_token(token)
        except (OSError, TokenError, ValueError) as exc:
            # The TSA is down or misbehaving: stop this round, the next sweep retries.
            log.warning("ledger timestamp of case %s (seq %s) failed at %s: %s", case_id, seq, stamper.url, exc)
            break
        if info.hash_algorithm != IMPRINT_ALGORITHM or info.imprint != imprint:
            log.error("the TSA %s answered with a token over another imprint for case %s; not stored",
                      stamper.url, case_id)
            break
        problem, _ = token_signature(token, info, None)
        if problem:
            log.error("the TSA %s answered case %s with a token whose %s; not stored", stamper.url, case_id, problem)
            break
        stored += _store(container, case_id, seq, head, token, stamper.url)
    return stored
