"""What one shopper may hold without paying, at checkout (create_order_from_cart) against the
real database: places of one slot through unpaid orders, and unpaid orders in all. A refused
checkout stores nothing; an order that expires gives its places back and counts no more.

The races run on PostgreSQL only, each contender on its own connection, released together
by a barrier, a winner holding its transaction a moment after claiming its bookings.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bp.cart.services.checkout import HoldingLimits, create_order_from_cart
from bp.cart.services.checkout_errors import CheckoutError
from bp.order_ops.expire import Expiry, expire_unpaid_orders
from models import CartItem, Order, OrderItem
from services import register_domain_services
from services.sql_calendar import SqlCalendarService
from shared.db import make_sessionmaker
from shared.interfaces import Owner
from shared.interfaces.calendar import HoldingLimitReached
from shared.models import CalendarEntry, utcnow
from shared.registry import services
from tests.conftest import postgres_only
from tests.contract.calendar_data import entry_for, slot_on_page, stored_entries
from tests.factories import Factory
from tests.integration.calendar_claim_worker import HOLD_SECONDS
from tests.integration.checkout_data import ANON, bakery_cart, count_rows, events_of, seen
from tests.integration.order_ops_data import ClosableFakeSumUp

NOTHING_ORDERED = "Nothing was ordered."
DEFAULTS = HoldingLimits()  # 4 places of a slot, 3 unpaid orders: the settings' defaults


@pytest.fixture(autouse=True)
def _services() -> None:
    register_domain_services()


async def bookings_in_cart(factory: Factory, owner: Owner, places: int) -> tuple[int, list[int]]:
    """The bakery cart (bread, jam, one place in the baking class) with `places` places of
    the class in all: (page id, entry ids)."""
    cart = await bakery_cart(factory, owner)
    more = [await entry_for(factory, owner, slot_id=cart.slot_id) for _ in range(places - 1)]
    return cart.page_id, [cart.entry_id, *more]


async def shop_with_a_line(factory: Factory, owner: Owner, slug: str) -> int:
    """A page whose cart holds one £3.00 product line of the owner's: its id."""
    page_id = (await factory.page(slug=slug, title=slug.title())).id
    product = await factory.product(page_id=page_id, title=f"{slug} honey", price_minor=300)
    await factory.cart_item(
        product_id=product.id, page_id=page_id, user_id=owner.user_id, session_id=owner.session_id
    )
    return page_id


async def check_out(
    db: AsyncSession, owner: Owner, page_id: int, limits: HoldingLimits = DEFAULTS
) -> Order:
    return await create_order_from_cart(
        db, owner=owner, page_id=page_id, limits=limits, **await seen(db, owner, page_id)
    )


async def nothing_stored(db: AsyncSession, entry_ids: Sequence[int]) -> None:
    """No order, no line held, every booking still pending in the cart, no event."""
    await db.rollback()
    assert await count_rows(db, Order) == 0
    assert await count_rows(db, OrderItem) == 0
    assert await db.scalar(select(func.count()).where(CartItem.order_id.is_not(None))) == 0
    stored = await stored_entries(db, *entry_ids)
    assert {(e.state, e.order_id) for e in stored.values()} == {("pending", None)}
    assert await events_of(db, "order.created") == []


async def test_checking_out_more_places_of_a_slot_than_allowed_is_refused_and_stores_nothing(
    db: AsyncSession, factory: Factory
) -> None:
    page_id, entries = await bookings_in_cart(factory, ANON, places=5)

    with pytest.raises(CheckoutError) as refused:
        await check_out(db, ANON, page_id)  # the default: 4 places of a slot

    assert refused.value.code == "places_limit"
    assert refused.value.message == (
        "One shopper may hold at most 4 places of Baking class in orders waiting for payment, "
        f"and this checkout would hold more. {NOTHING_ORDERED} Please remove some of those "
        "bookings from your cart and check out again."
    )
    await nothing_stored(db, entries)


async def test_checking_out_as_many_places_as_allowed_makes_the_order(
    db: AsyncSession, factory: Factory
) -> None:
    page_id, entries = await bookings_in_cart(factory, ANON, places=2)

    order = await check_out(db, ANON, page_id, HoldingLimits(places_per_slot=2))

    stored = await stored_entries(db, *entries)
    assert {(e.state, e.order_id) for e in stored.values()} == {("ordered", order.id)}


