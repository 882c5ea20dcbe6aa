"""The outbox: an event exists if and only if the change it describes committed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import OutboxEvent, emit_event
from shared.models import User


async def _counts(db: AsyncSession) -> tuple[int, int]:
    events = await db.scalar(select(func.count()).select_from(OutboxEvent))
    users = await db.scalar(select(func.count()).select_from(User))
    return int(events or 0), int(users or 0)


async def test_a_rolled_back_change_leaves_no_event(db: AsyncSession) -> None:
    db.add(User(email="rolled@example.org", display_name="Rolled back"))
    emit_event(db, "order.created", {"order_ref": "r1"}, aggregate_id="r1")
    await db.flush()  # written to the database, inside the transaction
    await db.rollback()

    assert await _counts(db) == (0, 0)


async def test_a_committed_change_leaves_exactly_one_event(db: AsyncSession) -> None:
    db.add(User(email="kept@example.org", display_name="Kept"))
    event = emit_event(
        db, "order.created", {"order_ref": "r1", "total_minor": 500}, aggregate_id="r1"
    )
    event_id = event.event_id
    await db.commit()

    assert await _counts(db) == (1, 1)
    stored = await db.scalar(select(OutboxEvent))
    assert stored is not None
    assert (stored.event_id, stored.event_type, stored.aggregate_id) == (
        event_id,
        "order.created",
        "r1",
    )
    assert stored.payload == {"order_ref": "r1", "total_minor": 500}
    # Waiting for the dispatcher: never tried, due now.
    assert (stored.attempts, stored.delivered_at, stored.parked_at, stored.next_attempt_at) == (
        0,
        None,
        None,
        None,
    )


async def test_a_payload_key_that_looks_like_a_secret_is_refused(db: AsyncSession) -> None:
    with pytest.raises(ValueError, match="api_key"):
        emit_event(db, "order.paid", {"order_ref": "r1", "api_key": "sk"}, aggregate_id="r1")
    await db.commit()
    assert await _counts(db) == (0, 0)
