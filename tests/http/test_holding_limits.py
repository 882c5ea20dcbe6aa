"""What one shopper may hold without paying, as a browser meets it: the message on the cart
page when a checkout would hold too many places of a slot or make one unpaid order too many,
the demo shop refusing one booking too many, and places coming back when an order expires.

The app runs with CART_MAX_PLACES_PER_SLOT=2 and CART_MAX_UNPAID_ORDERS=2, read as the app
reads them, so these tests also show the settings reach the checkout and the booking.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp.order_ops.jobs import expiry_round
from models import CartItem, Order, PaymentAttempt
from shared.base_app import settings_of
from shared.config import Settings, load_settings
from shared.interfaces import Owner
from shared.models import CalendarEntry
from tests.contract.calendar_data import entry_for, slot_on_page
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, rendered_checkout_form, start_session
from tests.http.payment_steps import page_text
from tests.integration.checkout_data import ANON, bakery_cart
from tests.integration.order_ops_data import minutes_from_now, sandbox_clients

CART = "/cart/bakery/"


@pytest.fixture
def settings(settings: Settings, var_dir: Path) -> Settings:
    """The suite's settings, with both limits set through the environment as in production."""
    limits = load_settings(
        {
            "CART_VAR_DIR": str(var_dir),
            "CART_MAX_PLACES_PER_SLOT": "2",
            "CART_MAX_UNPAID_ORDERS": "2",
        }
    )
    return settings.with_overrides(
        max_places_per_slot=limits.max_places_per_slot,
        max_unpaid_orders=limits.max_unpaid_orders,
    )


async def orders(db: AsyncSession) -> list[tuple[str, str]]:
    """(number, status) of every order, as committed now."""
    await db.rollback()
    rows = await db.execute(select(Order.number, Order.status).order_by(Order.id))
    return [(number, status) for number, status in rows]


async def entry_states(db: AsyncSession) -> list[tuple[str, int | None]]:
    await db.rollback()
    rows = await db.execute(
        select(CalendarEntry.state, CalendarEntry.order_id).order_by(CalendarEntry.id)
    )
    return [(state, order_id) for state, order_id in rows]


async def count(db: AsyncSession, model: type) -> int:
    await db.rollback()
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def submit_checkout(client, cart_path: str):  # type: ignore[no-untyped-def]
    action, fields = await rendered_checkout_form(client, cart_path)
    response = await client.post(action, form=fields)
    assert response.status_code == 303
    return response


async def test_checking_out_more_places_of_a_slot_than_allowed_tells_the_shopper_and_stores_nothing(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, factory: Factory
) -> None:
    cart = await bakery_cart(factory)  # one place in the baking class
    for _ in range(2):
        await entry_for(factory, ANON, slot_id=cart.slot_id)
    assert ANON.session_id
    await start_session(client, ANON.session_id)

    refused = await submit_checkout(client, CART)

    assert refused.headers["Location"] == CART
    status, page = await page_text(client, CART)
    assert status == 200
    assert (
        "One shopper may hold at most 2 places of Baking class in orders waiting for payment, "
        "and this checkout would hold more. Nothing was ordered. Please remove some of those "
        "bookings from your cart and check out again."
    ) in page
    assert 'class="checkout-form"' in page  # the cart is as it was, to be changed
    assert await orders(db) == []
    assert await count(db, PaymentAttempt) == 0
    assert await entry_states(db) == [("pending", None)] * 3
    assert await db.scalar(select(func.count()).where(CartItem.order_id.is_not(None))) == 0

    # One booking fewer, and the same cart checks out.
    removed = await client.post(
        f"/cart/bookings/{cart.entry_id}/remove", form={"csrf_token": TOKEN, "next": CART}
    )
    assert removed.status_code in (302, 303)
    to_pay = await submit_checkout(client, CART)
    assert "/sumup-sandbox/" in to_pay.headers["Location"]
    assert [status for _, status in await orders(db)] == ["pending"]


async def shop_with_a_line(factory: Factory, owner: Owner, slug: str) -> str:
    """A page whose cart holds one product line of the owner's: its cart's path."""
    page_id = (await factory.page(slug=slug, title=slug.title())).id
    product = await factory.product(page_id=page_id, title=f"{slug.title()} honey")
    await factory.cart_item(
        product_id=product.id, page_id=page_id, user_id=owner.user_id, session_id=owner.session_id
    )
    return f"/cart/{slug}/"


