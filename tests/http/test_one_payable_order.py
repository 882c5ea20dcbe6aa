"""One cart, one payable order: every way a shopper could pay twice for one cart, tried as a
browser takes it (the test client), asserting on what the shopper sees and what is stored.

Back after checking out, a second tab, a decline and then checking out again, giving the
order up, a payment that lands on an order given up, and what is added after checking out.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CartItem, Order
from sumup.sandbox import sandbox_store
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, rendered_checkout_form, start_session
from tests.http.payment_steps import local, page_text, press
from tests.integration.checkout_data import ANON, BakeryCart, bakery_cart, events_of
from tests.integration.payment_data import attempts_of, entry_state, paid_events

CART = "/cart/bakery/"


@pytest.fixture
async def bakery(client, factory: Factory) -> BakeryCart:  # type: ignore[no-untyped-def]
    """Bread ×2 (£2.50), jam ×1 (£4.00) and a £15.00 baking class: £24.00."""
    cart = await bakery_cart(factory)
    assert ANON.session_id
    await start_session(client, ANON.session_id)
    return cart


async def all_orders(db: AsyncSession) -> list[tuple[int, str, str, str | None]]:
    """(id, number, status, attention reason) of every order, as committed now."""
    await db.rollback()
    rows = await db.execute(
        select(Order.id, Order.number, Order.status, Order.attention_reason).order_by(Order.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def cart_lines(db: AsyncSession) -> list[tuple[int, int, int | None]]:
    """(product, quantity, holding order) of every live line, as committed now."""
    await db.rollback()
    rows = await db.execute(
        select(CartItem.product_id, CartItem.quantity, CartItem.order_id)
        .where(CartItem.deleted_at.is_(None))
        .order_by(CartItem.product_id, CartItem.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def check_out(client) -> tuple[str, dict[str, str], str]:  # type: ignore[no-untyped-def]
    """Render the cart's checkout form and submit it: (action, fields, hosted page URL)."""
    action, fields = await rendered_checkout_form(client, CART)
    response = await client.post(action, form=fields)
    assert response.status_code == 303
    assert "/sumup-sandbox/" in response.headers["Location"]
    return action, fields, response.headers["Location"]


async def add(client, product_id: int, quantity: int) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/cart/add",
        form={"product_id": str(product_id), "quantity": str(quantity), "csrf_token": TOKEN},
    )
    assert response.status_code in (302, 303)


async def test_after_a_decline_the_cart_shows_the_waiting_order_and_a_second_checkout_makes_none(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, bakery: BakeryCart
) -> None:
    _, _, hosted = await check_out(client)
    await press(client, hosted, "decline")
    [(order_id, number, _, _)] = await all_orders(db)

    status, page = await page_text(client, CART)

    assert status == 200
    assert f"Order {number} is waiting for payment" in page and "£24.00" in page
    assert "Pay £24.00" in page and f"Give up order {number}" in page
    assert 'class="checkout-form"' not in page  # no way to make a second order
    assert "Bread ×2" in page and "Jam ×1" in page

    # A form rendered before (another tab, or Back to a page the browser kept) is refused,
    # and the shopper is sent to the cart that shows the waiting order.
    other_tab_action, other_tab = (
        "/cart/bakery/checkout",
        {
            "csrf_token": TOKEN,
            "checkout_key": "k" * 32,
            "fingerprint": "0" * 32,
            "next": CART,
        },
    )
    again = await client.post(other_tab_action, form=other_tab)
    assert again.status_code == 303 and again.headers["Location"] == CART
    _, told = await page_text(client, CART)
    assert f"Order {number} from this cart is waiting for payment, so no second order" in told

    # Paying it from the cart pays that order, once.
    pay = await client.post(
        f"/checkout/{await ref_of(db, order_id)}/pay-again", form={"csrf_token": TOKEN}
    )
    paid = await press(client, pay.headers["Location"], "pay")
    _, thanks = await page_text(client, local(paid.headers["Location"]))
    assert f"Thank you, order {number} is paid" in thanks
    assert [(o[0], o[2]) for o in await all_orders(db)] == [(order_id, "paid")]
    assert len(await paid_events(db)) == 1
    assert await cart_lines(db) == []
    _, empty = await page_text(client, CART)
    assert "Your cart for Bakery is empty" in empty and "waiting for payment" not in empty


async def ref_of(db: AsyncSession, order_id: int) -> str:
    await db.rollback()
    ref = await db.scalar(select(Order.public_ref).where(Order.id == order_id))
    assert ref
    return ref


