"""A shared computer: one browser, several people, and the blog's sign-out, which promises
only to remove `user_id` (the form token stays in the shared session).

Visitor A shops and pays without signing in and walks away. Hours later visitor B signs in
on the same browser, shops, and signs out. B must not be given A's old orders, and after B's
sign-out the anonymous pages show nothing of B's and none of A's; B's orders stay B's. A
waiting order is still adopted with its cart, however old, and first adds racing after the
sign-out still make one cart, under a new anonymous id.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp.cart.services.identity import derive_anonymous_id
from models import CartItem, Order
from shared.config import Settings
from shared.interfaces import Owner
from shared.models import utcnow
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, rendered_checkout_form, start_session
from tests.http.payment_steps import local, page_text, press
from tests.integration.checkout_data import bakery_cart
from tests.integration.orders_data import make_orders
from tests.integration.payment_data import placed_bakery_order

CART = "/cart/bakery/"
HOURS_AGO = timedelta(hours=3)  # well outside the two hours a sign-in adopts orders from


async def session_values(client) -> dict[str, object]:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as session:
        return dict(session)


async def blog_sign_out(client) -> None:  # type: ignore[no-untyped-def]
    """What the blog's sign-out promises, and no more: `user_id` goes, the rest stays."""
    async with client.session_transaction() as session:
        session.pop("user_id")


