"""What the SQL calendar does beyond the contract: transactions and stored columns."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.sql_calendar import SqlCalendarService
from shared.interfaces import Owner, SlotSoldOut
from shared.models import CalendarEntry
from tests.contract.calendar_data import ANON_SESSION, entry_for, slot_on_page, stored_entries
from tests.factories import Factory

calendar = SqlCalendarService()


async def test_book_slot_leaves_the_commit_to_the_caller(
    factory: Factory, db: AsyncSession
) -> None:
    slot_id = (await slot_on_page(factory)).id

    await calendar.book_slot(db, Owner(session_id=ANON_SESSION), slot_id)
    await db.rollback()

    assert await db.scalar(select(func.count()).select_from(CalendarEntry)) == 0


async def test_a_failed_claim_has_claimed_nothing_even_before_the_caller_rolls_back(
    factory: Factory, db: AsyncSession
) -> None:
    me = Owner(session_id=ANON_SESSION)
    roomy = await slot_on_page(factory, places=5)
    full = await slot_on_page(factory, places=0)
    roomy_entry = await entry_for(factory, me, slot_id=roomy.id)
    full_entry = await entry_for(factory, me, slot_id=full.id)
    # Entries are claimed in id order: the roomy one is claimed first, then handed back.
    assert roomy_entry < full_entry

    with pytest.raises(SlotSoldOut):
        await calendar.claim_entries_for_order(db, me, [roomy_entry, full_entry], 77)
    # In the same transaction, as a caller that forgot to roll back would see it.
    stored = await stored_entries(db, roomy_entry, full_entry)
    await db.commit()

    assert {(entry.state, entry.order_id) for entry in stored.values()} == {("pending", None)}


async def test_adopted_entries_no_longer_carry_the_anonymous_session_id(
    factory: Factory, db: AsyncSession
) -> None:
    user = await factory.user()
    entry = await entry_for(
        factory, Owner(session_id=ANON_SESSION), slot_id=(await slot_on_page(factory)).id
    )

    await calendar.adopt_session_entries(db, session_id=ANON_SESSION, user_id=user.id)
    await db.commit()

    stored = (await stored_entries(db, entry))[entry]
    assert (stored.user_id, stored.session_id) == (user.id, None)