async def test_a_checkout_beyond_the_unpaid_orders_limit_names_them_and_stores_nothing(
    db: AsyncSession, factory: Factory
) -> None:
    pages = [await shop_with_a_line(factory, ANON, slug) for slug in ("apiary", "dairy", "mill")]
    fourth = await shop_with_a_line(factory, ANON, "orchard")
    numbers = [(await check_out(db, ANON, page_id)).number for page_id in pages]

    with pytest.raises(CheckoutError) as refused:
        await check_out(db, ANON, fourth)  # the default: 3 unpaid orders

    assert refused.value.code == "unpaid_orders_limit"
    assert refused.value.message == (
        f"You have 3 orders waiting for payment ({', '.join(numbers)}), as many as one shopper "
        f"may have at once. {NOTHING_ORDERED} Please pay one of them or give it up (see Your "
        "orders), then check out again."
    )
    await db.rollback()
    assert await count_rows(db, Order) == 3
    assert await db.scalar(select(CartItem.order_id).where(CartItem.page_id == fourth)) is None
    assert len(await events_of(db, "order.created")) == 3
    # Another shopper's unpaid orders are theirs: the limit is per shopper.
    other = Owner(session_id="anon-" + "c" * 20)
    await check_out(db, other, await shop_with_a_line(factory, other, "bakehouse"))


async def test_paid_expired_and_given_up_orders_are_not_unpaid_ones(
    db: AsyncSession, factory: Factory
) -> None:
    pages = [await shop_with_a_line(factory, ANON, slug) for slug in ("apiary", "dairy", "mill")]
    orders = [await check_out(db, ANON, page_id) for page_id in pages]
    for order, status in zip(orders, ("paid", "expired", "cancelled"), strict=True):
        await db.execute(update(Order).where(Order.id == order.id).values(status=status))
    await db.commit()

    order = await check_out(
        db, ANON, await shop_with_a_line(factory, ANON, "orchard"), HoldingLimits(unpaid_orders=1)
    )

    assert order.status == "pending"


async def test_an_expired_orders_places_come_back_and_count_no_more(
    db: AsyncSession, factory: Factory
) -> None:
    limits = HoldingLimits(places_per_slot=3, unpaid_orders=1)
    page_id, entries = await bookings_in_cart(factory, ANON, places=3)
    expired = await check_out(db, ANON, page_id, limits)
    [slot] = await SqlCalendarService().open_slots(db, page_id)
    assert slot.places_taken == 3

    done = await expire_unpaid_orders(
        db,
        client_for=ClosableFakeSumUp(),  # type: ignore[arg-type]
        now=utcnow() + timedelta(minutes=31),
        after=timedelta(minutes=30),
    )

    assert done.numbers(Expiry.EXPIRED) == [expired.number]
    stored = await stored_entries(db, *entries)
    assert {(e.state, e.order_id) for e in stored.values()} == {("pending", None)}
    [slot] = await SqlCalendarService().open_slots(db, page_id)
    assert slot.places_taken == 0
    # Back in the cart, the same places check out again: the expired order holds none of
    # them and is not an unpaid order any more.
    again = await check_out(db, ANON, page_id, limits)
    stored = await stored_entries(db, *entries)
    assert {(e.state, e.order_id) for e in stored.values()} == {("ordered", again.id)}


async def test_a_free_order_is_paid_at_once_and_bound_by_neither_limit(
    db: AsyncSession, factory: Factory
) -> None:
    page_id = (await factory.page(slug="garden", title="Garden")).id
    slot = await slot_on_page(factory, page_id=page_id, price_minor=0, title="Open day")
    entries = [await entry_for(factory, ANON, slot_id=slot.id) for _ in range(3)]
    await check_out(db, ANON, await shop_with_a_line(factory, ANON, "apiary"))

    order = await check_out(db, ANON, page_id, HoldingLimits(places_per_slot=2, unpaid_orders=1))

    assert order.status == "paid"
    stored = await stored_entries(db, *entries)
    assert {(e.state, e.order_id) for e in stored.values()} == {("confirmed", order.id)}


