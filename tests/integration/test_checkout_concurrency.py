"""Checkouts racing on PostgreSQL, each on its own connection: two tabs of one shopper,
a double-click, and ten shoppers for three places (through the service and over HTTP).

As in test_calendar_concurrency.py, the contenders connect first and are released together
by a barrier, and a winner holds its transaction a moment after claiming its bookings, so
the others really run while it holds its locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import bp.cart.services.checkout as checkout
from bp.cart.services.checkout import create_order_from_cart
from bp.cart.services.checkout_errors import CheckoutError
from models import CartItem, Order, OrderItem, PaymentAttempt
from services import register_domain_services
from shared.db import make_sessionmaker
from shared.interfaces import Owner
from shared.models import CalendarEntry
from shared.registry import services
from tests.conftest import postgres_only
from tests.contract.calendar_data import entry_for, slot_on_page, stored_entries
from tests.factories import Factory
from tests.http.checkout_forms import rendered_checkout_form, start_session
from tests.integration.calendar_claim_worker import HOLD_SECONDS
from tests.integration.checkout_data import (
    ANON,
    bakery_cart,
    count_rows,
    events_of,
    line_orders,
    seen,
)

pytestmark = postgres_only

SLOT_TITLE = "Ten shoppers, three places"


class HoldingCalendar:
    """services.calendar, with a claim that keeps its transaction open a moment after."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def claim_entries_for_order(self, *args: Any, **kwargs: Any) -> None:
        await self.real.claim_entries_for_order(*args, **kwargs)
        await asyncio.sleep(HOLD_SECONDS)


@pytest.fixture(autouse=True)
def holding_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    register_domain_services()
    monkeypatch.setattr(services, "_calendar", HoldingCalendar(services.calendar))


class Timed:
    def __init__(self) -> None:
        self.started = self.finished = 0.0


async def race(
    engine: AsyncEngine, works: Sequence[Callable[[AsyncSession], Awaitable[Any]]]
) -> list[Any]:
    """Run each work on its own connection, all released at once; a refusal is returned."""
    barrier = asyncio.Barrier(len(works))
    sessionmaker = make_sessionmaker(engine)
    timings = [Timed() for _ in works]

    async def run(work: Callable[[AsyncSession], Awaitable[Any]], timed: Timed) -> Any:
        async with sessionmaker() as session:
            await session.execute(select(1))  # connected before the start
            await barrier.wait()
            timed.started = time.monotonic()
            try:
                return await work(session)
            except CheckoutError as refused:
                return refused
            finally:
                timed.finished = time.monotonic()

    results = await asyncio.wait_for(
        asyncio.gather(*(run(work, timed) for work, timed in zip(works, timings, strict=True))),
        timeout=60,
    )
    # The race was real: every contender had started before the first one finished.
    assert max(t.started for t in timings) < min(t.finished for t in timings)
    return results


def order_id_of(result: Any) -> int | None:
    return None if isinstance(result, CheckoutError) else result.id


async def booking_items(db: AsyncSession) -> Counter[int]:
    """How many order items hold each calendar entry."""
    rows = await db.execute(
        select(OrderItem.calendar_entry_id, func.count())
        .where(OrderItem.calendar_entry_id.is_not(None))
        .group_by(OrderItem.calendar_entry_id)
    )
    return Counter({entry_id: count for entry_id, count in rows})


@pytest.mark.parametrize(
    ("with_products", "with_bookings"),
    [(True, True), (False, True), (True, False)],
    ids=["products-and-bookings", "bookings-only", "products-only"],
)
async def test_two_tabs_checking_out_the_same_cart_at_once_make_one_payable_order(
    engine: AsyncEngine,
    factory: Factory,
    db: AsyncSession,
    with_products: bool,
    with_bookings: bool,
) -> None:
    cart = await bakery_cart(factory)
    second_slot = await slot_on_page(factory, page_id=cart.page_id, title="Bread class")
    entry_ids = [cart.entry_id, await entry_for(factory, ANON, slot_id=second_slot.id)]
    if not with_products:
        await db.execute(delete(CartItem))
    if not with_bookings:
        await db.execute(delete(CalendarEntry))
        entry_ids = []
    await db.commit()
    tabs = [await seen(db, ANON, cart.page_id) for _ in range(2)]  # two renderings, two keys

    def check_out(form: dict[str, str]) -> Callable[[AsyncSession], Awaitable[Any]]:
        return lambda session: create_order_from_cart(
            session, owner=ANON, page_id=cart.page_id, **form
        )

    results = await race(engine, [check_out(form) for form in tabs])

    [winner] = [order_id_of(r) for r in results if order_id_of(r) is not None]
    [refused] = [r for r in results if isinstance(r, CheckoutError)]
    await db.rollback()
    number = await db.scalar(select(Order.number).where(Order.id == winner))
    # The loser is sent to the winner's order: one payable order for the cart.
    assert refused.code == "order_pending"
    assert refused.message.startswith(f"Order {number} from this cart is waiting for payment")
    assert await count_rows(db, Order) == 1
    stored = await stored_entries(db, *entry_ids)
    assert {(e.state, e.order_id) for e in stored.values()} == (
        {("ordered", winner)} if with_bookings else set()
    )
    assert await booking_items(db) == Counter({entry_id: 1 for entry_id in entry_ids})
    if with_products:
        assert set((await line_orders(db)).values()) == {winner}
    assert len(await events_of(db, "order.created")) == 1


