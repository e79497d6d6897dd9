from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delivery import EVENT_TYPES, MailingEvent, MailingState, dedupe_key, derive_status

PARIS = ZoneInfo("Europe/Paris")


def ev(type_, day, hour=10, *, id=None, source="laposte", month=3):
    return MailingEvent(type_, datetime(2026, month, day, hour, tzinfo=PARIS), id, source)


def test_no_events_is_created():
    assert derive_status([]) == MailingState(
        status="created",
        effective_date=None,
        first_presented_at=None,
        delivered_at=None,
        returned_reason=None,
        address_invalid=False,
        awaiting_receipt=False,
    )


def test_deposited_awaits_receipt():
    state = derive_status([ev("deposited", 2)])
    assert (state.status, state.awaiting_receipt, state.effective_date) == ("deposited", True, None)
    assert state.deposited_at == datetime(2026, 3, 2, 10, tzinfo=PARIS)


def test_presented_awaits_receipt_and_already_has_its_date():
    state = derive_status([ev("deposited", 2), ev("first_presented", 3)])
    assert (state.status, state.awaiting_receipt, state.effective_date) == (
        "presented",
        True,
        date(2026, 3, 3),
    )


def test_delivered_at_first_presentation():
    state = derive_status([ev("deposited", 2), ev("delivered", 3)])
    assert state.status == "delivered"
    assert state.effective_date == date(2026, 3, 3)
    assert state.first_presented_at is None and state.delivered_at == datetime(
        2026, 3, 3, 10, tzinfo=PARIS
    )
    assert not state.awaiting_receipt


def test_delivered_at_the_counter_counts_from_the_first_presentation():
    state = derive_status([ev("deposited", 2), ev("first_presented", 3), ev("delivered", 9)])
    assert state.status == "delivered"
    assert state.effective_date == date(2026, 3, 3)
    assert state.delivered_at.date() == date(2026, 3, 9)


def test_unclaimed_counts_from_the_first_presentation():
    """Cass. 1re civ., 20 janv. 2021: an avisé non réclamé letter still puts in default."""
    state = derive_status(
        [ev("deposited", 2), ev("first_presented", 3), ev("unclaimed", 18), ev("returned", 20)]
    )
    assert state.status == "unclaimed"
    assert state.effective_date == date(2026, 3, 3)
    assert state.returned_reason == "unclaimed"
    assert state.returned_at.date() == date(2026, 3, 20)
    assert not state.awaiting_receipt and not state.address_invalid


def test_unclaimed_not_yet_returned_has_no_return_reason():
    state = derive_status([ev("first_presented", 3), ev("unclaimed", 18)])
    assert (state.status, state.returned_reason) == ("unclaimed", None)


def test_return_after_presentation_without_reason_is_unclaimed():
    state = derive_status([ev("deposited", 2), ev("first_presented", 3), ev("returned", 20)])
    assert (state.status, state.returned_reason, state.effective_date) == (
        "unclaimed",
        "unclaimed",
        date(2026, 3, 3),
    )


def test_refused_keeps_its_reason_when_returned():
    state = derive_status([ev("deposited", 2), ev("refused", 3), ev("returned", 6)])
    assert (state.status, state.returned_reason, state.effective_date) == (
        "refused",
        "refused",
        date(2026, 3, 3),
    )


def test_refused_at_the_counter_counts_from_the_first_presentation():
    state = derive_status([ev("first_presented", 3), ev("refused", 10)])
    assert state.effective_date == date(2026, 3, 3)


def test_npai_has_no_effective_date_and_flags_the_address():
    state = derive_status([ev("deposited", 2), ev("addressee_unknown", 3), ev("returned", 5)])
    assert state.status == "addressee_unknown"
    assert state.effective_date is None
    assert state.address_invalid and not state.awaiting_receipt
    assert state.returned_reason == "addressee_unknown"


def test_bare_return_without_presentation():
    state = derive_status([ev("deposited", 2), ev("returned", 9)])
    assert (state.status, state.returned_reason, state.effective_date) == ("returned", None, None)
    assert not state.awaiting_receipt


def test_presentation_without_deposit_event_is_still_presented():
    assert derive_status([ev("first_presented", 3)]).status == "presented"


def test_signed_receipt_beats_a_conflicting_outcome():
    state = derive_status([ev("first_presented", 3), ev("unclaimed", 18), ev("delivered", 5)])
    assert state.status == "delivered"


