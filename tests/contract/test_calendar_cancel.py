"""CalendarService contract: a shopper removes a booking from the cart, and the cart can tell
which of its bookings can no longer be had (no place left in the slot)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import CalendarService, Owner
from tests.conftest import QueryCounter
from tests.contract.calendar_data import (
    ANON_SESSION,
    OTHER_SESSION,
    StoredEntry,
    entry_for,
    slot_on_page,
    stored_entries,
)
from tests.factories import Factory


@pytest.mark.parametrize("who", ["user", "anonymous"])
async def test_cancel_pending_entry_cancels_the_owners_own_booking_and_no_other(
    calendar: CalendarService, factory: Factory, db: AsyncSession, who: str
) -> None:
    me = (
        Owner(user_id=(await factory.user()).id)
        if who == "user"
        else Owner(session_id=ANON_SESSION)
    )
    page_id = (await factory.page()).id
    slot = await slot_on_page(
        factory, page_id=page_id, title="Pottery", price_minor=1800, currency="EUR"
    )
    slot_id, starts_at, ends_at = slot.id, slot.starts_at, slot.ends_at
    removed = await entry_for(factory, me, slot_id=slot_id)
    kept = await entry_for(factory, me, slot_id=slot_id)

    cancelled = await calendar.cancel_pending_entry(db, me, removed)
    await db.commit()

    assert cancelled is not None
    assert (cancelled.id, cancelled.slot_id, cancelled.page_id) == (removed, slot_id, page_id)
    assert (cancelled.title, cancelled.price_minor, cancelled.currency) == ("Pottery", 1800, "EUR")
    assert (cancelled.starts_at, cancelled.ends_at) == (starts_at, ends_at)
    assert (cancelled.state, cancelled.order_id) == ("cancelled", None)
    stored = await stored_entries(db, removed, kept)
    assert (stored[removed].state, stored[kept].state) == ("cancelled", "pending")
    assert [entry.id for entry in await calendar.pending_entries(db, me)] == [kept]


async def test_cancel_of_another_shoppers_booking_answers_none_and_changes_nothing(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user, someone = await factory.user(), await factory.user()
    me_signed_in, me_anonymous = Owner(user_id=user.id), Owner(session_id=ANON_SESSION)
    slot_id = (await slot_on_page(factory)).id
    users_entry = await entry_for(factory, Owner(user_id=someone.id), slot_id=slot_id)
    sessions_entry = await entry_for(factory, Owner(session_id=OTHER_SESSION), slot_id=slot_id)
    anonymous_entry = await entry_for(factory, me_anonymous, slot_id=slot_id)
    # The anonymous id a user has adopted no longer reaches the user's booking.
    adopted = await entry_for(
        factory, Owner(user_id=user.id, session_id=ANON_SESSION), slot_id=slot_id
    )
    all_ids = (users_entry, sessions_entry, anonymous_entry, adopted)
    before = await stored_entries(db, *all_ids)

    attempts = [
        (me_signed_in, users_entry),
        (me_signed_in, sessions_entry),
        (me_signed_in, anonymous_entry),  # signed in, but that one is the session's
        (me_anonymous, users_entry),
        (me_anonymous, sessions_entry),
        (me_anonymous, adopted),
    ]
    for owner, entry_id in attempts:
        assert await calendar.cancel_pending_entry(db, owner, entry_id) is None, (owner, entry_id)
    await db.commit()

    assert await stored_entries(db, *all_ids) == before


@pytest.mark.parametrize(
    ("state", "order_id"), [("ordered", 7), ("confirmed", 7), ("cancelled", None)]
)
async def test_cancel_of_a_booking_that_is_not_pending_answers_none_and_changes_nothing(
    calendar: CalendarService, factory: Factory, db: AsyncSession, state: str, order_id: int | None
) -> None:
    me = Owner(session_id=ANON_SESSION)
    slot_id = (await slot_on_page(factory)).id
    entry_id = await entry_for(factory, me, slot_id=slot_id, state=state, order_id=order_id)

    assert await calendar.cancel_pending_entry(db, me, entry_id) is None
    await db.commit()

    stored = (await stored_entries(db, entry_id))[entry_id]
    assert (stored.state, stored.order_id) == (state, order_id)


async def test_cancel_of_an_unknown_id_or_twice_answers_none(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    me = Owner(session_id=ANON_SESSION)
    slot_id = (await slot_on_page(factory)).id
    entry_id = await entry_for(factory, me, slot_id=slot_id)

    assert await calendar.cancel_pending_entry(db, me, entry_id + 1000) is None
    assert await calendar.cancel_pending_entry(db, me, entry_id) is not None
    assert await calendar.cancel_pending_entry(db, me, entry_id) is None
    await db.commit()

    assert await stored_entries(db, entry_id) == {
        entry_id: StoredEntry("cancelled", None, None, ANON_SESSION)
    }


async def test_pending_entries_say_how_many_places_are_left_and_whether_sold_out(
    calendar: CalendarService, factory: Factory, db: AsyncSession, query_counter: QueryCounter
) -> None:
    me, others = Owner(session_id=ANON_SESSION), Owner(session_id=OTHER_SESSION)
    full = await slot_on_page(factory, places=2, title="Full")
    await entry_for(factory, others, slot_id=full.id, state="ordered", order_id=3)
    await entry_for(factory, others, slot_id=full.id, state="confirmed", order_id=4)
    roomy = await slot_on_page(factory, places=3, title="Roomy")
    await entry_for(factory, others, slot_id=roomy.id, state="confirmed", order_id=5)
    # Pending and cancelled entries hold no place.
    await entry_for(factory, others, slot_id=roomy.id)
    await entry_for(factory, others, slot_id=roomy.id, state="cancelled")
    mine_in_full = await entry_for(factory, me, slot_id=full.id)
    mine_in_roomy = await entry_for(factory, me, slot_id=roomy.id)
    query_counter.reset()

    entries = {entry.id: entry for entry in await calendar.pending_entries(db, me)}

    assert query_counter.count == 1
    assert (entries[mine_in_full].places_left, entries[mine_in_full].sold_out) == (0, True)
    assert (entries[mine_in_roomy].places_left, entries[mine_in_roomy].sold_out) == (2, False)


async def test_a_slot_overfilled_by_hand_is_sold_out_with_no_places_left(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    """An operator may lower a slot's places below what is taken: none left, not fewer."""
    me, others = Owner(session_id=ANON_SESSION), Owner(session_id=OTHER_SESSION)
    slot_id = (await slot_on_page(factory, places=1)).id
    for order_id in (1, 2):
        await entry_for(factory, others, slot_id=slot_id, state="confirmed", order_id=order_id)
    await entry_for(factory, me, slot_id=slot_id)

    [entry] = await calendar.pending_entries(db, me)

    assert (entry.places_left, entry.sold_out) == (0, True)


async def test_book_slot_says_how_many_places_are_left(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    slot_id = (await slot_on_page(factory, places=4)).id
    await entry_for(factory, Owner(session_id=OTHER_SESSION), slot_id=slot_id, state="ordered")

    booked = await calendar.book_slot(db, Owner(session_id=ANON_SESSION), slot_id)

    assert (booked.places_left, booked.sold_out) == (3, False)