async def test_back_and_submitting_the_same_form_again_leads_to_the_same_order(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery: BakeryCart
) -> None:
    action, fields, hosted = await check_out(client)

    again = await client.post(action, form=fields)  # Back, then the same form once more

    assert again.status_code == 303 and again.headers["Location"] == hosted
    assert len(await all_orders(db)) == 1


async def test_giving_up_puts_everything_back_and_a_new_checkout_can_be_paid_once(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, bakery: BakeryCart
) -> None:
    _, _, hosted = await check_out(client)
    [(first_id, first_number, _, _)] = await all_orders(db)
    first_ref = await ref_of(db, first_id)
    [(_, _, checkout_id)] = await attempts_of(db, first_id)

    given_up = await client.post(f"/orders/{first_ref}/give-up", form={"csrf_token": TOKEN})

    assert given_up.status_code == 303 and given_up.headers["Location"] == CART
    _, page = await page_text(client, CART)
    assert f"Order {first_number} is given up and nothing was charged" in page
    assert 'class="checkout-form"' in page and "Check out and pay £24.00" in page
    assert [(o[0], o[2]) for o in await all_orders(db)] == [(first_id, "cancelled")]
    assert await entry_state(db, bakery.entry_id) == "pending"
    assert [(p, q, o) for p, q, o in await cart_lines(db)] == [
        (bakery.bread_id, 2, None),
        (bakery.jam_id, 1, None),
    ]
    # Its checkout was closed at SumUp before the order was given up.
    assert checkout_id and sandbox_store(app.app).get(checkout_id).status == "EXPIRED"
    [cancelled] = await events_of(db, "order.cancelled")
    assert cancelled.payload["by"] == "shopper"

    # Pressing Pay on the old hosted page does not take money for the given-up order.
    await press(client, hosted, "pay")
    assert sandbox_store(app.app).get(checkout_id).status == "EXPIRED"

    _, _, second_hosted = await check_out(client)
    await press(client, second_hosted, "pay")
    statuses = [(o[2], o[3]) for o in await all_orders(db)]
    assert statuses == [("cancelled", None), ("paid", None)]
    assert len(await paid_events(db)) == 1


