"""CalendarService contract: what a shopper has booked, what can be booked, and booking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import BookingError, CalendarService, Owner, SlotSoldOut
from tests.conftest import QueryCounter
from tests.contract.calendar_data import (
    ANON_SESSION,
    OTHER_SESSION,
    entry_for,
    slot_on_page,
    stored_entries,
)
from tests.factories import Factory


async def test_pending_entries_of_a_user_are_theirs_alone_and_pending_only(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user, someone_else = await factory.user(), await factory.user()
    me = Owner(user_id=user.id)
    page_id = (await factory.page()).id
    slot = await slot_on_page(
        factory, page_id=page_id, title="Pottery", price_minor=1800, currency="EUR"
    )
    mine = await entry_for(factory, me, slot_id=slot.id)
    await entry_for(factory, me, slot_id=slot.id, state="ordered", order_id=7)
    await entry_for(factory, me, slot_id=slot.id, state="confirmed", order_id=6)
    await entry_for(factory, me, slot_id=slot.id, state="cancelled")
    await entry_for(factory, Owner(user_id=someone_else.id), slot_id=slot.id)
    await entry_for(factory, Owner(session_id=ANON_SESSION), slot_id=slot.id)

    entries = await calendar.pending_entries(db, me)

    assert [entry.id for entry in entries] == [mine]
    entry = entries[0]
    assert (entry.slot_id, entry.page_id) == (slot.id, page_id)
    assert (entry.title, entry.price_minor, entry.currency) == ("Pottery", 1800, "EUR")
    assert entry.starts_at == slot.starts_at and entry.ends_at == slot.ends_at
    assert (entry.state, entry.order_id) == ("pending", None)


async def test_pending_entries_of_an_anonymous_session_leave_out_adopted_and_other_sessions(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user = await factory.user()
    anon = Owner(session_id=ANON_SESSION)
    slot = await slot_on_page(factory)
    mine = await entry_for(factory, anon, slot_id=slot.id)
    # Same session id, but a user has adopted it: no longer the anonymous session's.
    adopted = await entry_for(
        factory, Owner(user_id=user.id, session_id=ANON_SESSION), slot_id=slot.id
    )
    await entry_for(factory, Owner(session_id=OTHER_SESSION), slot_id=slot.id)

    entries = await calendar.pending_entries(db, anon)

    assert [entry.id for entry in entries] == [mine]
    users_entries = await calendar.pending_entries(db, Owner(user_id=user.id))
    assert [entry.id for entry in users_entries] == [adopted]


async def test_pending_entries_filtered_by_page_and_ordered_by_slot_start_then_id(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    me = Owner(session_id=ANON_SESSION)
    page_id, other_page_id = (await factory.page()).id, (await factory.page()).id
    soon = datetime.now(UTC) + timedelta(days=1)
    later = await slot_on_page(factory, page_id=page_id, starts_at=soon + timedelta(days=3))
    sooner = await slot_on_page(factory, page_id=page_id, starts_at=soon)
    elsewhere = await slot_on_page(factory, page_id=other_page_id, starts_at=soon)
    later_entry = await entry_for(factory, me, slot_id=later.id)
    sooner_first = await entry_for(factory, me, slot_id=sooner.id)
    sooner_second = await entry_for(factory, me, slot_id=sooner.id)
    elsewhere_entry = await entry_for(factory, me, slot_id=elsewhere.id)

    on_page = await calendar.pending_entries(db, me, page_id=page_id)
    everywhere = await calendar.pending_entries(db, me)

    assert [entry.id for entry in on_page] == [sooner_first, sooner_second, later_entry]
    assert {entry.page_id for entry in on_page} == {page_id}
    assert sorted(entry.id for entry in everywhere) == sorted(
        [sooner_first, sooner_second, later_entry, elsewhere_entry]
    )
    assert [entry.starts_at for entry in everywhere] == sorted(e.starts_at for e in everywhere)
    assert await calendar.pending_entries(db, me, page_id=(await factory.page()).id) == []


async def test_pending_entries_is_one_query(
    calendar: CalendarService, factory: Factory, db: AsyncSession, query_counter: QueryCounter
) -> None:
    me = Owner(session_id=ANON_SESSION)
    for _ in range(3):
        slot = await slot_on_page(factory)
        await entry_for(factory, me, slot_id=slot.id)
    query_counter.reset()

    entries = await calendar.pending_entries(db, me)

    assert len(entries) == 3
    assert query_counter.count == 1


async def test_open_slots_are_the_pages_future_slots_with_ordered_and_confirmed_places_taken(
    calendar: CalendarService, factory: Factory, db: AsyncSession, query_counter: QueryCounter
) -> None:
    page_id = (await factory.page()).id
    now = datetime.now(UTC)
    second = await slot_on_page(factory, page_id=page_id, starts_at=now + timedelta(days=2))
    first = await slot_on_page(
        factory, page_id=page_id, starts_at=now + timedelta(days=1), places=4, title="Weaving"
    )
    await slot_on_page(factory, page_id=page_id, starts_at=now - timedelta(hours=1))
    await slot_on_page(factory, starts_at=now + timedelta(days=1))  # another page's
    anon = Owner(session_id=ANON_SESSION)
    for state in ("ordered", "confirmed", "confirmed", "pending", "cancelled"):
        await entry_for(factory, anon, slot_id=first.id, state=state)
    query_counter.reset()

    slots = await calendar.open_slots(db, page_id)

    assert query_counter.count == 1
    assert [slot.id for slot in slots] == [first.id, second.id]
    weaving = slots[0]
    assert (weaving.title, weaving.places, weaving.places_taken, weaving.places_left) == (
        "Weaving",
        4,
        3,
        1,
    )
    assert (weaving.page_id, weaving.calendar_id) == (page_id, first.calendar_id)
    assert (weaving.price_minor, weaving.currency) == (first.price_minor, first.currency)
    assert weaving.starts_at == first.starts_at and weaving.ends_at == first.ends_at
    assert slots[1].places_taken == 0


async def test_book_slot_makes_a_pending_entry_for_a_user_and_for_an_anonymous_session(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user = await factory.user()
    slot = await slot_on_page(factory, title="Bread baking", price_minor=2500)
    slot_id = slot.id

    for owner in (Owner(user_id=user.id), Owner(session_id=ANON_SESSION)):
        booked = await calendar.book_slot(db, owner, slot_id)
        await db.commit()

        assert (booked.slot_id, booked.title, booked.price_minor) == (
            slot_id,
            "Bread baking",
            2500,
        )
        assert (booked.state, booked.order_id) == ("pending", None)
        assert [entry.id for entry in await calendar.pending_entries(db, owner)] == [booked.id]
        stored = (await stored_entries(db, booked.id))[booked.id]
        assert (stored.state, stored.user_id) == ("pending", owner.user_id)


@pytest.mark.parametrize("when", ["unknown", "past"])
async def test_book_slot_refuses_an_unknown_or_past_slot(
    calendar: CalendarService, factory: Factory, db: AsyncSession, when: str
) -> None:
    past = await slot_on_page(factory, starts_at=datetime.now(UTC) - timedelta(minutes=5))
    slot_id = past.id if when == "past" else past.id + 1000

    with pytest.raises(BookingError) as refused:
        await calendar.book_slot(db, Owner(session_id=ANON_SESSION), slot_id)

    assert refused.value.code == "slot_unknown"
    await db.rollback()
    assert await calendar.pending_entries(db, Owner(session_id=ANON_SESSION)) == []


async def test_book_slot_refuses_a_full_slot_but_pending_bookings_hold_no_place(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    someone = Owner(session_id=OTHER_SESSION)
    me = Owner(session_id=ANON_SESSION)
    full = await slot_on_page(factory, places=1, title="Full house")
    await entry_for(factory, someone, slot_id=full.id, state="confirmed", order_id=3)
    popular = await slot_on_page(factory, places=1)
    await entry_for(factory, someone, slot_id=popular.id)  # pending: holds no place
    full_id, popular_id = full.id, popular.id

    with pytest.raises(SlotSoldOut) as sold_out:
        await calendar.book_slot(db, me, full_id)
    assert (sold_out.value.code, sold_out.value.slot_title) == ("slot_sold_out", "Full house")
    await db.rollback()

    booked = await calendar.book_slot(db, me, popular_id)
    await db.commit()
    assert [entry.id for entry in await calendar.pending_entries(db, me)] == [booked.id]
