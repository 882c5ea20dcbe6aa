"""What an operator sees of and does to delivery: the backlog, parked events, replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.claims import as_utc
from shared.events.outbox import OutboxEvent


@dataclass(frozen=True)
class ParkedEvent:
    id: int
    event_id: str
    type: str
    aggregate_id: str
    attempts: int
    parked_at: datetime
    last_error: str | None


@dataclass(frozen=True)
class Backlog:
    undelivered: int  # parked ones included
    parked: int


async def delivery_backlog(session: AsyncSession) -> Backlog:
    row = (
        await session.execute(
            select(func.count(), func.count(OutboxEvent.parked_at)).where(
                OutboxEvent.delivered_at.is_(None)
            )
        )
    ).one()
    return Backlog(undelivered=row[0], parked=row[1])


async def parked_events(session: AsyncSession, *, limit: int = 200) -> list[ParkedEvent]:
    rows = await session.execute(
        select(
            OutboxEvent.id,
            OutboxEvent.event_id,
            OutboxEvent.event_type,
            OutboxEvent.aggregate_id,
            OutboxEvent.attempts,
            OutboxEvent.parked_at,
            OutboxEvent.last_error,
        )
        .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.parked_at.is_not(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return [
        ParkedEvent(
            id=row.id,
            event_id=row.event_id,
            type=row.event_type,
            aggregate_id=row.aggregate_id,
            attempts=row.attempts,
            parked_at=as_utc(row.parked_at),
            last_error=row.last_error,
        )
        for row in rows
    ]


async def replay_parked(session: AsyncSession, *, which: str | None) -> list[int]:
    """Un-park one event (its id or event_id) or, with None, all: due now, attempts from 0.

    Returns the ids replayed (empty: no such parked event). The last error stays for the
    record until the next attempt replaces or clears it.
    """
    condition: list[ColumnElement[bool]] = [
        OutboxEvent.parked_at.is_not(None),
        OutboxEvent.delivered_at.is_(None),
    ]
    if which is not None:
        condition.append(_identified_by(which))
    result = await session.execute(
        update(OutboxEvent)
        .where(*condition)
        .values(parked_at=None, attempts=0, next_attempt_at=None, locked_until=None)
        .returning(OutboxEvent.id)
        .execution_options(synchronize_session=False)
    )
    replayed = sorted(result.scalars())
    await session.commit()
    return replayed


def _identified_by(which: str) -> ColumnElement[bool]:
    """An outbox id (digits) or an event_id (a UUID); anything else is refused here, so no
    odd text (a NUL, a number too big for the column) ever reaches the database."""
    if which.isdecimal() and len(which) <= 9:
        return OutboxEvent.id == int(which)
    try:
        return OutboxEvent.event_id == str(uuid.UUID(which))
    except ValueError:
        raise ValueError(f"{which!r} is neither an event number nor an event id") from None
