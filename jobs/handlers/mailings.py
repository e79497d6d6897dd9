"""Registered-mail jobs: packets built ahead of printing; passed deadlines announced once each."""
from casefiles.errors import InvalidInput
from delivery import service as mail
from documents import paris_today

from .._execute import JobContext, PermanentError, handler
from .._queue import periodic


@handler("mailing.packet", lease_seconds=120)
def build_packet(ctx: JobContext) -> dict:
    """Archives the packet under a key naming the tracking number; a rerun finds it and stops.

    An address that cannot be laid out (or a stored tracking number the parser now refuses)
    is a permanent failure: retrying cannot change the case.
    """
    try:
        _, key = mail.packet_pdf(ctx.container, ctx.job.tenant_id, ctx.payload["mailing_id"])
    except InvalidInput as exc:     # packet_pdf turns address and tracking-number faults into this
        raise PermanentError(exc.detail, step="packet",
                             errors=[{"pointer": e.pointer, "detail": e.message} for e in exc.errors]) from None
    return {"archive_key": key}


@periodic
def announce_passed_deadlines(container) -> None:
    mail.scan_deadlines(container.db, paris_today())
