"""CalendarService contract: how many places of one slot one shopper may hold without paying.

`claim_entries_for_order(..., max_places=N)` counts, in each slot, the entries it claims
plus the owner's entries already ordered (held by unpaid orders); more than N refuses the
whole claim with HoldingLimitReached before anything is claimed. `book_slot(...,
max_places=N)` refuses a booking when the owner has N of the slot in the cart or ordered.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import CalendarService, Owner
from shared.interfaces.calendar import HoldingLimitReached
from shared.models import CalendarEntry
from tests.contract.calendar_data import (
    ANON_SESSION,
    OTHER_SESSION,
    entry_for,
    slot_on_page,
    stored_entries,
)
from tests.factories import Factory

ANON = Owner(session_id=ANON_SESSION)
OTHER = Owner(session_id=OTHER_SESSION)


async def _entries(factory: Factory, owner: Owner, slot_id: int, count: int, **fields) -> list[int]:  # type: ignore[no-untyped-def]
    return [await entry_for(factory, owner, slot_id=slot_id, **fields) for _ in range(count)]


async def _states(db: AsyncSession, *entry_ids: int) -> list[tuple[str, int | None]]:
    stored = await stored_entries(db, *entry_ids)
    return [(stored[entry_id].state, stored[entry_id].order_id) for entry_id in entry_ids]


async def test_claim_up_to_the_limit_counting_what_the_owner_holds_already_takes_the_places(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    slot = await slot_on_page(factory, places=20, title="Pottery")
    held = await _entries(factory, ANON, slot.id, 2, state="ordered", order_id=7)
    wanted = await _entries(factory, ANON, slot.id, 2)

    await calendar.claim_entries_for_order(db, ANON, wanted, 8, max_places=4)
    await db.commit()

    assert await _states(db, *held, *wanted) == [("ordered", 7)] * 2 + [("ordered", 8)] * 2


async def test_claim_beyond_the_limit_is_refused_naming_the_slot_and_claims_nothing(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    page_id = (await factory.page()).id
    within = await slot_on_page(factory, page_id=page_id, places=20, title="Glazing")
    beyond = await slot_on_page(factory, page_id=page_id, places=20, title="Pottery")
    await _entries(factory, ANON, beyond.id, 3, state="ordered", order_id=7)
    wanted = [
        *await _entries(factory, ANON, within.id, 1),
        *await _entries(factory, ANON, beyond.id, 2),
    ]

    with pytest.raises(HoldingLimitReached) as refused:
        await calendar.claim_entries_for_order(db, ANON, wanted, 8, max_places=4)
    await db.commit()  # even a caller that forgets to roll back stores nothing

    assert (refused.value.code, refused.value.slot_title, refused.value.limit) == (
        "holding_limit",
        "Pottery",
        4,
    )
    assert await _states(db, *wanted) == [("pending", None)] * 3


async def test_a_single_claim_of_more_places_than_the_limit_is_refused(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    slot = await slot_on_page(factory, places=20, title="Pottery")
    wanted = await _entries(factory, ANON, slot.id, 5)

    with pytest.raises(HoldingLimitReached):
        await calendar.claim_entries_for_order(db, ANON, wanted, 8, max_places=4)
    await calendar.claim_entries_for_order(db, ANON, wanted[:4], 8, max_places=4)
    await db.commit()

    assert await _states(db, *wanted) == [("ordered", 8)] * 4 + [("pending", None)]


async def test_paid_places_other_shoppers_places_and_released_places_do_not_count(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    slot = await slot_on_page(factory, places=30, title="Pottery")
    await _entries(factory, ANON, slot.id, 4, state="confirmed", order_id=3)  # paid for
    await _entries(factory, OTHER, slot.id, 4, state="ordered", order_id=5)  # someone else's
    released = await _entries(factory, ANON, slot.id, 4, state="ordered", order_id=6)
    # Order 6 expires or is given up: its places come back to the cart as pending.
    assert await calendar.release_entries_for_order(db, 6) == 4
    await db.commit()

    await calendar.claim_entries_for_order(db, ANON, released, 9, max_places=4)
    await db.commit()

    assert await _states(db, *released) == [("ordered", 9)] * 4


async def test_a_signed_in_users_places_count_by_user_whatever_session_booked_them(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    user = Owner(user_id=(await factory.user()).id)
    slot = await slot_on_page(factory, places=20, title="Pottery")
    await _entries(factory, user, slot.id, 3, state="ordered", order_id=7)
    wanted = await _entries(factory, user, slot.id, 2)

    with pytest.raises(HoldingLimitReached):
        await calendar.claim_entries_for_order(db, user, wanted, 8, max_places=4)
    # Another shopper's limit is their own.
    theirs = await _entries(factory, ANON, slot.id, 4)
    await calendar.claim_entries_for_order(db, ANON, theirs, 9, max_places=4)


async def test_without_a_limit_a_claim_takes_any_number_of_places(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    slot = await slot_on_page(factory, places=20)
    wanted = await _entries(factory, ANON, slot.id, 6)

    await calendar.claim_entries_for_order(db, ANON, wanted, 8)

    assert await _states(db, *wanted) == [("ordered", 8)] * 6


async def _count_in_slot(db: AsyncSession, slot_id: int) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(CalendarEntry).where(CalendarEntry.slot_id == slot_id)
        )
        or 0
    )


async def test_booking_with_a_limit_refuses_once_the_cart_and_unpaid_orders_hold_that_many(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    slot = await slot_on_page(factory, places=20, title="Pottery")
    await _entries(factory, ANON, slot.id, 2)  # in the cart
    await _entries(factory, ANON, slot.id, 1, state="ordered", order_id=7)  # unpaid order
    await _entries(factory, ANON, slot.id, 3, state="confirmed", order_id=3)  # paid: not counted
    await _entries(factory, ANON, slot.id, 2, state="cancelled")  # removed: not counted

    fourth = await calendar.book_slot(db, ANON, slot.id, max_places=4)
    await db.commit()
    with pytest.raises(HoldingLimitReached) as refused:
        await calendar.book_slot(db, ANON, slot.id, max_places=4)
    await db.commit()

    assert fourth.state == "pending"
    assert (refused.value.slot_title, refused.value.limit) == ("Pottery", 4)
    assert await _count_in_slot(db, slot.id) == 9
    # Another shopper may still book, and without a limit anyone may.
    await calendar.book_slot(db, OTHER, slot.id, max_places=4)
    await calendar.book_slot(db, ANON, slot.id)
    await db.commit()
    assert await _count_in_slot(db, slot.id) == 11
