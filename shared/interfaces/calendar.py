from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shared.interfaces.owner import Owner


class BookingError(Exception):
    """A booking could not be claimed or made; `code` is stable, `slot_title` names it."""

    def __init__(self, code: str, *, slot_title: str = "", entry_id: int | None = None):
        super().__init__(code)
        self.code = code
        self.slot_title = slot_title
        self.entry_id = entry_id


class SlotSoldOut(BookingError):
    def __init__(self, *, slot_title: str, entry_id: int | None = None):
        super().__init__("slot_sold_out", slot_title=slot_title, entry_id=entry_id)


class HoldingLimitReached(BookingError):
    """The shopper would hold more than `limit` places of one slot without paying."""

    def __init__(self, *, slot_title: str, limit: int, entry_id: int | None = None):
        super().__init__("holding_limit", slot_title=slot_title, entry_id=entry_id)
        self.limit = limit


@dataclass(frozen=True)
class SlotInfo:
    id: int
    calendar_id: int
    page_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    places: int
    places_taken: int  # ordered + confirmed entries
    price_minor: int
    currency: str

    @property
    def places_left(self) -> int:
        return max(self.places - self.places_taken, 0)


@dataclass(frozen=True)
class EntryInfo:
    """A booking as the cart shows it: one place in one slot."""

    id: int
    slot_id: int
    page_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    price_minor: int
    currency: str
    state: str
    order_id: int | None
    # Places of the slot no order holds (places - ordered - confirmed), as of the read that
    # made this answer; None where that read did not count them.
    places_left: int | None = None

    @property
    def sold_out(self) -> bool:
        """No place is left for this booking to be claimed (its checkout would fail)."""
        return self.places_left is not None and self.places_left <= 0


class CalendarService(Protocol):
    async def pending_entries(
        self, session: AsyncSession, owner: Owner, *, page_id: int | None = None
    ) -> list[EntryInfo]:
        """The owner's bookings in state pending (all pages, or one page's), in one query,
        each with its slot's `places_left`."""
        ...

    async def open_slots(self, session: AsyncSession, page_id: int) -> list[SlotInfo]:
        """A page's calendar slots that start in the future, with their places taken."""
        ...

    async def book_slot(
        self, session: AsyncSession, owner: Owner, slot_id: int, *, max_places: int | None = None
    ) -> EntryInfo:
        """Make a pending entry for the owner (what the events service does).

        With `max_places`: refused with HoldingLimitReached (nothing written) when the owner
        has that many entries of the slot already, pending (in the cart) or ordered (in an
        unpaid order); two bookings of one slot at once are counted one after the other.
        """
        ...

    async def claim_entries_for_order(
        self,
        session: AsyncSession,
        owner: Owner,
        entry_ids: Sequence[int],
        order_id: int,
        *,
        max_places: int | None = None,
    ) -> None:
        """Mark the owner's pending entries `ordered` for the order, all or none.

        Raises SlotSoldOut when a slot has no place left, BookingError("entry_not_pending")
        when an entry is not the owner's pending entry any more, and, given `max_places`,
        HoldingLimitReached (before anything is claimed) when the owner would then hold
        more than that many places of one slot in unpaid orders: the entries claimed now
        plus the owner's entries already `ordered` (confirmed ones are paid for and do not
        count). Claims in one slot are counted one after the other, whatever races. The
        caller's transaction holds the change; on an error the caller rolls it back.
        """
        ...

    async def cancel_pending_entry(
        self, session: AsyncSession, owner: Owner, entry_id: int
    ) -> EntryInfo | None:
        """Cancel the owner's own pending entry (a shopper removing a booking from the cart).

        One conditional UPDATE decides: only an entry of this owner still in state pending
        becomes cancelled, and the answer is it, in state cancelled. Someone else's entry, an
        ordered or confirmed one, an already cancelled one or an unknown id changes nothing
        and answers None. The caller's transaction holds the change and commits it.
        """
        ...

    async def confirm_entries_for_order(self, session: AsyncSession, order_id: int) -> int:
        """Mark the order's `ordered` entries `confirmed`; returns how many."""
        ...

    async def release_entries_for_order(
        self, session: AsyncSession, order_id: int, owner: Owner | None = None
    ) -> int:
        """Give the order's `ordered` entries back to a cart as pending; returns how many.

        To `owner`'s cart when given (the order's owner now: an order adopted at sign-in gives
        its places back to the user, not to the anonymous session it was made in), else to
        the cart of whoever owned each entry.
        """
        ...

    async def entries_for_order(self, session: AsyncSession, order_id: int) -> list[EntryInfo]:
        """The entries the order holds now, whatever their state, by start time, in one
        query (released entries belong to no order any more, so they are not among them)."""
        ...

    async def adopt_session_entries(
        self, session: AsyncSession, *, session_id: str, user_id: int
    ) -> int:
        """Move an anonymous session's pending entries to the user; returns how many."""
        ...
