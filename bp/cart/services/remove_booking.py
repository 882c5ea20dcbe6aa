"""Remove one of the shopper's own bookings from the cart: its calendar entry is cancelled.

A booking in a cart is a pending calendar entry, which the events domain owns, so the
removal goes through services.calendar; the calendar's one conditional UPDATE decides, so a
removal racing a checkout of the same booking either cancels it before the claim (which
then refuses) or finds it ordered and changes nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.errors import CartError
from shared.interfaces import EntryInfo, Owner
from shared.registry import services


async def remove_booking(session: AsyncSession, *, owner: Owner | None, entry_id: int) -> EntryInfo:
    """Cancel the owner's pending booking and commit; the cancelled booking, to name it.

    `CartError("booking_unknown")` (nothing changed) for someone else's booking, one that is
    part of an order, one already removed, or an unknown id.
    """
    if owner is None:  # a visitor who never added anything has no bookings
        raise CartError("booking_unknown")
    cancelled = await services.calendar.cancel_pending_entry(session, owner, entry_id)
    if cancelled is None:
        raise CartError("booking_unknown")
    await session.commit()
    return cancelled