async def sign_in(client, user_id: int) -> str:  # type: ignore[no-untyped-def]
    """The demo sign-in (as the blog's); the page it leads to, whose request adopts."""
    response = await client.post(
        "/demo/sign-in",
        form={"csrf_token": TOKEN, "user_id": str(user_id)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return await response.get_data(as_text=True)


async def add(client, product_id: int) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/cart/add", form={"product_id": str(product_id), "csrf_token": TOKEN}
    )
    assert response.status_code == 302


async def check_out_and_pay(client, db: AsyncSession) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The bakery cart's checkout form submitted and paid on the hosted page: (number, ref)."""
    action, fields = await rendered_checkout_form(client, CART)
    response = await client.post(action, form=fields)
    assert response.status_code == 303
    hosted = response.headers["Location"]
    assert "/sumup-sandbox/" in hosted
    paid = await press(client, hosted, "pay")
    assert paid.status_code in (302, 303)
    returned = local(paid.headers["Location"])
    ref = returned.rsplit("/", 1)[-1]
    await db.rollback()
    number = await db.scalar(select(Order.number).where(Order.public_ref == ref))
    assert number is not None
    _, page = await page_text(client, returned)
    assert f"Thank you, order {number} is paid" in page
    return number, ref


async def backdate(db: AsyncSession, *numbers: str, by: timedelta = HOURS_AGO) -> None:
    """The orders were placed `by` earlier than they were."""
    await db.rollback()
    for number in numbers:
        created = await db.scalar(select(Order.created_at).where(Order.number == number))
        assert created is not None
        await db.execute(
            update(Order).where(Order.number == number).values(created_at=created - by)
        )
    await db.commit()


async def owners(db: AsyncSession) -> dict[str, tuple[int | None, str | None, str]]:
    """Each order's number -> (user_id, session_id, status), as committed now."""
    await db.rollback()
    rows = await db.execute(select(Order.number, Order.user_id, Order.session_id, Order.status))
    return {row.number: (row.user_id, row.session_id, row.status) for row in rows}


async def live_lines(db: AsyncSession) -> list[tuple[int | None, str | None, int, int, int | None]]:
    """(user, anonymous id, product, quantity, holding order) of every live line."""
    await db.rollback()
    rows = await db.execute(
        select(
            CartItem.user_id,
            CartItem.session_id,
            CartItem.product_id,
            CartItem.quantity,
            CartItem.order_id,
        )
        .where(CartItem.deleted_at.is_(None))
        .order_by(CartItem.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_the_next_user_of_a_shared_computer_gets_none_of_the_last_visitors_old_orders(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    # Visitor A, anonymous: the id a first add derives from the form token, the bakery cart
    # filled under it, checked out and paid on the hosted page; A walks away, signed out
    # all along. That was three hours ago.
    anon_a = derive_anonymous_id(TOKEN, secret=settings.secret_key)
    await start_session(client, anon_a)
    cart = await bakery_cart(factory, Owner(session_id=anon_a))
    cake = (await factory.product(page_id=cart.page_id, title="Cake", price_minor=300)).id
    a_number, a_ref = await check_out_and_pay(client, db)
    await backdate(db, a_number)
    a_pages = [f"/orders/{a_ref}", f"/checkout/return/{a_ref}"]
    _, listed = await page_text(client, "/orders/")
    assert f"Order {a_number}" in listed  # A's own browser session shows it to A

    # Visitor B signs in on the same browser.
    bob = (await factory.user(display_name="Bob")).id
    signed_in = await sign_in(client, bob)

    assert "Signed in as Bob." in signed_in
    assert "from before you signed in" not in signed_in  # nothing of A's was given to B
    _, bobs = await page_text(client, "/orders/")
    assert a_number not in bobs and "You have no orders yet" in bobs
    for path in a_pages:
        assert (await client.get(path)).status_code == 404
    assert (await owners(db))[a_number] == (None, anon_a, "paid")

    # B shops: the cake checked out and paid, then jam left in the cart; B signs out as
    # the blog does, the form token staying in the session.
    await add(client, cake)
    b_number, b_ref = await check_out_and_pay(client, db)
    await add(client, cart.jam_id)
    _, bobs = await page_text(client, "/orders/")
    assert f"Order {b_number}" in bobs and a_number not in bobs
    await blog_sign_out(client)
    values = await session_values(client)
    assert values["csrf_token"] == TOKEN and "user_id" not in values
    assert "cart_anon_id" not in values

    # Whoever uses the browser next, anonymously: nothing of B's, none of A's orders.
    _, orders = await page_text(client, "/orders/")
    assert a_number not in orders and b_number not in orders
    for path in [*a_pages, f"/orders/{b_ref}", f"/checkout/return/{b_ref}"]:
        assert (await client.get(path)).status_code == 404, path
    _, anonymous_cart = await page_text(client, CART)
    assert "Jam" not in anonymous_cart and "Cake" not in anonymous_cart
    # Their first add makes a new anonymous id, not A's again.
    await add(client, cart.bread_id)
    anon_c = (await session_values(client))["cart_anon_id"]
    assert anon_c != anon_a
    _, orders = await page_text(client, "/orders/")
    assert a_number not in orders and b_number not in orders
    assert "You have no orders yet" in orders
    _, anonymous_cart = await page_text(client, CART)
    assert "Bread" in anonymous_cart and "Jam" not in anonymous_cart
    assert "Cake" not in anonymous_cart

    # What is stored: A's order still anonymous under A's retired id, B's still B's, B's jam
    # still in B's cart, and the bread the next visitor's alone.
    stored = await owners(db)
    assert stored[a_number] == (None, anon_a, "paid")
    assert stored[b_number] == (bob, None, "paid")
    assert (bob, None, cart.jam_id, 1, None) in await live_lines(db)
    assert (None, anon_c, cart.bread_id, 1, None) in await live_lines(db)


async def test_a_sign_in_still_takes_the_order_just_paid_but_not_one_from_hours_before(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    anon = derive_anonymous_id(TOKEN, secret=settings.secret_key)
    await start_session(client, anon)
    cart = await bakery_cart(factory, Owner(session_id=anon))
    old_number, _ = await check_out_and_pay(client, db)
    await backdate(db, old_number)
    await add(client, cart.jam_id)
    just_paid, just_paid_ref = await check_out_and_pay(client, db)
    alice = (await factory.user(display_name="Alice")).id

    signed_in = await sign_in(client, alice)

    assert "1 order from before you signed in is now in Your orders." in signed_in
    _, listed = await page_text(client, "/orders/")
    assert f"Order {just_paid}" in listed and old_number not in listed
    assert (await client.get(f"/orders/{just_paid_ref}")).status_code == 200
    stored = await owners(db)
    assert stored[just_paid] == (alice, anon, "paid")
    assert stored[old_number] == (None, anon, "paid")


async def test_a_waiting_order_from_hours_ago_is_still_adopted_with_its_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    # This browser's anonymous shopper checked the bakery cart out three hours ago and has
    # not paid (no expiry job has run yet); a day before that, an order was paid.
    anon = derive_anonymous_id(TOKEN, secret=settings.secret_key)
    owner = Owner(session_id=anon)
    await start_session(client, anon)
    placed = await placed_bakery_order(db, factory, owner)
    [older] = await make_orders(db, owner, 1, first_day=utcnow() - timedelta(days=1))
    await backdate(db, placed.number)
    alice = (await factory.user(display_name="Alice")).id

    signed_in = await sign_in(client, alice)

    # The waiting order came with its cart: it shows as waiting in Alice's cart, with what
    # it holds, and is hers to see; the paid one of the day before stays behind.
    assert "1 order from before you signed in is now in Your orders." in signed_in
    _, page = await page_text(client, CART)
    assert f"Order {placed.number} is waiting for payment" in page
    assert "Bread ×2" in page and "Jam ×1" in page
    assert f"Give up order {placed.number}" in page
    assert (await client.get(f"/orders/{placed.public_ref}")).status_code == 200
    _, listed = await page_text(client, "/orders/")
    assert f"Order {placed.number}" in listed and older.number not in listed
    stored = await owners(db)
    assert stored[placed.number] == (alice, anon, "pending")
    assert stored[older.number] == (None, anon, "paid")
    held = [line for line in await live_lines(db) if line[4] == placed.order_id]
    assert {(line[0], line[2], line[3]) for line in held} == {
        (alice, cart_id, quantity)
        for cart_id, quantity in ((placed.cart.bread_id, 2), (placed.cart.jam_id, 1))
    }


async def test_first_adds_racing_after_a_sign_out_that_kept_the_token_fill_one_new_cart(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, settings: Settings
) -> None:
    anon = derive_anonymous_id(TOKEN, secret=settings.secret_key)
    await start_session(client, anon)
    cart = await bakery_cart(factory, Owner(session_id=anon))
    alice = (await factory.user(display_name="Alice")).id
    await sign_in(client, alice)
    await blog_sign_out(client)
    assert (await session_values(client))["csrf_token"] == TOKEN

    # Six first adds at once, all with the one cookie (none has its answer yet).
    form = {"product_id": str(cart.jam_id), "csrf_token": TOKEN}
    responses = await asyncio.gather(*(client.post("/cart/add", form=form) for _ in range(6)))

    assert [r.status_code for r in responses] == [302] * 6
    new_anon = (await session_values(client))["cart_anon_id"]
    assert new_anon != anon
    anonymous = [line for line in await live_lines(db) if line[0] is None]
    assert anonymous == [(None, new_anon, cart.jam_id, 6, None)]
    _, page = await page_text(client, CART)
    assert "Jam" in page and "Bread" not in page and "Baking class" not in page
    # Alice's adopted cart is hers, untouched by the anonymous adds.
    assert (alice, None, cart.bread_id, 2, None) in await live_lines(db)