async def test_a_payment_that_still_lands_on_a_given_up_order_is_flagged_not_accepted(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, bakery: BakeryCart
) -> None:
    await check_out(client)
    [(order_id, _, _, _)] = await all_orders(db)
    [(_, _, checkout_id)] = await attempts_of(db, order_id)
    await client.post(f"/orders/{await ref_of(db, order_id)}/give-up", form={"csrf_token": TOKEN})
    _, _, second_hosted = await check_out(client)
    await press(client, second_hosted, "pay")  # the cart is bought with the second order

    # SumUp took a payment on the first checkout at the instant it was being closed.
    assert checkout_id
    store = sandbox_store(app.app)
    store.get(checkout_id).status = "PENDING"
    store.pay(checkout_id, succeed=True)
    webhook = await client.post(
        "/checkout/webhook", json={"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout_id}
    )

    assert webhook.status_code == 204
    first, second = await all_orders(db)
    assert first[2] == "cancelled" and first[3] and "refund" in first[3]
    assert second[2] == "paid"
    assert len(await paid_events(db)) == 1
    [flagged] = await events_of(db, "order.payment_flagged")
    assert flagged.payload["reason"] == "paid_while_cancelled"
    assert flagged.payload["order_ref"] == await ref_of(db, order_id)
    _, order_page = await page_text(client, f"/orders/{await ref_of(db, order_id)}")
    assert "A payment for this order reached us after it was given up" in order_page
    assert "The shop will refund it" in order_page


async def test_give_up_when_sumup_was_paid_meanwhile_records_the_payment_and_gives_nothing_up(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, bakery: BakeryCart
) -> None:
    _, _, hosted = await check_out(client)
    [(order_id, number, _, _)] = await all_orders(db)
    sandbox_store(app.app).send_webhooks = False  # paid in another tab; no word reached us
    await press(client, hosted, "pay")

    given_up = await client.post(
        f"/orders/{await ref_of(db, order_id)}/give-up", form={"csrf_token": TOKEN}
    )

    assert given_up.status_code == 303
    _, page = await page_text(client, local(given_up.headers["Location"]))
    assert f"Order {number} was paid already, so it was not given up" in page
    assert [(o[2], o[3]) for o in await all_orders(db)] == [("paid", None)]
    assert len(await paid_events(db)) == 1
    assert await events_of(db, "order.cancelled") == []
    assert await cart_lines(db) == []


async def test_what_is_added_after_checking_out_stays_in_the_cart_when_the_order_is_paid(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery: BakeryCart
) -> None:
    _, _, hosted = await check_out(client)
    await add(client, bakery.bread_id, 2)

    _, page = await page_text(client, CART)
    assert "was added after you checked out" in page
    [(order_id, _, _, _)] = await all_orders(db)
    assert await cart_lines(db) == [
        (bakery.bread_id, 2, order_id),  # held by the order
        (bakery.bread_id, 2, None),  # added since: a line of its own
        (bakery.jam_id, 1, order_id),
    ]

    await press(client, hosted, "pay")

    assert await cart_lines(db) == [(bakery.bread_id, 2, None)]
    _, after = await page_text(client, CART)
    assert "Bread" in after and 'value="2"' in after and "Check out and pay £5.00" in after


async def test_what_was_added_after_checking_out_merges_back_when_the_order_is_given_up(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery: BakeryCart
) -> None:
    await check_out(client)
    await add(client, bakery.bread_id, 3)
    [(order_id, _, _, _)] = await all_orders(db)

    await client.post(f"/orders/{await ref_of(db, order_id)}/give-up", form={"csrf_token": TOKEN})

    assert await cart_lines(db) == [(bakery.bread_id, 5, None), (bakery.jam_id, 1, None)]


async def test_added_after_checkout_then_signed_in_then_paid_keeps_what_was_added(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, factory: Factory, bakery: BakeryCart
) -> None:
    _, _, hosted = await check_out(client)
    await add(client, bakery.bread_id, 2)
    user_id = (await factory.user(display_name="Alice")).id
    await client.post("/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(user_id)})

    await press(client, hosted, "pay")

    await db.rollback()
    left = (
        await db.execute(
            select(CartItem.product_id, CartItem.quantity).where(
                CartItem.user_id == user_id, CartItem.deleted_at.is_(None)
            )
        )
    ).all()
    assert [tuple(row) for row in left] == [(bakery.bread_id, 2)]
    [(_, _, status, _)] = await all_orders(db)
    assert status == "paid"


async def test_the_waiting_order_on_the_cart_lists_its_bookings_too(  # type: ignore[no-untyped-def]
    client, bakery: BakeryCart
) -> None:
    await check_out(client)

    _, page = await page_text(client, CART)

    assert "Bread ×2" in page and "Jam ×1" in page and "Baking class, " in page


async def test_changing_or_removing_a_line_the_waiting_order_holds_says_so(  # type: ignore[no-untyped-def]
    client, db: AsyncSession, bakery: BakeryCart
) -> None:
    await check_out(client)  # a stale tab still shows the bread line with its forms

    changed = await client.post(
        f"/cart/lines/{bakery.bread_line}/quantity",
        form={"quantity": "5", "csrf_token": TOKEN, "next": CART},
    )
    removed = await client.post(
        f"/cart/lines/{bakery.bread_line}/remove", form={"csrf_token": TOKEN, "next": CART}
    )

    assert changed.status_code in (302, 303) and removed.status_code in (302, 303)
    _, page = await page_text(client, CART)
    assert "That item is part of an order waiting for payment" in page
    [(order_id, _, _, _)] = await all_orders(db)
    assert (bakery.bread_id, 2, order_id) in await cart_lines(db)


async def test_signing_in_with_a_waiting_order_for_the_same_cart_leaves_one_to_pay(  # type: ignore[no-untyped-def]
    app, client, db: AsyncSession, factory: Factory, bakery: BakeryCart
) -> None:
    alice = await factory.user(display_name="Alice")
    # Alice checked out the bakery's cart earlier, signed in, and did not pay.
    await factory.cart_item(
        product_id=bakery.jam_id, page_id=bakery.page_id, user_id=alice.id, quantity=3
    )
    alice_client = app.test_client()
    async with alice_client.session_transaction() as session:
        session.update(csrf_token=TOKEN, user_id=alice.id)
    await check_out(alice_client)
    # Now anonymous in this browser: the bakery cart checked out, not paid.
    await check_out(client)
    [(alices, alices_number, _, _), (anons, _, _, _)] = await all_orders(db)

    signed_in = await client.post(
        "/demo/sign-in", form={"csrf_token": TOKEN, "user_id": str(alice.id)}
    )

    assert signed_in.status_code in (302, 303)
    _, page = await page_text(client, CART)  # the first request signed in adopts
    assert [(o[0], o[2]) for o in await all_orders(db)] == [
        (alices, "cancelled"),
        (anons, "pending"),
    ]
    assert f"You had order {alices_number} waiting for payment already" in page
    assert page.count("is waiting for payment") == 1
    # Alice's given-up order gave her jam back to her cart.
    assert (bakery.jam_id, 3, None) in await cart_lines(db)
