"""What happened to a registered letter, derived from an unordered pile of events."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal, get_args
from zoneinfo import ZoneInfo

__all__ = [
    "EVENT_TYPES",
    "EventType",
    "MailingEvent",
    "MailingState",
    "MailingStatus",
    "dedupe_key",
    "derive_status",
]

PARIS = ZoneInfo("Europe/Paris")

EventType = Literal[
    "deposited",
    "first_presented",
    "delivered",
    "unclaimed",
    "refused",
    "addressee_unknown",
    "returned",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
MailingStatus = Literal[
    "created",
    "deposited",
    "presented",
    "delivered",
    "unclaimed",
    "refused",
    "addressee_unknown",
    "returned",
]

# When sources disagree on the outcome, the strongest evidence of receipt wins:
# a signed AR beats a refusal, which beats a non-claim, which beats NPAI.
_OUTCOME_PRECEDENCE = ("delivered", "refused", "unclaimed", "addressee_unknown")
# Events the addressee was physically offered the letter at: the legal clock starts
# at the earliest of them (refusal happens on presentation).
_OFFERED = ("first_presented", "delivered", "refused")


@dataclass(frozen=True)
class MailingEvent:
    type: str
    at: datetime
    id: str | None = None
    source: str = "manual"

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown mailing event type {self.type!r}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("mailing event time must be timezone-aware")


@dataclass(frozen=True)
class MailingState:
    status: str
    effective_date: date | None
    first_presented_at: datetime | None
    delivered_at: datetime | None
    returned_reason: str | None
    address_invalid: bool
    awaiting_receipt: bool
    deposited_at: datetime | None = None
    returned_at: datetime | None = None
    events: tuple[MailingEvent, ...] = ()


def dedupe_key(event: MailingEvent) -> Hashable:
    """Identity of an event across sources: the provider's id, else its type and instant.

    `derive_status` also merges events that share type and instant under different
    ids (the same La Poste scan imported from a webhook and from a clerk's CSV).
    """
    if event.id is not None:
        return ("id", event.id)
    # In UTC, so that 10:12+01:00 and 09:12Z give one key, in repr() as in ==.
    return ("at", event.type, event.at.astimezone(timezone.utc))


def _sort_key(event: MailingEvent) -> tuple:
    return (
        event.at,
        EVENT_TYPES.index(event.type),
        event.id or "",
        event.source,
        event.at.isoformat(),
    )


def _unique(events: Iterable[MailingEvent]) -> tuple[MailingEvent, ...]:
    # Choose representatives by a total order, never by arrival, so that any
    # permutation of the same input gives the same state.
    by_id: dict[Hashable, MailingEvent] = {}
    for event in events:
        key = dedupe_key(event)
        if key not in by_id or _sort_key(event) < _sort_key(by_id[key]):
            by_id[key] = event
    by_instant: dict[tuple, MailingEvent] = {}
    for event in by_id.values():
        key = (event.type, event.at)
        if key not in by_instant or _sort_key(event) < _sort_key(by_instant[key]):
            by_instant[key] = event
    return tuple(sorted(by_instant.values(), key=_sort_key))


def derive_status(events: Iterable[MailingEvent]) -> MailingState:
    """Fold events (any order, duplicates allowed) into the letter's legal state.

    `effective_date` is the Paris date on which the letter was first offered to the
    addressee: the first presentation (avis de passage), else the delivery or the
    refusal, which happen on presentation. A letter "avisé non réclamé" therefore
    counts from its first presentation (Cass. 1re civ., 20 janv. 2021, n° 19-20.680).
    An NPAI letter was never offered: no effective date. A "returned" event only
    says the letter came back; when it follows a presentation and nothing else is
    known, the letter is taken as unclaimed, which is how La Poste returns an avisé
    letter nobody collected.
    """
    unique = _unique(events)
    earliest: dict[str, datetime] = {}
    for event in unique:  # sorted, so the first seen is the earliest
        earliest.setdefault(event.type, event.at)

    outcome = next((t for t in _OUTCOME_PRECEDENCE if t in earliest), None)
    returned_at = earliest.get("returned")
    if outcome is None and returned_at is not None and "first_presented" in earliest:
        outcome = "unclaimed"

    if outcome is not None:
        status = outcome
    elif returned_at is not None:
        status = "returned"
    elif "first_presented" in earliest:
        status = "presented"
    elif "deposited" in earliest:
        status = "deposited"
    else:
        status = "created"

    offered = [earliest[t] for t in _OFFERED if t in earliest]
    effective = (
        min(offered).astimezone(PARIS).date() if offered and status != "addressee_unknown" else None
    )
    return MailingState(
        status=status,
        effective_date=effective,
        first_presented_at=earliest.get("first_presented"),
        delivered_at=earliest.get("delivered"),
        returned_reason=outcome if returned_at is not None and outcome != "delivered" else None,
        address_invalid=status == "addressee_unknown",
        awaiting_receipt=status in ("deposited", "presented"),
        deposited_at=earliest.get("deposited"),
        returned_at=returned_at,
        events=unique,
    )
