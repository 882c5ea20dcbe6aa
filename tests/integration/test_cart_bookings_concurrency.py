"""Removing a booking while it is being checked out (or removed in another tab), on
PostgreSQL, each contender on its own connection: the booking ends up in exactly one of the
two outcomes, never cancelled and ordered, never in an order and gone from it.

The first two tests fix the order: one transaction writes and holds its lock, the other
starts while it holds it, so the second must wait for the row and then re-check the state.
The last ones release the contenders together through a barrier, many rounds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.cart.services.checkout import create_order_from_cart
from bp.cart.services.checkout_errors import CheckoutError
from bp.cart.services.errors import CartError
from bp.cart.services.remove_booking import remove_booking
from models import Order
from services import register_domain_services
from services.sql_calendar import SqlCalendarService
from shared.db import make_sessionmaker
from shared.interfaces import BookingError
from tests.conftest import postgres_only
from tests.contract.calendar_data import stored_entries
from tests.factories import Factory
from tests.integration.checkout_data import ANON, bakery_cart, count_rows, seen

pytestmark = postgres_only

calendar = SqlCalendarService()
HOLD_SECONDS = 0.3  # how long the first writer keeps its row lock before committing
ORDER_ID = 99  # entries name their order by a plain id


@pytest.fixture(autouse=True)
def _services() -> None:
    register_domain_services()


async def first_then_second(
    engine: AsyncEngine,
    first: Callable[[AsyncSession], Awaitable[Any]],
    second: Callable[[AsyncSession], Awaitable[Any]],
) -> tuple[Any, Any]:
    """`first` writes and holds its transaction; `second` runs meanwhile, then both commit.

    Returns both results (a BookingError is returned, not raised) and checks that `second`
    really waited: it finished only after `first` had committed.
    """
    sessionmaker = make_sessionmaker(engine)
    first_wrote = asyncio.Event()
    committed_at = finished_at = 0.0

    async def run_first() -> Any:
        nonlocal committed_at
        async with sessionmaker() as session:
            result = await first(session)
            first_wrote.set()
            await asyncio.sleep(HOLD_SECONDS)
            await session.commit()
            committed_at = time.monotonic()
            return result

    async def run_second() -> Any:
        nonlocal finished_at
        async with sessionmaker() as session:
            await session.execute(select(1))  # connected before the first one writes
            await first_wrote.wait()
            try:
                result = await second(session)
                await session.commit()
                return result
            except BookingError as refused:
                await session.rollback()
                return refused
            finally:
                finished_at = time.monotonic()

    results = await asyncio.wait_for(asyncio.gather(run_first(), run_second()), timeout=30)
    assert finished_at >= committed_at, "the second did not wait for the first's row lock"
    return results[0], results[1]


async def test_a_removal_while_a_checkout_holds_the_booking_changes_nothing(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    cart = await bakery_cart(factory)

    _, removed = await first_then_second(
        engine,
        lambda s: calendar.claim_entries_for_order(s, ANON, [cart.entry_id], ORDER_ID),
        lambda s: calendar.cancel_pending_entry(s, ANON, cart.entry_id),
    )

    assert removed is None
    stored = (await stored_entries(db, cart.entry_id))[cart.entry_id]
    assert (stored.state, stored.order_id) == ("ordered", ORDER_ID)


async def test_a_checkout_while_a_removal_holds_the_booking_is_refused(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    cart = await bakery_cart(factory)

    removed, claimed = await first_then_second(
        engine,
        lambda s: calendar.cancel_pending_entry(s, ANON, cart.entry_id),
        lambda s: calendar.claim_entries_for_order(s, ANON, [cart.entry_id], ORDER_ID),
    )

    assert removed is not None and removed.state == "cancelled"
    assert isinstance(claimed, BookingError) and claimed.code == "entry_not_pending"
    stored = (await stored_entries(db, cart.entry_id))[cart.entry_id]
    assert (stored.state, stored.order_id) == ("cancelled", None)


async def race(
    engine: AsyncEngine, works: list[Callable[[AsyncSession], Awaitable[Any]]]
) -> list[Any]:
    """Each work on its own connection, released together; a refusal is returned."""
    barrier = asyncio.Barrier(len(works))
    sessionmaker = make_sessionmaker(engine)

    async def run(work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with sessionmaker() as session:
            await session.execute(select(1))
            await barrier.wait()
            try:
                return await work(session)
            except (CartError, CheckoutError) as refused:
                await session.rollback()
                return refused

    return await asyncio.wait_for(asyncio.gather(*(run(work) for work in works)), timeout=60)


@pytest.mark.parametrize("round_", range(5))
async def test_remove_and_check_out_at_once_the_booking_is_either_ordered_or_cancelled(
    engine: AsyncEngine, factory: Factory, db: AsyncSession, round_: int
) -> None:
    cart = await bakery_cart(factory)
    form = await seen(db, ANON, cart.page_id)

    ordered, removed = await race(
        engine,
        [
            lambda s: create_order_from_cart(s, owner=ANON, page_id=cart.page_id, **form),
            lambda s: remove_booking(s, owner=ANON, entry_id=cart.entry_id),
        ],
    )

    await db.rollback()
    stored = (await stored_entries(db, cart.entry_id))[cart.entry_id]
    if isinstance(ordered, CheckoutError):
        # The removal came first: the checkout saw a changed cart or a booking gone.
        assert ordered.code in ("cart_changed", "booking_taken")
        assert removed.state == "cancelled"
        assert (stored.state, stored.order_id) == ("cancelled", None)
        assert await count_rows(db, Order) == 0
    else:
        assert isinstance(removed, CartError) and removed.code == "booking_unknown"
        assert (stored.state, stored.order_id) == ("ordered", ordered.id)


async def test_two_removals_at_once_cancel_the_booking_once(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    cart = await bakery_cart(factory)

    def remove(session: AsyncSession) -> Awaitable[Any]:
        return remove_booking(session, owner=ANON, entry_id=cart.entry_id)

    results = await race(engine, [remove, remove])

    refused = [r for r in results if isinstance(r, CartError)]
    assert len(refused) == 1 and refused[0].code == "booking_unknown"
    assert (await stored_entries(db, cart.entry_id))[cart.entry_id].state == "cancelled"
