"""Registered-mail jobs: packets built ahead of printing; passed deadlines announced once each."""
from delivery import service as mail
from documents import paris_today

from .._execute import JobContext, handler
from .._queue import periodic


@handler("mailing.packet", lease_seconds=120)
def build_packet(ctx: JobContext) -> dict:
    """Archives the packet under a key naming the tracking number; a rerun finds it and stops."""
    with ctx.container.db.read() as conn:
        _, key = mail.packet_pdf(conn, ctx.container, ctx.job.tenant_id, ctx.payload["mailing_id"])
    return {"archive_key": key}


@periodic
def announce_passed_deadlines(container) -> None:
    mail.scan_deadlines(container.db, paris_today())
