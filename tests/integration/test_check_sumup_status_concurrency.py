"""Racing status checks (webhooks and return visits at once) pay an order exactly once.

Each caller has its own session, so its own database connection; a barrier in the SumUp
stand-in releases them all together, so they reach the conditional UPDATEs at one moment.
On PostgreSQL (TEST_DATABASE_URL) these are concurrent transactions on separate
connections; on SQLite they queue for the one writer, and the outcome must be the same.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.cart.services.check_sumup_status import Outcome, StatusCheck, check_sumup_status
from services import register_domain_services
from shared.db import make_sessionmaker
from tests.factories import Factory
from tests.integration.payment_data import (
    PAID,
    FakeSumUp,
    attempts_of,
    entry_state,
    live_line_ids,
    paid_events,
    pending_attempt,
    placed_bakery_order,
    stored_order,
)

RACERS = 5


@pytest.fixture(autouse=True)
def domain_services() -> None:
    register_domain_services()


async def _check_on_own_connection(engine: AsyncEngine, fake: FakeSumUp) -> StatusCheck:
    async with make_sessionmaker(engine)() as session:
        return await check_sumup_status(session, checkout_id="chk-1", client_for=fake)


async def test_five_status_checks_at_once_pay_the_order_once(
    engine: AsyncEngine, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    fake = FakeSumUp()
    await pending_attempt(db, placed, fake)
    fake.set("chk-1", **PAID)
    fake.gate = asyncio.Barrier(RACERS)

    results = await asyncio.wait_for(
        asyncio.gather(*(_check_on_own_connection(engine, fake) for _ in range(RACERS))),
        timeout=60,
    )

    assert fake.calls == RACERS  # all of them asked SumUp before any recorded the payment
    assert [r.outcome for r in results] == [Outcome.PAID] * RACERS
    assert sum(r.became_paid for r in results) == 1
    assert len(await paid_events(db)) == 1
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert await entry_state(db, placed.cart.entry_id) == "confirmed"
    assert await live_line_ids(db) == set()
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["PAID"]


async def test_paid_and_failed_answers_racing_leave_the_payment_recorded(
    engine: AsyncEngine, db: AsyncSession, factory: Factory
) -> None:
    """A stale FAILED answer landing at the same time as PAID never takes the payment back."""
    placed = await placed_bakery_order(db, factory)
    paid_view, stale_view = FakeSumUp(), FakeSumUp()
    await pending_attempt(db, placed, paid_view)
    stale_view.checkouts = dict(paid_view.checkouts)
    paid_view.set("chk-1", **PAID)
    stale_view.set("chk-1", status="FAILED")
    gate = asyncio.Barrier(2 * RACERS)
    paid_view.gate = stale_view.gate = gate

    results = await asyncio.wait_for(
        asyncio.gather(
            *(_check_on_own_connection(engine, paid_view) for _ in range(RACERS)),
            *(_check_on_own_connection(engine, stale_view) for _ in range(RACERS)),
        ),
        timeout=60,
    )

    assert sum(r.became_paid for r in results) == 1
    assert [a[1] for a in await attempts_of(db, placed.order_id)] == ["PAID"]
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    assert len(await paid_events(db)) == 1
