"""The dispatcher: at least once, in order per order, retries with backoff, parking, replay.

Time is injected (`now=`) rather than slept through; each round is one `dispatch_once`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import make_sessionmaker
from shared.events.claims import DispatchPolicy, Outcome, claim_due_events, record_delivered
from shared.events.dispatcher import DeliveryTargets, dispatch_once
from shared.events.parked import Backlog, delivery_backlog, parked_events, replay_parked
from shared.events.subscribers import DeliveredEvent, Subscribers
from shared.models import utcnow
from tests.integration.event_data import (
    Recorder,
    emit_committed,
    naive_utc,
    outbox_row,
    targets_with,
)

POLICY = DispatchPolicy(
    lease=timedelta(seconds=60),
    max_attempts=3,
    first_retry_after=timedelta(seconds=5),
)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


async def test_each_event_reaches_the_subscribers_once_and_is_marked_delivered(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    [created] = await emit_committed(sessions, "ref-a", "order.created", payload={"number": "A1"})
    [paid] = await emit_committed(sessions, "ref-b", "order.paid")
    recorder = Recorder()
    now = utcnow()

    report = await dispatch_once(sessions, targets_with(recorder), policy=POLICY, now=now)

    assert report.claimed == 2 and report.outcomes[Outcome.DELIVERED] == 2
    assert recorder.event_ids == [created, paid]
    first = recorder.received[0]
    assert (first.type, first.aggregate_id) == ("order.created", "ref-a")
    assert dict(first.payload) == {"order_ref": "ref-a", "number": "A1"}
    assert first.created_at.tzinfo is not None
    with pytest.raises(TypeError):  # handlers share one payload: nobody may change it
        first.payload["number"] = "B2"  # type: ignore[index]
    row = await outbox_row(db, created)
    assert (row.attempts, row.locked_until, row.last_error) == (1, None, None)
    assert naive_utc(row.delivered_at) == naive_utc(now)

    again = await dispatch_once(sessions, targets_with(recorder), policy=POLICY)
    assert again.claimed == 0
    assert recorder.event_ids == [created, paid]


async def test_a_round_cut_short_gives_its_leases_back_at_the_next_round(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    """The database went away after the claim was committed and before the outcome was: the
    same dispatcher's next round releases that claim, and the event goes out then, not when
    its lease (60 s here) runs out (tests/faults/test_postgres_restart.py, where it did)."""
    [event_id] = await emit_committed(sessions, "ref-a", "order.paid")
    start = utcnow()
    async with sessions() as cut_short:
        open_claims = await claim_due_events(cut_short, now=start, policy=POLICY)
        await cut_short.commit()
    recorder = Recorder()

    report = await dispatch_once(
        sessions,
        targets_with(recorder),
        policy=POLICY,
        now=start + timedelta(seconds=1),
        open_claims=open_claims,
    )

    assert report.outcomes[Outcome.DELIVERED] == 1 and recorder.event_ids == [event_id]
    assert open_claims == []  # every claim of the round has its outcome recorded
    row = await outbox_row(db, event_id)
    assert row.attempts == 2 and row.delivered_at is not None


async def test_a_subscriber_gets_only_the_type_it_asked_for_and_star_gets_all(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await emit_committed(sessions, "ref-a", "order.created", "order.paid")
    paid_only, everything = Recorder(), Recorder()
    subscribers = Subscribers()
    subscribers.subscribe("order.paid", paid_only)
    subscribers.subscribe("*", everything)
    targets = DeliveryTargets(subscribers=subscribers)

    for _ in range(2):  # one event of an order per round
        await dispatch_once(sessions, targets, policy=POLICY)

    assert paid_only.types == ["order.paid"]
    assert everything.types == ["order.created", "order.paid"]


async def test_a_crashed_dispatchers_event_is_delivered_after_its_lease_with_the_same_id(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    [event_id] = await emit_committed(sessions, "ref-a", "order.paid")
    start = utcnow()
    # A dispatcher claims the event, commits its lease, and dies before delivering.
    async with sessions() as crashed:
        [lost] = await claim_due_events(crashed, now=start, policy=POLICY)
        await crashed.commit()
    recorder = Recorder()

    while_leased = await dispatch_once(
        sessions, targets_with(recorder), policy=POLICY, now=start + timedelta(seconds=59)
    )
    assert while_leased.claimed == 0 and recorder.received == []

    after_lease = await dispatch_once(
        sessions, targets_with(recorder), policy=POLICY, now=start + timedelta(seconds=61)
    )
    assert after_lease.outcomes[Outcome.DELIVERED] == 1
    assert recorder.event_ids == [event_id] == [lost.event.event_id]
    row = await outbox_row(db, event_id)
    assert row.attempts == 2 and row.delivered_at is not None

    # The first dispatcher coming back to life cannot record anything over the second.
    async with sessions() as revived:
        assert await record_delivered(revived, lost, now=start) == Outcome.LEASE_LOST
        await revived.commit()
    assert naive_utc((await outbox_row(db, event_id)).delivered_at) == naive_utc(
        start + timedelta(seconds=61)
    )


async def test_an_orders_events_go_out_in_order_one_after_the_other(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a_created, a_paid = await emit_committed(sessions, "ref-a", "order.created", "order.paid")
    [b_created] = await emit_committed(sessions, "ref-b", "order.created")
    recorder = Recorder()

    first = await dispatch_once(sessions, targets_with(recorder), policy=POLICY)
    assert first.claimed == 2  # a's paid waits for a's created
    assert recorder.event_ids == [a_created, b_created]

    await dispatch_once(sessions, targets_with(recorder), policy=POLICY)
    assert recorder.event_ids == [a_created, b_created, a_paid]


async def test_a_failing_event_holds_back_its_order_but_not_other_orders(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await emit_committed(sessions, "ref-a", "order.created", "order.paid")
    [b_created] = await emit_committed(sessions, "ref-b", "order.created")
    recorder = Recorder(failing={"ref-a"})
    now = utcnow()

    for step in range(3):
        await dispatch_once(
            sessions, targets_with(recorder), policy=POLICY, now=now + timedelta(hours=step)
        )

    assert recorder.event_ids == [b_created]


async def test_failures_are_retried_with_growing_backoff_then_parked_until_replayed(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    [created] = await emit_committed(sessions, "ref-a", "order.created")
    recorder = Recorder(failing={"order.created"}, error="the shop's ledger is away")
    targets = targets_with(recorder)
    start = utcnow()

    async def round_at(seconds: float) -> int:
        at = start + timedelta(seconds=seconds)
        return (await dispatch_once(sessions, targets, policy=POLICY, now=at)).claimed

    assert await round_at(0) == 1
    row = await outbox_row(db, created)
    assert row.attempts == 1 and row.locked_until is None
    assert row.last_error == "RuntimeError: the shop's ledger is away"
    assert naive_utc(row.next_attempt_at) == naive_utc(start + timedelta(seconds=5))

    assert await round_at(4.9) == 0  # not due yet
    assert await round_at(5) == 1
    row = await outbox_row(db, created)
    assert naive_utc(row.next_attempt_at) == naive_utc(start + timedelta(seconds=15))  # 5 + 10

    assert await round_at(15) == 1  # the third and last attempt
    row = await outbox_row(db, created)
    assert row.attempts == 3 and row.parked_at is not None

    # Parked: never tried again by itself, and its order's later event waits behind it.
    [paid] = await emit_committed(sessions, "ref-a", "order.paid")
    recorder.failing.clear()
    assert await round_at(86_400) == 0
    assert recorder.received == []
    assert await delivery_backlog(db) == Backlog(undelivered=2, parked=1)
    [shown] = await parked_events(db)
    assert (shown.event_id, shown.type, shown.attempts) == (created, "order.created", 3)
    assert shown.last_error == "RuntimeError: the shop's ledger is away"

    assert await replay_parked(db, which=created) == [row.id]
    row = await outbox_row(db, created)
    assert (row.attempts, row.parked_at, row.next_attempt_at) == (0, None, None)
    await round_at(86_401)
    await round_at(86_402)
    assert recorder.event_ids == [created, paid]
    assert await delivery_backlog(db) == Backlog(undelivered=0, parked=0)


async def test_replay_all_unparks_every_parked_event_and_nothing_else(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    [a] = await emit_committed(sessions, "ref-a", "order.created")
    [b] = await emit_committed(sessions, "ref-b", "order.created")
    [delivered] = await emit_committed(sessions, "ref-c", "order.created")
    recorder = Recorder(failing={"ref-a", "ref-b"})
    once = DispatchPolicy(max_attempts=1)
    await dispatch_once(sessions, targets_with(recorder), policy=once)
    assert [p.event_id for p in await parked_events(db)] == [a, b]

    replayed = await replay_parked(db, which=None)

    assert len(replayed) == 2
    assert await parked_events(db) == []
    assert await replay_parked(db, which=None) == []  # nothing left to replay
    assert await replay_parked(db, which=delivered) == []  # delivered, not parked
    with pytest.raises(ValueError, match="neither"):
        await replay_parked(db, which="1\x00; drop table outbox_events")
    with pytest.raises(ValueError, match="neither"):
        await replay_parked(db, which="9" * 30)  # too big for the column: no database error


async def test_a_delivery_error_keeps_no_credentials(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    [event_id] = await emit_committed(sessions, "ref-a", "order.paid")
    recorder = Recorder(
        failing={"order.paid"}, error="cannot reach redis://:hunter2@cache.internal:6379/0 " * 20
    )

    await dispatch_once(sessions, targets_with(recorder), policy=POLICY)

    error = (await outbox_row(db, event_id)).last_error
    assert error is not None and "redis://***@cache.internal" in error
    assert "hunter2" not in error and len(error) <= 500


async def test_an_event_claimed_too_often_without_an_outcome_is_parked_not_delivered(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    [event_id] = await emit_committed(sessions, "ref-a", "order.paid")
    start = utcnow()
    for crash in range(POLICY.max_attempts):  # each claim's dispatcher dies mid-delivery
        async with sessions() as session:
            assert await claim_due_events(
                session, now=start + timedelta(minutes=2 * crash), policy=POLICY
            )
            await session.commit()
    recorder = Recorder()

    report = await dispatch_once(
        sessions, targets_with(recorder), policy=POLICY, now=start + timedelta(hours=1)
    )

    assert report.outcomes[Outcome.PARKED] == 1
    assert recorder.received == []
    row = await outbox_row(db, event_id)
    assert row.parked_at is not None
    assert row.last_error is not None and "3 times without an outcome" in row.last_error


async def test_a_hanging_delivery_times_out_within_the_lease_and_is_retried(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    [event_id] = await emit_committed(sessions, "ref-a", "order.paid")

    async def hangs(_event: DeliveredEvent) -> None:
        await asyncio.sleep(30)

    subscribers = Subscribers()
    subscribers.subscribe("*", hangs)
    quick = DispatchPolicy(lease=timedelta(seconds=0.2))

    report = await dispatch_once(sessions, DeliveryTargets(subscribers=subscribers), policy=quick)

    assert report.outcomes[Outcome.RETRYING] == 1
    row = await outbox_row(db, event_id)
    assert row.last_error == "delivery timed out after 0.1s"
    assert row.delivered_at is None and row.next_attempt_at is not None


def test_backoff_doubles_from_the_first_wait_up_to_the_longest() -> None:
    policy = DispatchPolicy(
        first_retry_after=timedelta(seconds=5), longest_retry_after=timedelta(minutes=1)
    )
    waits = [policy.retry_delay(n).total_seconds() for n in range(1, 7)]
    assert waits == [5, 10, 20, 40, 60, 60]
    assert policy.retry_delay(10_000) == timedelta(minutes=1)  # no overflow
