"""Several dispatchers at once on PostgreSQL, each on its own connections.

Every event is delivered once per attempt: two dispatchers never hold the same event, while
one holds events uncommitted the others take the rest without waiting, and an order's
events still go out in order.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import make_engine, make_sessionmaker
from shared.events import OutboxEvent
from shared.events.claims import DispatchPolicy, claim_due_events
from shared.events.dispatcher import DeliveryTargets, dispatch_once
from shared.events.subscribers import DeliveredEvent, Subscribers
from shared.models import utcnow
from tests.conftest import postgres_only
from tests.integration.event_data import emit_committed

pytestmark = postgres_only

ORDER_EVENTS = ("order.created", "order.paid", "order.refunded")


@pytest.fixture
async def dispatcher_sessions(
    database_url: str, engine: AsyncEngine
) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """Four dispatchers' database access, each through an engine (a pool) of its own."""
    engines = [make_engine(database_url) for _ in range(4)]
    yield [make_sessionmaker(e) for e in engines]
    for e in engines:
        await e.dispose()


async def test_a_claim_in_progress_is_skipped_not_waited_for_and_its_lease_then_kept(
    dispatcher_sessions: list[async_sessionmaker[AsyncSession]],
) -> None:
    first, second, third, _ = dispatcher_sessions
    for n in range(6):
        await emit_committed(first, f"ref-{n}", "order.created")
    policy = DispatchPolicy(batch_size=3)
    now = utcnow()

    async with first() as holding, second() as other:
        # The first dispatcher has claimed and not committed yet: its rows are locked.
        taken_first = await claim_due_events(holding, now=now, policy=policy)
        # The second, on another connection, must not wait for those rows (it would hang
        # here without SKIP LOCKED) nor take them (it would without a row lock at all).
        taken_second = await asyncio.wait_for(
            claim_due_events(other, now=now, policy=policy), timeout=5
        )
        await holding.commit()
        await other.commit()

    ids_first = {c.id for c in taken_first}
    ids_second = {c.id for c in taken_second}
    assert len(ids_first) == len(ids_second) == 3
    assert ids_first.isdisjoint(ids_second)

    # Committed leases keep a third dispatcher away from all six until they run out.
    everything = DispatchPolicy(batch_size=10)
    async with third() as late:
        assert await claim_due_events(late, now=now, policy=everything) == []
        after_lease = await claim_due_events(late, now=now + policy.lease, policy=everything)
        await late.commit()
    assert {c.id for c in after_lease} == ids_first | ids_second


async def test_four_dispatchers_at_once_deliver_every_event_exactly_once_in_order(
    dispatcher_sessions: list[async_sessionmaker[AsyncSession]], db: AsyncSession
) -> None:
    orders = [f"ref-{n:02d}" for n in range(40)]
    for ref in orders:
        await emit_committed(dispatcher_sessions[0], ref, *ORDER_EVENTS)
    deliveries: list[tuple[int, DeliveredEvent]] = []
    policy = DispatchPolicy(batch_size=7)
    barrier = asyncio.Barrier(len(dispatcher_sessions))

    def recording(dispatcher: int) -> DeliveryTargets:
        async def record(event: DeliveredEvent) -> None:
            deliveries.append((dispatcher, event))
            await asyncio.sleep(0)  # let the other dispatchers run in between

        subscribers = Subscribers()
        subscribers.subscribe("*", record)
        return DeliveryTargets(subscribers=subscribers)

    async def dispatcher(number: int, sessions: async_sessionmaker[AsyncSession]) -> int:
        targets, claimed = recording(number), 0
        for _ in range(12):  # the same rounds for all: each round starts at once for all
            await barrier.wait()
            claimed += (await dispatch_once(sessions, targets, policy=policy)).claimed
        return claimed

    claimed = await asyncio.gather(*(dispatcher(n, s) for n, s in enumerate(dispatcher_sessions)))

    delivered = Counter(event.event_id for _, event in deliveries)
    assert len(delivered) == len(orders) * len(ORDER_EVENTS)
    assert set(delivered.values()) == {1}, "an event was delivered twice"
    assert sum(claimed) == len(deliveries)
    assert sum(1 for c in claimed if c) >= 2, "the dispatchers did not share the work"
    for ref in orders:
        assert [e.type for _, e in deliveries if e.aggregate_id == ref] == list(ORDER_EVENTS)
    stored = (await db.execute(select(OutboxEvent.attempts, OutboxEvent.delivered_at))).all()
    assert all(attempts == 1 and at is not None for attempts, at in stored)
