"""services.calendar over the shared events tables: calendars, calendar_slots, calendar_entries.

A slot is never overfilled: ordered + confirmed entries <= places. Pending entries (a booking
sitting in a cart) hold no place; the place is taken when an order claims the entry, and that
claim is decided by the database (see `claim_entries_for_order`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.interfaces import BookingError, EntryInfo, Owner, SlotInfo, SlotSoldOut
from shared.interfaces.calendar import HoldingLimitReached
from shared.models import Calendar, CalendarEntry, CalendarSlot, EntryState, utcnow
from shared.statements import belongs_to, belongs_to_owner_param, fetch_all, owner_params

# The states in which an entry holds one of its slot's places.
_HOLDS_A_PLACE = (EntryState.ORDERED, EntryState.CONFIRMED)


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they are stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _owned_by(owner: Owner) -> ColumnElement[bool]:
    """Entries of this owner (shared/statements.py says whose)."""
    return belongs_to(CalendarEntry, user_id=owner.user_id, session_id=owner.session_id)


if TYPE_CHECKING:
    # Rows and selects of any columns: SQLAlchemy 2.1 types them by their column tuple
    # (for the type checker only; 2.0's classes take one type argument at run time).
    _AnyRow = Row[*tuple[Any, ...]]
    _AnySelect = Select[*tuple[Any, ...]]

# Plain columns rather than ORM rows: the answers never come from rows this session loaded
# earlier, which the conditional UPDATEs below (synchronize_session=False) leave as they were.
_SLOT_COLUMNS = (
    CalendarSlot.id.label("slot_id"),
    CalendarSlot.calendar_id,
    Calendar.page_id,
    CalendarSlot.title,
    CalendarSlot.starts_at,
    CalendarSlot.ends_at,
    CalendarSlot.places,
    CalendarSlot.price_minor,
    CalendarSlot.currency,
)


def _places_taken() -> ColumnElement[int]:
    # A correlated count per slot, answered from the (slot_id, state) index, rather than a
    # grouped count over every slot's entries. Aliased, so that it also counts correctly
    # inside a query on the entries themselves.
    holder = aliased(CalendarEntry)
    return (
        select(func.count())
        .select_from(holder)
        .where(holder.slot_id == CalendarSlot.id, holder.state.in_(_HOLDS_A_PLACE))
        .correlate(CalendarSlot)
        .scalar_subquery()
        .label("places_taken")
    )


def _slots_with_places_taken() -> _AnySelect:
    return select(*_SLOT_COLUMNS, _places_taken()).join(
        Calendar, Calendar.id == CalendarSlot.calendar_id
    )


def _slot_info(row: _AnyRow) -> SlotInfo:
    return SlotInfo(
        id=row.slot_id,
        calendar_id=row.calendar_id,
        page_id=row.page_id,
        title=row.title,
        starts_at=_aware(row.starts_at),
        ends_at=_aware(row.ends_at),
        places=row.places,
        places_taken=row.places_taken,
        price_minor=row.price_minor,
        currency=row.currency,
    )


def _entry_info(
    slot: _AnyRow,
    *,
    entry_id: int,
    state: str,
    order_id: int | None = None,
    places_left: int | None = None,
) -> EntryInfo:
    return EntryInfo(
        id=entry_id,
        slot_id=slot.slot_id,
        page_id=slot.page_id,
        title=slot.title,
        starts_at=_aware(slot.starts_at),
        ends_at=_aware(slot.ends_at),
        price_minor=slot.price_minor,
        currency=slot.currency,
        state=state,
        order_id=order_id,
        places_left=places_left,
    )


@cache
def _pending_entries_query(*, signed_in: bool, one_page: bool) -> _AnySelect:
    """The owner's pending entries with their slots, oldest slot first; built once (the
    cart page's hot read: shared/statements.py)."""
    query = (
        select(
            CalendarEntry.id.label("entry_id"),
            CalendarEntry.state,
            CalendarEntry.order_id,
            *_SLOT_COLUMNS,
            # In the same query, so that the cart can say "sold out" at no extra cost.
            _places_taken(),
        )
        .join(CalendarSlot, CalendarSlot.id == CalendarEntry.slot_id)
        .join(Calendar, Calendar.id == CalendarSlot.calendar_id)
        .where(
            CalendarEntry.state == EntryState.PENDING,
            belongs_to_owner_param(CalendarEntry, signed_in=signed_in),
        )
        .order_by(CalendarSlot.starts_at, CalendarEntry.id)
    )
    if one_page:
        query = query.where(Calendar.page_id == bindparam("page_id"))
    return query