async def test_a_checkout_beyond_the_unpaid_orders_limit_names_them_and_stores_nothing(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, factory: Factory
) -> None:
    carts = [await shop_with_a_line(factory, ANON, slug) for slug in ("apiary", "dairy", "mill")]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    for cart in carts[:2]:
        to_pay = await submit_checkout(client, cart)
        assert "/sumup-sandbox/" in to_pay.headers["Location"]
    waiting = [number for number, _ in await orders(db)]

    refused = await submit_checkout(client, carts[2])

    assert refused.headers["Location"] == carts[2]
    _, page = await page_text(client, carts[2])
    assert (
        f"You have 2 orders waiting for payment ({waiting[0]}, {waiting[1]}), as many as one "
        "shopper may have at once. Nothing was ordered. Please pay one of them or give it up "
        "(see Your orders), then check out again."
    ) in page
    assert '<a href="/orders/">Your orders</a>' in page
    assert [status for _, status in await orders(db)] == ["pending", "pending"]
    assert await count(db, PaymentAttempt) == 2
    held = await db.execute(select(CartItem.page_id, CartItem.order_id).order_by(CartItem.id))
    assert [order_id is None for _, order_id in held] == [False, False, True]
    # Both are listed in Your orders, where they can be paid or given up.
    _, listed = await page_text(client, "/orders/")
    assert waiting[0] in listed and waiting[1] in listed


async def test_the_demo_shop_refuses_booking_more_places_of_a_slot_than_allowed(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, factory: Factory
) -> None:
    page_id = (await factory.page(slug="pottery", title="Pottery")).id
    slot = await slot_on_page(factory, page_id=page_id, title="Wheel class", places=10)
    async with client.session_transaction() as client_session:
        client_session["csrf_token"] = TOKEN

    def book():  # type: ignore[no-untyped-def]
        return client.post(
            "/shop/pottery/book", form={"csrf_token": TOKEN, "slot_id": str(slot.id)}
        )

    for _ in range(2):
        booked = await book()
        assert booked.headers["Location"].endswith("/cart/pottery/")
    refused = await book()

    assert refused.status_code == 302 and refused.headers["Location"].endswith("/shop/pottery/")
    _, page = await page_text(client, "/shop/pottery/")
    assert (
        "You have 2 places of Wheel class in your cart or in orders waiting for payment, as "
        "many as one shopper may hold before paying: nothing more was booked."
    ) in page
    assert await entry_states(db) == [("pending", None)] * 2
    # Checked out and unpaid, they still count: the held places cannot be booked again.
    to_pay = await submit_checkout(client, "/cart/pottery/")
    assert "/sumup-sandbox/" in to_pay.headers["Location"]
    again = await book()
    assert again.headers["Location"].endswith("/shop/pottery/")
    assert [state for state, _ in await entry_states(db)] == ["ordered", "ordered"]


async def test_an_expired_orders_places_come_back_to_the_cart_and_count_no_more(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, factory: Factory
) -> None:
    cart = await bakery_cart(factory, places=2)
    await entry_for(factory, ANON, slot_id=cart.slot_id)
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    await submit_checkout(client, CART)
    _, shop = await page_text(client, "/shop/bakery/")
    assert "Baking class" in shop and "fully booked" in shop  # both places held, unpaid

    await expiry_round(
        app.app.extensions["db_sessionmaker"],
        sandbox_clients(app),
        settings_of(app.app),
        now=minutes_from_now(31),
    )

    assert [status for _, status in await orders(db)] == ["expired"]
    assert await entry_states(db) == [("pending", None)] * 2
    _, shop = await page_text(client, "/shop/bakery/")
    assert "2 of 2 places left" in shop
    _, page = await page_text(client, CART)
    assert "your booking for Baking class" in page and "waiting for payment" not in page
    # The expired order holds nothing and is not an unpaid order: the same two places check
    # out again.
    to_pay = await submit_checkout(client, CART)
    assert "/sumup-sandbox/" in to_pay.headers["Location"]
    assert [status for _, status in await orders(db)] == ["expired", "pending"]
    assert [state for state, _ in await entry_states(db)] == ["ordered", "ordered"]
