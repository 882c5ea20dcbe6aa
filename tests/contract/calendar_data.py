"""Shared-database side of the calendar contract: make slots, read back what was stored."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces import Owner
from shared.models import CalendarEntry, CalendarSlot
from tests.factories import Factory

ANON_SESSION = "anon-session-aaaaaaaaaaaa"
OTHER_SESSION = "anon-session-bbbbbbbbbbbb"


@dataclass(frozen=True)
class StoredEntry:
    state: str
    order_id: int | None
    user_id: int | None
    session_id: str | None


async def slot_on_page(factory: Factory, *, page_id: int | None = None, **fields) -> CalendarSlot:  # type: ignore[no-untyped-def]
    """A slot in a calendar of the page (a new page when none is given)."""
    if page_id is None:
        page_id = (await factory.page()).id
    calendar = await factory.calendar(page_id=page_id)
    return await factory.slot(calendar_id=calendar.id, **fields)


async def entry_for(factory: Factory, owner: Owner, *, slot_id: int, **fields) -> int:  # type: ignore[no-untyped-def]
    entry = await factory.entry(
        slot_id=slot_id, user_id=owner.user_id, session_id=owner.session_id, **fields
    )
    return entry.id


async def stored_entries(db: AsyncSession, *entry_ids: int) -> dict[int, StoredEntry]:
    """The entries as the database holds them now (columns, not the session's cached rows)."""
    rows = await db.execute(
        select(
            CalendarEntry.id,
            CalendarEntry.state,
            CalendarEntry.order_id,
            CalendarEntry.user_id,
            CalendarEntry.session_id,
        ).where(CalendarEntry.id.in_(entry_ids))
    )
    return {
        row.id: StoredEntry(row.state, row.order_id, row.user_id, row.session_id) for row in rows
    }