# Races on PostgreSQL.


class HoldingCalendar:
    """services.calendar, with a claim that keeps its transaction open a moment after."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def claim_entries_for_order(self, *args: Any, **kwargs: Any) -> None:
        await self.real.claim_entries_for_order(*args, **kwargs)
        await asyncio.sleep(HOLD_SECONDS)


async def race(
    engine: AsyncEngine, works: Sequence[Callable[[AsyncSession], Awaitable[Any]]]
) -> list[Any]:
    """Each work on its own connection, all released at once, each committing what it did;
    a refusal is returned. Every contender has started before the first one finishes."""
    barrier = asyncio.Barrier(len(works))
    sessionmaker = make_sessionmaker(engine)
    started: list[float] = []
    finished: list[float] = []

    async def run(work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with sessionmaker() as session:
            await session.execute(select(1))  # connected before the start
            await barrier.wait()
            started.append(time.monotonic())
            try:
                result = await work(session)
                await session.commit()
                return result
            except (CheckoutError, HoldingLimitReached) as refused:
                await session.rollback()
                return refused
            finally:
                finished.append(time.monotonic())

    results = await asyncio.wait_for(asyncio.gather(*(run(work) for work in works)), timeout=60)
    assert max(started) < min(finished)
    return results


@postgres_only
async def test_one_shopper_checking_out_four_carts_at_once_gets_only_three_unpaid_orders(
    engine: AsyncEngine, factory: Factory, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "_calendar", HoldingCalendar(services.calendar))
    pages = []
    for slug in ("apiary", "dairy", "mill", "orchard"):
        page_id = await shop_with_a_line(factory, ANON, slug)
        # A booking too, so that each checkout claims, and holds its transaction after.
        slot = await slot_on_page(factory, page_id=page_id, title=f"{slug} tour")
        await entry_for(factory, ANON, slot_id=slot.id)
        pages.append(page_id)
    forms = [await seen(db, ANON, page_id) for page_id in pages]

    def check_out_page(page_id: int, form: dict[str, str]) -> Callable[[AsyncSession], Any]:
        return lambda session: create_order_from_cart(session, owner=ANON, page_id=page_id, **form)

    results = await race(engine, [check_out_page(p, f) for p, f in zip(pages, forms, strict=True)])

    [refused] = [r for r in results if isinstance(r, CheckoutError)]
    assert refused.code == "unpaid_orders_limit"
    assert refused.message.startswith("You have 3 orders waiting for payment (")
    await db.rollback()
    assert await db.scalar(select(func.count()).where(Order.status == "pending")) == 3
    assert len(await events_of(db, "order.created")) == 3
    states = Counter(await db.scalars(select(CalendarEntry.state)))
    assert states == Counter(ordered=3, pending=1)


@postgres_only
async def test_two_claims_of_one_shoppers_places_in_a_slot_at_once_stay_within_the_limit(
    engine: AsyncEngine, factory: Factory, db: AsyncSession
) -> None:
    calendar = SqlCalendarService()
    slot = await slot_on_page(factory, places=20, title="Pottery")
    batches = [[await entry_for(factory, ANON, slot_id=slot.id) for _ in range(3)] for _ in "ab"]

    def claim(entry_ids: list[int], order_id: int) -> Callable[[AsyncSession], Any]:
        async def work(session: AsyncSession) -> None:
            await calendar.claim_entries_for_order(session, ANON, entry_ids, order_id, max_places=4)
            await asyncio.sleep(HOLD_SECONDS)  # the winner holds the slot a moment

        return work

    results = await race(engine, [claim(batches[0], 801), claim(batches[1], 802)])

    [refused] = [r for r in results if isinstance(r, HoldingLimitReached)]
    assert (refused.slot_title, refused.limit) == ("Pottery", 4)
    await db.rollback()
    held = Counter(
        await db.scalars(select(CalendarEntry.order_id).where(CalendarEntry.state == "ordered"))
    )
    assert list(held.values()) == [3]
    assert await db.scalar(select(func.count()).where(CalendarEntry.state == "pending")) == 3
