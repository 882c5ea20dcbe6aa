"""The "What happens next" of the payment's return page and the order page: when and where for
bookings (the site's time zone), the shop's own text for products (PageConfig.next_steps,
else a default), autoescaped, one paragraph a line; in a constant number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.checkout import create_order_from_cart
from bp.order.services.next_steps import DEFAULT_PRODUCT_STEPS
from models import Order, PageConfig
from shared.models import CalendarEntry
from tests.conftest import QueryCounter
from tests.contract.calendar_data import entry_for, slot_on_page
from tests.factories import Factory
from tests.http.checkout_forms import start_session
from tests.http.payment_steps import page_text
from tests.integration.checkout_data import ANON, seen
from tests.integration.payment_data import placed_bakery_order

BOOKING = "<strong>Baking class</strong>, Sat 4 May 2030, 11:00–14:00 BST"
DEFAULT_FIRST, DEFAULT_SECOND = DEFAULT_PRODUCT_STEPS.splitlines()


@pytest.fixture
async def shopper(client):  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    return client


async def mark_paid(db: AsyncSession, order_id: int) -> None:
    """The order paid (as the webhook leaves it), its places confirmed."""
    now = datetime.now(UTC)
    await db.execute(update(Order).where(Order.id == order_id).values(status="paid", paid_at=now))
    await db.execute(
        update(CalendarEntry).where(CalendarEntry.order_id == order_id).values(state="confirmed")
    )
    await db.commit()


def section(page: str) -> str:
    """The "What happens next" section of a page ("" when it has none)."""
    if "What happens next" not in page:
        return ""
    return page.split('<section class="next-steps"', 1)[1].split("</section>", 1)[0]


async def test_a_paid_order_says_when_and_where_and_what_the_shop_does(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    await mark_paid(db, placed.order_id)

    _, returned = await page_text(shopper, f"/checkout/return/{placed.public_ref}")
    _, order = await page_text(shopper, f"/orders/{placed.public_ref}")

    for page in (returned, order):
        steps = section(page)
        assert '<h2 id="next-steps-heading">What happens next</h2>' in steps
        assert "Your booking is confirmed. Please come to Bakery:" in steps
        assert BOOKING in steps  # 10:00 UTC is 11:00 in London in May
        assert f"<p>{DEFAULT_FIRST}</p>" in steps and f"<p>{DEFAULT_SECOND}</p>" in steps
        assert "Once your payment is confirmed" not in steps


async def test_an_unpaid_order_says_what_happens_once_it_is_paid(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)

    _, order = await page_text(shopper, f"/orders/{placed.public_ref}")

    steps = section(order)
    assert "Your place is held for this order. Once it is paid, please come to Bakery:" in steps
    assert BOOKING in steps
    assert "<p>Once your payment is confirmed:</p>" in steps and DEFAULT_FIRST in steps


async def test_the_shops_own_text_is_escaped_one_paragraph_a_line(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    db.add(
        PageConfig(
            page_id=placed.cart.page_id,
            next_steps="Collect from the <b>back door</b>.\r\n\r\n  Open Saturdays, 9 & 12.  \n",
        )
    )
    await mark_paid(db, placed.order_id)

    _, returned = await page_text(shopper, f"/checkout/return/{placed.public_ref}")

    steps = section(returned)
    assert "<p>Collect from the &lt;b&gt;back door&lt;/b&gt;.</p>" in steps
    assert "<p>Open Saturdays, 9 &amp; 12.</p>" in steps
    assert "<p></p>" not in steps and DEFAULT_FIRST not in steps


async def test_an_order_of_bookings_only_has_no_product_text(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory
) -> None:
    ref = await paid_order_of(db, factory, products=0, bookings=2)

    _, page = await page_text(shopper, f"/orders/{ref}")

    steps = section(page)
    assert "Your bookings are confirmed. Please come to" in steps
    assert steps.count("<li>") == 2 and "Sun 5 May 2030, 11:00–13:00 BST" in steps
    assert DEFAULT_FIRST not in steps


async def test_a_closed_order_says_nothing_of_what_happens_next(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory
) -> None:
    placed = await placed_bakery_order(db, factory)
    await db.execute(update(Order).where(Order.id == placed.order_id).values(status="expired"))
    await db.commit()

    _, returned = await page_text(shopper, f"/checkout/return/{placed.public_ref}")
    _, order = await page_text(shopper, f"/orders/{placed.public_ref}")

    assert "What happens next" not in returned and "What happens next" not in order


async def paid_order_of(db: AsyncSession, factory: Factory, *, products: int, bookings: int) -> str:
    """A paid order of `products` lines and `bookings` places on a new page; its reference."""
    page_id = (await factory.page()).id
    for n in range(products):
        product_id = (await factory.product(page_id=page_id, price_minor=100 + n)).id
        await factory.cart_item(product_id=product_id, page_id=page_id, session_id=ANON.session_id)
    starts = datetime(2030, 5, 4, 10, tzinfo=UTC)
    for n in range(bookings):
        slot = await slot_on_page(
            factory,
            page_id=page_id,
            starts_at=starts + timedelta(days=n),
            ends_at=starts + timedelta(days=n, hours=2),
        )
        await entry_for(factory, ANON, slot_id=slot.id)
    order = await create_order_from_cart(
        db, owner=ANON, page_id=page_id, **await seen(db, ANON, page_id)
    )
    await mark_paid(db, order.id)
    return order.public_ref


@pytest.mark.parametrize("path", ["/checkout/return/{ref}", "/orders/{ref}"])
async def test_the_pages_cost_the_same_queries_for_1_line_and_for_20(  # type: ignore[no-untyped-def]
    shopper, db: AsyncSession, factory: Factory, query_counter: QueryCounter, path: str
) -> None:
    small = await paid_order_of(db, factory, products=1, bookings=1)
    large = await paid_order_of(db, factory, products=20, bookings=10)

    counts = []
    for ref in (small, large):
        query_counter.reset()
        status, page = await page_text(shopper, path.format(ref=ref))
        assert status == 200 and "What happens next" in page
        counts.append(query_counter.count)

    assert counts[0] == counts[1], query_counter.statements
