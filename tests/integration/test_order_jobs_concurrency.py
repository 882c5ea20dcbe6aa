"""Expiry racing a payment: each on its own connection at the same moment. The order ends
paid (directly, or expired and then honoured), never expired with its payment lost, never
paid twice; its booking ends confirmed. On PostgreSQL (TEST_DATABASE_URL) these are truly
concurrent transactions; on SQLite they queue for the one writer, with the same outcome.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.cart.services.check_sumup_status import (
    Outcome,
    StatusCheck,
    check_sumup_status,
    record_checkout,
)
from bp.cart.services.order_events import ORDER_EXPIRED, OrderFacts
from bp.order_ops.close_order import close_unpaid_order
from bp.order_ops.expire import Expiry, expire_order
from models import OrderStatus, PaymentAttempt
from services import register_domain_services
from shared.db import make_sessionmaker
from shared.models import utcnow
from tests.factories import Factory
from tests.integration.order_ops_data import (
    ClosableFakeSumUp,
    MeetOnce,
    minutes_from_now,
    payloads,
)
from tests.integration.payment_data import (
    PAID,
    entry_state,
    pending_attempt,
    placed_bakery_order,
    stored_order,
)

ROUNDS = 6


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


@pytest.mark.parametrize("round_", range(ROUNDS))  # who wins varies from round to round
async def test_expiry_and_a_payment_at_once_end_paid_every_time(
    engine: AsyncEngine, db: AsyncSession, factory: Factory, round_: int
) -> None:
    """The database steps themselves raced: pending -> expired (with the bookings released)
    against the payment's record (pending -> paid, or expired -> paid re-claiming them)."""
    maker = make_sessionmaker(engine)
    placed = await placed_bakery_order(db, factory)
    fake = ClosableFakeSumUp()
    await pending_attempt(db, placed, fake)
    paid_checkout = fake.set("chk-1", **PAID)
    [(attempt_id,)] = (await db.execute(select(PaymentAttempt.id))).all()

    async def expire() -> OrderFacts | None:
        async with maker() as session:
            return await close_unpaid_order(
                session,
                order_id=placed.order_id,
                from_statuses=(OrderStatus.PENDING,),
                to_status=OrderStatus.EXPIRED,
                event_type=ORDER_EXPIRED,
                now=utcnow(),
            )

    async def pay() -> StatusCheck:
        async with maker() as session:
            return await record_checkout(session, attempt_id=attempt_id, checkout=paid_checkout)

    racers = [expire(), pay()] if round_ % 2 else [pay(), expire()]
    results = await asyncio.wait_for(asyncio.gather(*racers), timeout=60)
    expired = next(r for r in results if not isinstance(r, StatusCheck))
    paid = next(r for r in results if isinstance(r, StatusCheck))

    assert paid.outcome == Outcome.PAID and paid.became_paid
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    [paid_event] = await payloads(db, "order.paid")
    expired_events = await payloads(db, "order.expired")
    # Expired first and honoured after, or paid first and never expired.
    assert paid_event["after_expiry"] == (expired is not None) == (len(expired_events) == 1)


async def test_expiry_job_and_a_webhook_at_once_record_the_payment_once(
    engine: AsyncEngine, db: AsyncSession, factory: Factory
) -> None:
    """The whole job against the whole webhook path: the job's deactivation finds the
    checkout paid (409) and records it, the webhook records it too; one of them wins."""
    placed = await placed_bakery_order(db, factory)
    fake = ClosableFakeSumUp()
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", **PAID)
    fake.gate = MeetOnce(2)  # type: ignore[assignment]  # both at SumUp, then the database
    maker = make_sessionmaker(engine)

    async def expire() -> Expiry:
        async with maker() as session:
            return await expire_order(
                session,
                order_id=placed.order_id,
                client_for=fake,
                now=minutes_from_now(31),
                cutoff=minutes_from_now(1),
            )

    async def webhook() -> Outcome:
        async with maker() as session:
            return (await check_sumup_status(session, checkout_id="chk-1", client_for=fake)).outcome

    job, hook = await asyncio.wait_for(asyncio.gather(expire(), webhook()), timeout=60)

    assert (job, hook) == (Expiry.PAID, Outcome.PAID)
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    assert len(await payloads(db, "order.paid")) == 1
    assert await payloads(db, "order.expired") == []