async def _lock_slots(session: AsyncSession, slot_ids: Sequence[int] | Select[Any]) -> list[int]:
    """Lock the slots (FOR UPDATE, in id order: two lockers cannot deadlock); their ids."""
    return list(
        await session.scalars(
            select(CalendarSlot.id)
            .where(CalendarSlot.id.in_(slot_ids))
            .order_by(CalendarSlot.id)
            .with_for_update()
        )
    )


async def _refuse_over_limit(
    session: AsyncSession,
    owner: Owner,
    wanted: Sequence[int],
    slot_ids: Sequence[int],
    max_places: int,
) -> None:
    """HoldingLimitReached for the first slot (by id) in which the owner would hold more
    than `max_places` places without paying: the entries this claim takes plus the owner's
    entries already ordered (held by unpaid orders)."""
    claimed_now = and_(CalendarEntry.id.in_(wanted), CalendarEntry.state == EntryState.PENDING)
    over = (
        await session.execute(
            select(CalendarSlot.title)
            .join(CalendarEntry, CalendarEntry.slot_id == CalendarSlot.id)
            .where(
                CalendarSlot.id.in_(slot_ids),
                _owned_by(owner),
                or_(claimed_now, CalendarEntry.state == EntryState.ORDERED),
            )
            .group_by(CalendarSlot.id, CalendarSlot.title)
            .having(func.count(CalendarEntry.id) > max_places)
            .order_by(CalendarSlot.id)
            .limit(1)
        )
    ).first()
    if over is not None:
        raise HoldingLimitReached(slot_title=over.title, limit=max_places)


