"""CalendarService contract: the bookings an order holds (what the order page shows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import CalendarService, Owner
from tests.contract.calendar_data import ANON_SESSION, OTHER_SESSION, entry_for, slot_on_page
from tests.factories import Factory

EARLY = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
LATE = datetime(2030, 3, 8, 9, 0, tzinfo=UTC)


async def test_entries_for_order_lists_its_entries_in_any_state_by_start_time(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    me, someone = Owner(session_id=ANON_SESSION), Owner(session_id=OTHER_SESSION)
    page_id = (await factory.page()).id
    late = await slot_on_page(
        factory, page_id=page_id, title="Pottery", starts_at=LATE, price_minor=2000
    )
    early = await slot_on_page(
        factory,
        page_id=page_id,
        title="Weaving",
        starts_at=EARLY,
        ends_at=EARLY + timedelta(hours=2),
        price_minor=1200,
    )
    confirmed = await entry_for(factory, me, slot_id=late.id, state="confirmed", order_id=7)
    ordered = await entry_for(factory, me, slot_id=early.id, state="ordered", order_id=7)
    cancelled = await entry_for(factory, me, slot_id=late.id, state="cancelled", order_id=7)
    await entry_for(factory, someone, slot_id=early.id, state="ordered", order_id=8)
    await entry_for(factory, me, slot_id=early.id)  # pending in the cart: no order

    entries = await calendar.entries_for_order(db, 7)

    assert [(e.id, e.title, e.state, e.order_id) for e in entries] == [
        (ordered, "Weaving", "ordered", 7),
        (confirmed, "Pottery", "confirmed", 7),
        (cancelled, "Pottery", "cancelled", 7),
    ]
    first = entries[0]
    assert (first.slot_id, first.page_id, first.price_minor, first.currency) == (
        early.id,
        page_id,
        1200,
        "GBP",
    )
    assert (first.starts_at, first.ends_at) == (EARLY, EARLY + timedelta(hours=2))


async def test_entries_for_order_leaves_out_released_entries_and_knows_no_unknown_order(
    calendar: CalendarService, factory: Factory, db: AsyncSession
) -> None:
    me = Owner(session_id=ANON_SESSION)
    slot = await slot_on_page(factory)
    kept = await entry_for(factory, me, slot_id=slot.id, state="confirmed", order_id=3)
    await entry_for(factory, me, slot_id=slot.id, state="ordered", order_id=4)

    assert await calendar.release_entries_for_order(db, 4) == 1
    await db.commit()

    assert await calendar.entries_for_order(db, 4) == []
    assert [entry.id for entry in await calendar.entries_for_order(db, 3)] == [kept]
    assert await calendar.entries_for_order(db, 999) == []
