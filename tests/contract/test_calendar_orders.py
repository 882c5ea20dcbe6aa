"""CalendarService contract: claiming bookings for an order, confirming, releasing, adopting."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import BookingError, CalendarService, Owner, SlotSoldOut
from tests.contract.calendar_data import (
    ANON_SESSION,
    OTHER_SESSION,
    StoredEntry,
    entry_for,
    slot_on_page,
    stored_entries,
)
from tests.factories import Factory


async def test_claim_marks_the_owners_entries_ordered_and_takes_their_places(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user = await factory.user()
    me = Owner(user_id=user.id)
    page_id = (await factory.page()).id
    slot = await slot_on_page(factory, page_id=page_id, places=3)
    first = await entry_for(factory, me, slot_id=slot.id)
    second = await entry_for(factory, me, slot_id=slot.id)
    untouched = await entry_for(factory, me, slot_id=slot.id)

    await calendar.claim_entries_for_order(db, me, [first, second], 41)
    await db.commit()

    assert await stored_entries(db, first, second, untouched) == {
        first: StoredEntry("ordered", 41, user.id, None),
        second: StoredEntry("ordered", 41, user.id, None),
        untouched: StoredEntry("pending", None, user.id, None),
    }
    assert [entry.id for entry in await calendar.pending_entries(db, me)] == [untouched]
    [open_slot] = await calendar.open_slots(db, page_id)
    assert (open_slot.places_taken, open_slot.places_left) == (2, 1)


async def test_claim_by_an_anonymous_session_and_the_same_id_twice_counts_once(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    anon = Owner(session_id=ANON_SESSION)
    slot = await slot_on_page(factory, places=1)
    entry = await entry_for(factory, anon, slot_id=slot.id)

    await calendar.claim_entries_for_order(db, anon, [entry, entry], 5)
    await db.commit()

    assert (await stored_entries(db, entry))[entry].state == "ordered"


async def test_claim_of_nothing_changes_nothing(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    anon = Owner(session_id=ANON_SESSION)
    entry = await entry_for(factory, anon, slot_id=(await slot_on_page(factory)).id)

    await calendar.claim_entries_for_order(db, anon, [], 5)
    await db.commit()

    assert (await stored_entries(db, entry))[entry].state == "pending"


@pytest.mark.parametrize("bad", ["unknown", "already_ordered", "cancelled"])
async def test_claim_is_all_or_none_when_one_entry_is_not_pending(
    calendar: CalendarService, factory: Factory, db: AsyncSession, bad: str
) -> None:
    anon = Owner(session_id=ANON_SESSION)
    slot = await slot_on_page(factory)
    good = await entry_for(factory, anon, slot_id=slot.id)
    if bad == "unknown":
        bad_id = good + 1000
    elif bad == "already_ordered":
        bad_id = await entry_for(factory, anon, slot_id=slot.id, state="ordered", order_id=4)
    else:
        bad_id = await entry_for(factory, anon, slot_id=slot.id, state="cancelled")

    with pytest.raises(BookingError) as refused:
        await calendar.claim_entries_for_order(db, anon, [good, bad_id], 9)
    await db.rollback()

    assert (refused.value.code, refused.value.entry_id) == ("entry_not_pending", bad_id)
    assert (await stored_entries(db, good))[good] == StoredEntry(
        "pending", None, None, ANON_SESSION
    )
    assert [entry.id for entry in await calendar.pending_entries(db, anon)] == [good]


@pytest.mark.parametrize("thief", ["other_user", "other_session", "session_of_a_users_entry"])
async def test_claim_of_another_shoppers_entry_is_refused(
    calendar: CalendarService, factory: Factory, db: AsyncSession, thief: str
) -> None:
    user, other_user = await factory.user(), await factory.user()
    owner = Owner(user_id=user.id)
    if thief == "other_user":
        claimer = Owner(user_id=other_user.id)
    elif thief == "other_session":
        owner, claimer = Owner(session_id=ANON_SESSION), Owner(session_id=OTHER_SESSION)
    else:
        # The entry was booked in this browser and since adopted by a user: the anonymous
        # session may not claim it any more.
        owner = Owner(user_id=user.id, session_id=ANON_SESSION)
        claimer = Owner(session_id=ANON_SESSION)
    slot = await slot_on_page(factory)
    entry = await entry_for(factory, owner, slot_id=slot.id)

    with pytest.raises(BookingError) as refused:
        await calendar.claim_entries_for_order(db, claimer, [entry], 12)
    await db.rollback()

    assert (refused.value.code, refused.value.entry_id) == ("entry_not_pending", entry)
    stored = (await stored_entries(db, entry))[entry]
    assert (stored.state, stored.order_id, stored.user_id) == ("pending", None, owner.user_id)


async def test_claim_on_a_full_slot_is_refused_naming_the_slot_and_claims_nothing(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    me, someone = Owner(session_id=ANON_SESSION), Owner(session_id=OTHER_SESSION)
    roomy = await slot_on_page(factory, places=5)
    full = await slot_on_page(factory, places=2, title="Sunday choir")
    await entry_for(factory, someone, slot_id=full.id, state="ordered", order_id=1)
    await entry_for(factory, someone, slot_id=full.id, state="confirmed", order_id=2)
    roomy_entry = await entry_for(factory, me, slot_id=roomy.id)
    full_entry = await entry_for(factory, me, slot_id=full.id)

    with pytest.raises(SlotSoldOut) as sold_out:
        await calendar.claim_entries_for_order(db, me, [roomy_entry, full_entry], 3)
    await db.rollback()

    assert sold_out.value.code == "slot_sold_out"
    assert (sold_out.value.slot_title, sold_out.value.entry_id) == ("Sunday choir", full_entry)
    stored = await stored_entries(db, roomy_entry, full_entry)
    assert {entry.state for entry in stored.values()} == {"pending"}


async def test_claims_fill_a_slot_to_its_places_and_no_further(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    slot = await slot_on_page(factory, places=2, title="Two seats")
    shoppers = [Owner(session_id=f"shopper-{n}-xxxxxxxxxxxxxx") for n in range(3)]
    entries = [await entry_for(factory, shopper, slot_id=slot.id) for shopper in shoppers]

    for order_id, (shopper, entry) in enumerate(zip(shoppers[:2], entries[:2], strict=True)):
        await calendar.claim_entries_for_order(db, shopper, [entry], order_id + 1)
        await db.commit()
    with pytest.raises(SlotSoldOut) as sold_out:
        await calendar.claim_entries_for_order(db, shoppers[2], [entries[2]], 3)
    await db.rollback()

    assert sold_out.value.slot_title == "Two seats"
    stored = await stored_entries(db, *entries)
    assert [stored[entry].state for entry in entries] == ["ordered", "ordered", "pending"]


async def test_confirm_marks_the_orders_ordered_entries_confirmed_once(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    me = Owner(session_id=ANON_SESSION)
    slot = await slot_on_page(factory)
    ours = [await entry_for(factory, me, slot_id=slot.id) for _ in range(2)]
    other_order = await entry_for(factory, me, slot_id=slot.id, state="ordered", order_id=8)
    await calendar.claim_entries_for_order(db, me, ours, 7)
    await db.commit()

    confirmed = await calendar.confirm_entries_for_order(db, 7)
    await db.commit()
    again = await calendar.confirm_entries_for_order(db, 7)
    await db.commit()

    assert (confirmed, again) == (2, 0)
    stored = await stored_entries(db, *ours, other_order)
    assert [stored[entry].state for entry in ours] == ["confirmed", "confirmed"]
    assert stored[other_order] == StoredEntry("ordered", 8, None, me.session_id)


async def test_release_gives_ordered_entries_back_to_the_cart_but_not_confirmed_ones(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user = await factory.user()
    me = Owner(user_id=user.id)
    slot = await slot_on_page(factory)
    entry = await entry_for(factory, me, slot_id=slot.id)
    paid = await entry_for(factory, me, slot_id=slot.id)
    await calendar.claim_entries_for_order(db, me, [paid], 21)
    await calendar.claim_entries_for_order(db, me, [entry], 22)
    await db.commit()
    assert await calendar.confirm_entries_for_order(db, 21) == 1
    await db.commit()

    released = await calendar.release_entries_for_order(db, 22)
    not_released = await calendar.release_entries_for_order(db, 21)
    await db.commit()

    assert (released, not_released) == (1, 0)
    stored = await stored_entries(db, entry, paid)
    assert stored[entry] == StoredEntry("pending", None, user.id, None)
    assert stored[paid] == StoredEntry("confirmed", 21, user.id, None)
    back_in_cart = await calendar.pending_entries(db, me)
    assert [(e.id, e.state, e.order_id) for e in back_in_cart] == [(entry, "pending", None)]
    # Released, it can be claimed again by a new order.
    await calendar.claim_entries_for_order(db, me, [entry], 23)
    await db.commit()
    assert (await stored_entries(db, entry))[entry].order_id == 23


async def test_release_to_an_owner_gives_an_adopted_orders_places_to_the_user(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user = await factory.user()
    anon = Owner(session_id=ANON_SESSION)
    slot = await slot_on_page(factory)
    entry = await entry_for(factory, anon, slot_id=slot.id)
    await calendar.claim_entries_for_order(db, anon, [entry], 24)
    await db.commit()

    # The order was adopted at sign-in: its owner is the user now.
    released = await calendar.release_entries_for_order(
        db, 24, Owner(user_id=user.id, session_id=ANON_SESSION)
    )
    await db.commit()

    assert released == 1
    me = Owner(user_id=user.id)
    assert [e.id for e in await calendar.pending_entries(db, me)] == [entry]
    assert await calendar.pending_entries(db, anon) == []


async def test_adopt_moves_the_sessions_pending_entries_to_the_user_once(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user, other_user = await factory.user(), await factory.user()
    anon, other_anon = Owner(session_id=ANON_SESSION), Owner(session_id=OTHER_SESSION)
    slot = await slot_on_page(factory)
    adopted = [await entry_for(factory, anon, slot_id=slot.id) for _ in range(2)]
    in_an_order = await entry_for(factory, anon, slot_id=slot.id, state="ordered", order_id=2)
    other_session = await entry_for(factory, other_anon, slot_id=slot.id)
    already_owned = await entry_for(
        factory, Owner(user_id=other_user.id, session_id=ANON_SESSION), slot_id=slot.id
    )

    count = await calendar.adopt_session_entries(db, session_id=ANON_SESSION, user_id=user.id)
    await db.commit()
    again = await calendar.adopt_session_entries(db, session_id=ANON_SESSION, user_id=user.id)
    await db.commit()

    assert (count, again) == (2, 0)
    me = Owner(user_id=user.id)
    assert [entry.id for entry in await calendar.pending_entries(db, me)] == adopted
    assert await calendar.pending_entries(db, anon) == []
    assert [e.id for e in await calendar.pending_entries(db, other_anon)] == [other_session]
    stored = await stored_entries(db, in_an_order, already_owned)
    assert (stored[in_an_order].state, stored[in_an_order].user_id) == ("ordered", None)
    assert stored[already_owned].user_id == other_user.id
    # Adopted entries are the user's to check out now.
    await calendar.claim_entries_for_order(db, me, adopted, 30)
    await db.commit()
    assert {entry.state for entry in (await stored_entries(db, *adopted)).values()} == {"ordered"}