class SqlCalendarService:
    async def pending_entries(
        self, session: AsyncSession, owner: Owner, *, page_id: int | None = None
    ) -> list[EntryInfo]:
        query = _pending_entries_query(signed_in=owner.signed_in, one_page=page_id is not None)
        rows = await fetch_all(session, query, {**owner_params(owner), "page_id": page_id})
        return [
            _entry_info(
                row,
                entry_id=row.entry_id,
                state=row.state,
                order_id=row.order_id,
                places_left=max(row.places - row.places_taken, 0),
            )
            for row in rows
        ]

    async def open_slots(self, session: AsyncSession, page_id: int) -> list[SlotInfo]:
        rows = await session.execute(
            _slots_with_places_taken()
            .where(Calendar.page_id == page_id, CalendarSlot.starts_at > utcnow())
            .order_by(CalendarSlot.starts_at, CalendarSlot.id)
        )
        return [_slot_info(row) for row in rows]

    async def book_slot(
        self, session: AsyncSession, owner: Owner, slot_id: int, *, max_places: int | None = None
    ) -> EntryInfo:
        if max_places is not None:
            # One booking of the slot at a time (and none while a checkout claims in it), so
            # that two bookings at once by one shopper are counted one after the other.
            await _lock_slots(session, [slot_id])
        slot = (
            await session.execute(
                _slots_with_places_taken().where(
                    CalendarSlot.id == slot_id, CalendarSlot.starts_at > utcnow()
                )
            )
        ).first()
        if slot is None:
            raise BookingError("slot_unknown")
        # A pending entry holds no place, so this check can race; that is fine, because the
        # claim at checkout is what the database guards. It only spares a shopper a booking
        # that could never be checked out.
        if slot.places_taken >= slot.places:
            raise SlotSoldOut(slot_title=slot.title)
        if max_places is not None:
            in_cart_or_unpaid = await session.scalar(
                select(func.count())
                .select_from(CalendarEntry)
                .where(
                    CalendarEntry.slot_id == slot_id,
                    CalendarEntry.state.in_((EntryState.PENDING, EntryState.ORDERED)),
                    _owned_by(owner),
                )
            )
            if (in_cart_or_unpaid or 0) >= max_places:
                raise HoldingLimitReached(slot_title=slot.title, limit=max_places)
        entry = CalendarEntry(
            slot_id=slot.slot_id,
            user_id=owner.user_id,
            session_id=None if owner.signed_in else owner.session_id,
            state=EntryState.PENDING,
        )
        session.add(entry)
        await session.flush()
        return _entry_info(
            slot,
            entry_id=entry.id,
            state=EntryState.PENDING,
            places_left=max(slot.places - slot.places_taken, 0),
        )

    async def claim_entries_for_order(
        self,
        session: AsyncSession,
        owner: Owner,
        entry_ids: Sequence[int],
        order_id: int,
        *,
        max_places: int | None = None,
    ) -> None:
        wanted = sorted(set(entry_ids))
        if not wanted:
            return

        # Lock the slots involved, in id order so that two claims sharing slots cannot
        # deadlock. Every claim of a place takes its slot's lock first, so under READ
        # COMMITTED the counts below (each UPDATE takes a fresh snapshot, after the lock)
        # include every claim committed before ours, and no other claim on these slots can
        # commit until we do. On SQLite FOR UPDATE renders as nothing: there the database
        # has one writer at a time, so each conditional UPDATE below is atomic and, once
        # the first one has taken the write lock, no other transaction writes until ours ends.
        slot_ids = await _lock_slots(
            session, select(CalendarEntry.slot_id).where(CalendarEntry.id.in_(wanted))
        )
        if max_places is not None:
            # Counted under the slots' locks, so it includes every claim committed before.
            await _refuse_over_limit(session, owner, wanted, slot_ids, max_places)

        known = set(
            await session.scalars(select(CalendarEntry.id).where(CalendarEntry.id.in_(wanted)))
        )
        for entry_id in wanted:
            if entry_id not in known:
                raise BookingError("entry_not_pending", entry_id=entry_id)

        claimed: list[int] = []
        try:
            # Entries in id order, the order adoption locks them in too, so a claim and an
            # adoption of the same shopper's entries cannot deadlock.
            for entry_id in wanted:
                if not await self._claim_one(session, owner, entry_id, order_id):
                    raise await self._why_not_claimed(session, owner, entry_id)
                claimed.append(entry_id)
        except BookingError:
            # All or none even if the caller forgot to roll back: hand back what we took.
            # Our UPDATEs hold these rows' locks, so nobody else has touched them since.
            if claimed:
                await session.execute(
                    update(CalendarEntry)
                    .where(CalendarEntry.id.in_(claimed), CalendarEntry.order_id == order_id)
                    .values(state=EntryState.PENDING, order_id=None)
                    .execution_options(synchronize_session=False)
                )
            raise

    async def _claim_one(
        self, session: AsyncSession, owner: Owner, entry_id: int, order_id: int
    ) -> bool:
        """One conditional UPDATE: the owner's pending entry, while its slot has a place."""
        holder = aliased(CalendarEntry)
        taken = (
            select(func.count())
            .select_from(holder)
            .where(holder.slot_id == CalendarEntry.slot_id, holder.state.in_(_HOLDS_A_PLACE))
            .scalar_subquery()
        )
        places = (
            select(CalendarSlot.places)
            .where(CalendarSlot.id == CalendarEntry.slot_id)
            .scalar_subquery()
        )
        result = await session.execute(
            update(CalendarEntry)
            .where(
                CalendarEntry.id == entry_id,
                CalendarEntry.state == EntryState.PENDING,
                _owned_by(owner),
                taken < places,
            )
            .values(state=EntryState.ORDERED, order_id=order_id)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def _why_not_claimed(
        self, session: AsyncSession, owner: Owner, entry_id: int
    ) -> BookingError:
        row = (
            await session.execute(
                select(CalendarSlot.title, CalendarEntry.state == EntryState.PENDING)
                .join(CalendarSlot, CalendarSlot.id == CalendarEntry.slot_id)
                .where(CalendarEntry.id == entry_id, _owned_by(owner))
            )
        ).first()
        if row is None or not row[1]:
            return BookingError("entry_not_pending", entry_id=entry_id)
        return SlotSoldOut(slot_title=row[0], entry_id=entry_id)

    async def cancel_pending_entry(
        self, session: AsyncSession, owner: Owner, entry_id: int
    ) -> EntryInfo | None:
        # The one write, and the decision: a racing claim (checkout) or a second removal
        # waits for this row's lock, then re-checks the conditions and finds it no longer
        # pending. A pending entry holds no place, so no slot lock is needed: cancelling one
        # never changes what a claim counts.
        cancelled = (
            await session.execute(
                update(CalendarEntry)
                .where(
                    CalendarEntry.id == entry_id,
                    CalendarEntry.state == EntryState.PENDING,
                    _owned_by(owner),
                )
                .values(state=EntryState.CANCELLED)
                .returning(CalendarEntry.slot_id)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one_or_none()
        if cancelled is None:
            return None
        slot = (
            await session.execute(
                select(*_SLOT_COLUMNS)
                .join(Calendar, Calendar.id == CalendarSlot.calendar_id)
                .where(CalendarSlot.id == cancelled)
            )
        ).one()
        return _entry_info(slot, entry_id=entry_id, state=EntryState.CANCELLED)

    async def confirm_entries_for_order(self, session: AsyncSession, order_id: int) -> int:
        result = await session.execute(
            update(CalendarEntry)
            .where(CalendarEntry.order_id == order_id, CalendarEntry.state == EntryState.ORDERED)
            .values(state=EntryState.CONFIRMED)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined, no-any-return]

    async def release_entries_for_order(
        self, session: AsyncSession, order_id: int, owner: Owner | None = None
    ) -> int:
        new_owner = {} if owner is None or owner.user_id is None else {"user_id": owner.user_id}
        result = await session.execute(
            update(CalendarEntry)
            .where(CalendarEntry.order_id == order_id, CalendarEntry.state == EntryState.ORDERED)
            .values(state=EntryState.PENDING, order_id=None, **new_owner)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined, no-any-return]

    async def entries_for_order(self, session: AsyncSession, order_id: int) -> list[EntryInfo]:
        rows = await session.execute(
            select(CalendarEntry.id.label("entry_id"), CalendarEntry.state, *_SLOT_COLUMNS)
            .join(CalendarSlot, CalendarSlot.id == CalendarEntry.slot_id)
            .join(Calendar, Calendar.id == CalendarSlot.calendar_id)
            .where(CalendarEntry.order_id == order_id)
            .order_by(CalendarSlot.starts_at, CalendarEntry.id)
        )
        return [
            _entry_info(row, entry_id=row.entry_id, state=row.state, order_id=order_id)
            for row in rows
        ]

    async def adopt_session_entries(
        self, session: AsyncSession, *, session_id: str, user_id: int
    ) -> int:
        adoptable = (
            CalendarEntry.session_id == session_id,
            CalendarEntry.user_id.is_(None),
            CalendarEntry.state == EntryState.PENDING,
        )
        # The conditions make racing calls adopt each entry once: the loser's UPDATE re-reads
        # a row after the winner commits, and it no longer matches. The rows are locked in
        # id order (the sub-select's FOR UPDATE; nothing on SQLite, which has one writer), as
        # a claim takes them, so an adoption racing a checkout of the same entries waits
        # instead of deadlocking.
        # session_id is cleared: the anonymous id is retired once adopted (identity.py drops
        # it after adoption), so it must not keep pointing at a signed-in user's bookings.
        locked_in_id_order = (
            select(CalendarEntry.id).where(*adoptable).order_by(CalendarEntry.id).with_for_update()
        )
        result = await session.execute(
            update(CalendarEntry)
            .where(CalendarEntry.id.in_(locked_in_id_order), *adoptable)
            .values(user_id=user_id, session_id=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined, no-any-return]
