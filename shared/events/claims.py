"""Claiming outbox events for delivery and recording how each delivery ended.

A claim takes a batch of due events under a lease and commits at once: delivery (subscribers,
Redis) happens after, outside any locking transaction. A dispatcher that dies mid-delivery
leaves its events leased; when the lease runs out they are claimable again, so every event
is delivered at least once, each time with the same event_id.

Order per aggregate (order): only the earliest undelivered event of an aggregate is ever
claimable, so an order's events go out one after another in emission order. A parked
event, being undelivered, holds its order's later events back until an operator replays it.

Several dispatchers at once: on PostgreSQL the batch is selected FOR UPDATE SKIP LOCKED,
so concurrent claims take disjoint rows without waiting, and the lease keeps a claimed
event away from the others once committed. SQLite has one writer: the single UPDATE that
claims is atomic there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import ColumnElement, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.events.outbox import OutboxEvent
from shared.events.subscribers import DeliveredEvent

ERROR_LENGTH = 500  # outbox_events.last_error


@dataclass(frozen=True)
class DispatchPolicy:
    batch_size: int = 50
    # Longer than any delivery may take (deliveries time out at half of it), so a live
    # dispatcher never loses the lease of an event it is still delivering.
    lease: timedelta = timedelta(seconds=60)
    # With the backoff below, 10 attempts retry for about 40 minutes before parking.
    max_attempts: int = 10
    first_retry_after: timedelta = timedelta(seconds=5)
    longest_retry_after: timedelta = timedelta(hours=1)

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff: the wait after the `attempts`-th failed attempt."""
        doublings = min(max(attempts - 1, 0), 30)
        return min(self.longest_retry_after, self.first_retry_after * (2**doublings))

    @property
    def delivery_timeout_seconds(self) -> float:
        return self.lease.total_seconds() / 2


@dataclass(frozen=True)
class ClaimedEvent:
    id: int
    attempts: int  # this claim's count: the fencing token for recording its outcome
    event: DeliveredEvent


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    PARKED = "parked"
    LEASE_LOST = "lease_lost"  # another dispatcher claimed it meanwhile: its outcome counts


async def claim_due_events(
    session: AsyncSession, *, now: datetime, policy: DispatchPolicy
) -> list[ClaimedEvent]:
    """Lease the next due events (earliest per aggregate) in the caller's transaction.

    The caller commits before delivering, so the lease is visible to other dispatchers.
    """
    earlier = aliased(OutboxEvent)
    due = (
        select(OutboxEvent.id)
        .where(
            OutboxEvent.delivered_at.is_(None),
            OutboxEvent.parked_at.is_(None),
            or_(OutboxEvent.next_attempt_at.is_(None), OutboxEvent.next_attempt_at <= now),
            or_(OutboxEvent.locked_until.is_(None), OutboxEvent.locked_until <= now),
            ~exists().where(
                earlier.aggregate_id == OutboxEvent.aggregate_id,
                earlier.id < OutboxEvent.id,
                earlier.delivered_at.is_(None),
            ),
        )
        .order_by(OutboxEvent.id)
        .limit(policy.batch_size)
        .with_for_update(skip_locked=True, of=OutboxEvent)
    )
    rows = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(due))
        .values(attempts=OutboxEvent.attempts + 1, locked_until=now + policy.lease)
        .returning(
            OutboxEvent.id,
            OutboxEvent.attempts,
            OutboxEvent.event_id,
            OutboxEvent.event_type,
            OutboxEvent.aggregate_id,
            OutboxEvent.payload,
            OutboxEvent.created_at,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = [
        ClaimedEvent(
            id=row.id,
            attempts=row.attempts,
            event=DeliveredEvent(
                event_id=row.event_id,
                type=row.event_type,
                aggregate_id=row.aggregate_id,
                payload=MappingProxyType(row.payload),
                created_at=as_utc(row.created_at),
            ),
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda c: c.id)  # RETURNING promises no order


async def record_delivered(
    session: AsyncSession, claimed: ClaimedEvent, *, now: datetime
) -> Outcome:
    result = await session.execute(
        update(OutboxEvent)
        .where(*_still_ours(claimed))
        .values(delivered_at=now, locked_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return Outcome.DELIVERED if result.rowcount == 1 else Outcome.LEASE_LOST  # type: ignore[attr-defined]


async def record_failure(
    session: AsyncSession,
    claimed: ClaimedEvent,
    *,
    error: str,
    now: datetime,
    policy: DispatchPolicy,
) -> Outcome:
    """Schedule a retry with backoff, or park the event after its last allowed attempt."""
    parked = claimed.attempts >= policy.max_attempts
    changes: dict[str, object] = {"locked_until": None, "last_error": scrub(error)}
    if parked:
        changes["parked_at"] = now
    else:
        changes["next_attempt_at"] = now + policy.retry_delay(claimed.attempts)
    result = await session.execute(
        update(OutboxEvent)
        .where(*_still_ours(claimed))
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return Outcome.LEASE_LOST
    return Outcome.PARKED if parked else Outcome.RETRYING


async def release_claims(session: AsyncSession, claims: list[ClaimedEvent]) -> int:
    """Give back the leases of claims whose round was cut short before their outcome was
    recorded (the database gone mid-round): due again at once, rather than when the lease
    runs out. Only where the claim is still ours; the attempt it used stays counted."""
    released = 0
    for claimed in claims:  # a round's batch at most, and only after a failed round
        result = await session.execute(
            update(OutboxEvent)
            .where(*_still_ours(claimed))
            .values(locked_until=None)
            .execution_options(synchronize_session=False)
        )
        released += result.rowcount  # type: ignore[attr-defined]
    return released


# The start of last_error for an event held back by a Redis outage (stream.StreamUnavailable).
STREAM_OUTAGE_ERROR = "StreamUnavailable:"


def _waiting_for_the_stream(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxEvent.delivered_at.is_(None),
        OutboxEvent.parked_at.is_(None),
        OutboxEvent.next_attempt_at > now,
        OutboxEvent.last_error.like(f"{STREAM_OUTAGE_ERROR}%"),
    )


async def any_waiting_for_the_stream(session: AsyncSession, *, now: datetime) -> bool:
    found = await session.scalar(
        select(OutboxEvent.id).where(*_waiting_for_the_stream(now)).limit(1)
    )
    return found is not None


async def release_waiting_for_the_stream(session: AsyncSession, *, now: datetime) -> int:
    """Make the events a Redis outage held back due now, whatever their backoff says: the
    outage is over, so waiting longer only delays them. Events a subscriber refused keep
    their backoff. Returns how many."""
    result = await session.execute(
        update(OutboxEvent)
        .where(*_waiting_for_the_stream(now))
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


def _still_ours(claimed: ClaimedEvent) -> tuple[ColumnElement[bool], ...]:
    # The attempts count moves on when another dispatcher re-claims after our lease ran out.
    return (
        OutboxEvent.id == claimed.id,
        OutboxEvent.attempts == claimed.attempts,
        OutboxEvent.delivered_at.is_(None),
    )


_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def scrub(error: str) -> str:
    """An error text fit for the table and an operator's screen: no URL credentials."""
    return _URL_CREDENTIALS.sub(r"\1***@", error)[:ERROR_LENGTH]


def as_utc(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes; every timestamp here is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
