"""Signing in keeps the orders placed before it in view: the one just paid for, in particular."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, start_session
from tests.http.payment_steps import page_text, press, start
from tests.integration.checkout_data import ANON, OTHER_ANON
from tests.integration.orders_data import make_orders, order_owners
from tests.integration.payment_data import live_line_ids, placed_bakery_order, stored_order


async def test_an_order_paid_anonymously_is_the_users_after_signing_in(
    app, client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    placed = await placed_bakery_order(db, factory, ANON)
    attempt = await start(app, db, placed.order_id)
    await press(client, attempt.hosted_checkout_url, "pay")  # the webhook pays it
    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    [elsewhere] = await make_orders(db, OTHER_ANON, 1)  # another browser's, never moved
    user_id = (await factory.user(display_name="Alice")).id

    signed_in = await client.post(
        "/demo/sign-in",
        form={"csrf_token": TOKEN, "user_id": str(user_id)},
        follow_redirects=True,
    )

    told = await signed_in.get_data(as_text=True)
    assert "1 order from before you signed in is now in Your orders." in told
    _, listed = await page_text(client, "/orders/")
    assert f"Order {placed.number}" in listed and elsewhere.number not in listed
    status, detail = await page_text(client, f"/orders/{placed.public_ref}")
    assert status == 200 and "Paid" in detail and "Confirmed" in detail
    status, returned = await page_text(client, f"/checkout/return/{placed.public_ref}")
    assert status == 200 and f"Thank you, order {placed.number} is paid" in returned
    assert f'href="/orders/{placed.public_ref}">See order {placed.number}</a>' in returned
    owners = await order_owners(db)
    assert owners[placed.number] == (user_id, ANON.session_id)
    assert owners[elsewhere.number] == (None, OTHER_ANON.session_id)


async def test_signing_out_and_back_in_as_someone_else_does_not_take_the_first_users_orders(
    client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    [anonymous] = await make_orders(db, ANON, 1)
    alice, bob = (await factory.user()).id, (await factory.user()).id
    await client.post("/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(alice)})
    await client.post("/demo/sign-out", form={"csrf_token": TOKEN})
    # The same browser, anonymous again: whatever id it has now, it placed nothing.
    await client.post("/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(bob)})

    _, bobs = await page_text(client, "/orders/")

    assert anonymous.number not in bobs
    assert (await order_owners(db))[anonymous.number] == (alice, ANON.session_id)


async def test_signing_in_between_checkout_and_payment_still_clears_the_bought_lines(
    app, client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    placed = await placed_bakery_order(db, factory, ANON)
    bought = await live_line_ids(db)
    assert bought  # the checked-out lines stay in the cart until the order is paid
    user_id = (await factory.user(display_name="Alice")).id
    await client.post("/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(user_id)})
    attempt = await start(app, db, placed.order_id)

    await press(client, attempt.hosted_checkout_url, "pay")

    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    # Adoption moved the lines to the user with their order stamp, so paying cleared them.
    assert await live_line_ids(db) == set()
    _, cart = await page_text(client, "/cart/")
    assert "Bread" not in cart and "Jam" not in cart


async def test_a_users_own_line_stays_apart_from_a_checked_out_one_and_is_not_cleared_by_paying(
    app, client, db: AsyncSession, factory: Factory
) -> None:  # type: ignore[no-untyped-def]
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    placed = await placed_bakery_order(db, factory, ANON)
    user_id = (await factory.user(display_name="Alice")).id
    bread = placed.cart.bread_id
    await factory.cart_item(
        product_id=bread, page_id=placed.cart.page_id, user_id=user_id, quantity=1
    )
    await client.post("/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(user_id)})
    attempt = await start(app, db, placed.order_id)

    await press(client, attempt.hosted_checkout_url, "pay")

    assert await stored_order(db, placed.order_id) == ("paid", True, None)
    # The checked-out bread line moved to the user still held by its order, apart from the
    # user's own bread line: paying cleared exactly what was ordered and nothing else.
    await db.rollback()
    left = (
        await db.execute(
            select(CartItem.product_id, CartItem.quantity).where(
                CartItem.user_id == user_id, CartItem.deleted_at.is_(None)
            )
        )
    ).all()
    assert [(row.product_id, row.quantity) for row in left] == [(bread, 1)]
