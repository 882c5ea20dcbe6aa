"""Helpers of the event delivery tests: committed outbox events and recording subscribers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import OutboxEvent, emit_event
from shared.events.dispatcher import DeliveryTargets
from shared.events.subscribers import DeliveredEvent, Subscribers


async def emit_committed(
    sessionmaker: async_sessionmaker[AsyncSession],
    aggregate_id: str,
    *event_types: str,
    payload: dict[str, object] | None = None,
) -> list[str]:
    """Events of one aggregate, committed in the given order; their event ids."""
    async with sessionmaker() as session:
        events = [
            emit_event(
                session,
                event_type,
                {"order_ref": aggregate_id, **(payload or {})},
                aggregate_id=aggregate_id,
            )
            for event_type in event_types
        ]
        await session.commit()
        return [event.event_id for event in events]


class Recorder:
    """A subscriber that keeps what it was given; `failing` makes it raise for those types."""

    def __init__(self, *, failing: set[str] | None = None, error: str = "subscriber down") -> None:
        self.received: list[DeliveredEvent] = []
        self.failing = failing or set()
        self.error = error

    async def __call__(self, event: DeliveredEvent) -> None:
        if event.type in self.failing or event.aggregate_id in self.failing:
            raise RuntimeError(self.error)
        self.received.append(event)

    @property
    def event_ids(self) -> list[str]:
        return [event.event_id for event in self.received]

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.received]


def targets_with(recorder: Recorder, event_type: str = "*") -> DeliveryTargets:
    subscribers = Subscribers()
    subscribers.subscribe(event_type, recorder)
    return DeliveryTargets(subscribers=subscribers)


async def outbox_row(session: AsyncSession, event_id: str) -> OutboxEvent:
    row = await session.scalar(
        select(OutboxEvent)
        .where(OutboxEvent.event_id == event_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def naive_utc(moment: datetime | None) -> datetime | None:
    """Timestamps compared whatever the database (SQLite gives them back without a zone)."""
    return None if moment is None else moment.replace(tzinfo=None)
