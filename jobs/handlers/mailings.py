"""Periodic duty: announce passed payment deadlines (`deadline.reached` webhooks), once each."""
from delivery import service as mail
from documents import paris_today

from .._queue import periodic


@periodic
def announce_passed_deadlines(container) -> None:
    mail.scan_deadlines(container.db, paris_today())