async def test_a_double_click_at_once_makes_one_order_that_both_requests_answer_with(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    cart = await bakery_cart(factory)
    form = await seen(db, ANON, cart.page_id)

    def click(session: AsyncSession) -> Awaitable[Order]:
        return create_order_from_cart(session, owner=ANON, page_id=cart.page_id, **form)

    first, second = await race(engine, [click, click])

    assert not isinstance(first, CheckoutError) and not isinstance(second, CheckoutError)
    assert first.id == second.id
    await db.rollback()
    assert await count_rows(db, Order) == 1
    assert len(await events_of(db, "order.created")) == 1
    assert (await stored_entries(db, cart.entry_id))[cart.entry_id].order_id == first.id


async def ten_shoppers_for_three_places(factory: Factory) -> tuple[int, int, list[Owner]]:
    page_id = (await factory.page(slug="workshop", title="Workshop")).id
    slot = await slot_on_page(factory, page_id=page_id, places=3, title=SLOT_TITLE)
    shoppers = [Owner(session_id=f"shopper-{n:02d}-xxxxxxxxxxxxxxxx") for n in range(10)]
    for shopper in shoppers:
        await entry_for(factory, shopper, slot_id=slot.id)
    return page_id, slot.id, shoppers


async def assert_three_hold_the_slot(db: AsyncSession, slot_id: int) -> None:
    await db.rollback()
    rows = await db.execute(
        select(CalendarEntry.state, CalendarEntry.order_id).where(CalendarEntry.slot_id == slot_id)
    )
    states = Counter(state for state, _ in rows)
    assert states == Counter(ordered=3, pending=7)
    holders = set(
        await db.scalars(
            select(CalendarEntry.order_id).where(
                CalendarEntry.slot_id == slot_id, CalendarEntry.state == "ordered"
            )
        )
    )
    assert holders == set(await db.scalars(select(Order.id)))
    assert len(holders) == 3
    assert len(await events_of(db, "order.created")) == 3


async def test_ten_shoppers_checking_out_three_places_at_once_only_three_get_an_order(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    page_id, slot_id, shoppers = await ten_shoppers_for_three_places(factory)
    forms = [await seen(db, shopper, page_id) for shopper in shoppers]

    def check_out(shopper: Owner, form: dict[str, str]) -> Callable[[AsyncSession], Awaitable[Any]]:
        return lambda session: create_order_from_cart(
            session, owner=shopper, page_id=page_id, **form
        )

    results = await race(engine, [check_out(s, f) for s, f in zip(shoppers, forms, strict=True)])

    refusals = [r for r in results if isinstance(r, CheckoutError)]
    assert len(refusals) == 7
    assert {r.message for r in refusals} == {
        f"Sorry, {SLOT_TITLE} is sold out: its last place has just been taken. Nothing was ordered."
    }
    await assert_three_hold_the_slot(db, slot_id)


async def test_ten_shoppers_checking_out_over_http_at_once_seven_are_told_it_is_sold_out(
    app, engine: AsyncEngine, factory: Factory, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    page_id, slot_id, shoppers = await ten_shoppers_for_three_places(factory)
    clients = [app.test_client() for _ in shoppers]
    forms = []
    for client, shopper in zip(clients, shoppers, strict=True):
        await start_session(client, shopper.session_id)
        forms.append(await rendered_checkout_form(client, "/cart/workshop/"))

    # Every request has looked its key up and waits here; then all load and write at once.
    barrier = asyncio.Barrier(len(shoppers))
    real_load = checkout.load_cart

    async def load_together(session: AsyncSession, *, owner: Owner) -> Any:
        await barrier.wait()
        return await real_load(session, owner=owner)

    monkeypatch.setattr(checkout, "load_cart", load_together)
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(
                client.post(action, form=fields)
                for client, (action, fields) in zip(clients, forms, strict=True)
            )
        ),
        timeout=60,
    )

    assert [r.status_code for r in responses] == [303] * 10
    await db.rollback()
    pay_pages = set(await db.scalars(select(PaymentAttempt.hosted_checkout_url)))
    sent_to_pay = [r for r in responses if r.headers["Location"] in pay_pages]
    sent_back = [
        (client, r)
        for client, r in zip(clients, responses, strict=True)
        if r.headers["Location"] == "/cart/workshop/"
    ]
    assert (len(sent_to_pay), len(sent_back)) == (3, 7)
    for client, response in sent_back:
        page = await (await client.get(response.headers["Location"])).get_data(as_text=True)
        assert f"Sorry, {SLOT_TITLE} is sold out" in page
    await assert_three_hold_the_slot(db, slot_id)