class TestParisDate:
    def test_late_evening_utc_is_the_next_day_in_paris_winter(self):
        at = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # 00:30 CET on 5 March
        assert derive_status([MailingEvent("first_presented", at)]).effective_date == date(
            2026, 3, 5
        )

    def test_late_evening_utc_in_summer(self):
        at = datetime(2026, 7, 6, 22, 30, tzinfo=UTC)  # 00:30 CEST on 7 July
        assert derive_status([MailingEvent("delivered", at)]).effective_date == date(2026, 7, 7)

    def test_just_before_midnight_in_paris_stays_that_day(self):
        at = datetime(2026, 3, 4, 22, 59, tzinfo=UTC)
        assert derive_status([MailingEvent("first_presented", at)]).effective_date == date(
            2026, 3, 4
        )

    def test_earliest_presentation_wins_across_offsets(self):
        state = derive_status(
            [
                MailingEvent("first_presented", datetime(2026, 3, 5, 8, tzinfo=PARIS)),
                MailingEvent(
                    "first_presented",
                    datetime(2026, 3, 4, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
                ),
            ]
        )
        assert state.effective_date == date(2026, 3, 5)
        assert state.first_presented_at == datetime(2026, 3, 5, 4, 30, tzinfo=UTC)


class TestDuplicates:
    def test_same_id_counted_once_even_with_another_time(self):
        state = derive_status([ev("first_presented", 3, id="x"), ev("first_presented", 4, id="x")])
        assert len(state.events) == 1
        assert state.first_presented_at.day == 3

    def test_same_type_and_instant_from_two_sources_counted_once(self):
        state = derive_status([ev("delivered", 5, id="hook-1"), ev("delivered", 5, source="csv")])
        assert len(state.events) == 1

    def test_same_instant_in_another_offset_is_the_same_event(self):
        a = MailingEvent("delivered", datetime(2026, 3, 5, 10, tzinfo=PARIS))
        b = MailingEvent("delivered", datetime(2026, 3, 5, 9, tzinfo=UTC))
        assert len(derive_status([a, b]).events) == 1
        assert dedupe_key(a) == dedupe_key(b)

    def test_dedupe_key_prefers_the_provider_id(self):
        assert dedupe_key(ev("delivered", 5, id="p1")) == dedupe_key(ev("returned", 9, id="p1"))
        assert dedupe_key(ev("delivered", 5)) != dedupe_key(ev("returned", 5))


class TestValidation:
    def test_naive_time_is_rejected(self):
        with pytest.raises(ValueError):
            MailingEvent("delivered", datetime(2026, 3, 5, 10))

    def test_unknown_type_is_rejected(self):
        with pytest.raises(ValueError):
            MailingEvent("lost", datetime(2026, 3, 5, 10, tzinfo=PARIS))


instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2026, 12, 31),
    timezones=st.sampled_from([PARIS, UTC, timezone(timedelta(hours=-4))]),
)
events = st.builds(
    MailingEvent,
    type=st.sampled_from(EVENT_TYPES),
    at=instants,
    id=st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    source=st.sampled_from(["laposte", "csv"]),
)


@given(st.lists(events, max_size=8).flatmap(lambda xs: st.tuples(st.just(xs), st.permutations(xs))))
def test_any_order_gives_the_same_state(pair):
    original, shuffled = pair
    assert derive_status(shuffled) == derive_status(original)


@given(st.lists(events, min_size=1, max_size=8), st.data())
def test_repeating_events_changes_nothing(batch, data):
    repeats = data.draw(st.lists(st.sampled_from(batch), max_size=5))
    assert derive_status(batch + repeats) == derive_status(batch)


@given(st.lists(events, max_size=8))
def test_state_invariants(batch):
    state = derive_status(batch)
    assert state.awaiting_receipt == (state.status in ("deposited", "presented"))
    assert state.address_invalid == (state.status == "addressee_unknown")
    if state.status in ("delivered", "refused", "presented"):
        assert state.effective_date is not None
    if state.status in ("created", "deposited", "returned", "addressee_unknown"):
        assert state.effective_date is None
    if state.first_presented_at is not None and state.status != "addressee_unknown":
        assert state.effective_date <= state.first_presented_at.astimezone(PARIS).date()
